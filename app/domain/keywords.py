"""Reading a resident's reply: the pure rules that turn a text into one intent.

Rules (with Twilio's reserved words in docs/domain): a carrier opt-out word
(STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT) alone or leading the
message is an opt-out, whatever follows; START/UNSTOP opt back in; HELP/INFO ask for
help; NO / NO THANKS / NOT NOW decline; MORE asks for other times; CHANGE (never CANCEL,
which carriers treat as an opt-out) moves a booking. A slot choice is exactly one of
1-3, written as a digit, a word (`two`) or an ordinal (`second`), surrounded only by
punctuation and a short list of polite filler words (`option 2`, `2 please`, `#2`). Two
choice numbers (`1 or 2`, `12`, `1 2`) are ambiguous. Anything else, including a number
inside a sentence ("can I come at 3pm?"), is unclear: a wrong booking is worse than a
question, so when in doubt we ask.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

INTENTS = ("choice", "ambiguous", "stop", "start", "help", "decline", "more", "change", "unclear")

STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
START_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
# politeness that may come before a command word ("please stop", "ok stop")
LEAD_IN = frozenset({"please", "pls", "plz", "ok", "okay", "just", "oh"})
DECLINE_LEADS = frozenset({"no", "nope", "nah"})
DECLINE_PHRASES = (("not", "now"), ("not", "interested"), ("not", "for", "me"))
CHOICE_DIGITS = {"1": 1, "2": 2, "3": 3}
CHOICE_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "first": 1,
    "second": 2,
    "third": 3,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
}
ORDINALS = frozenset({"first", "second", "third", "1st", "2nd", "3rd"})
# words that may surround a choice without changing it; deliberately short: a word
# not listed here makes the reply unclear, and we ask
CHOICE_FILLER = frozenset(
    {
        "option",
        "opt",
        "number",
        "num",
        "slot",
        "choice",
        "please",
        "pls",
        "plz",
        "thanks",
        "thank",
        "you",
        "thx",
        "ta",
        "cheers",
        "ok",
        "okay",
        "yes",
        "yeah",
        "yep",
        "the",
        "i",
        "ill",
        "id",
        "take",
        "want",
        "like",
        "would",
        "choose",
        "pick",
        "go",
        "for",
        "with",
        "is",
        "fine",
        "good",
        "great",
        "perfect",
        "lovely",
        "appointment",
        "appt",
        "time",
        "hi",
        "hello",
        "x",
        "xx",
    }
)
AMBIGUITY_JOINERS = frozenset({"or", "and", "to", "then"})
CHANGE_WORDS = frozenset({"change", "rearrange", "reschedule", "move"})
MORE_WORDS = frozenset({"more"})
_TOKEN = re.compile(r"[a-z0-9]+")
_QUOTES = str.maketrans({"\u2019": "", "\u2018": "", "'": "", "`": ""})


@dataclass(frozen=True)
class Intent:
    """What a reply asks for; `choice` is 1-3 only when `kind` is 'choice'.

    `word` is the keyword as the resident wrote it (recorded with an opt-out).
    """

    kind: str
    choice: int | None = None
    word: str | None = None

    def as_dict(self, text: str) -> dict[str, Any]:
        out: dict[str, Any] = {"text": text, "intent": self.kind}
        if self.kind == "choice":
            out["choice"] = self.choice
        return out


def tokens(text: str) -> list[str]:
    """Lower-case words and numbers, apostrophes dropped (`I'll` -> `ill`), accents folded."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _TOKEN.findall(folded.lower().translate(_QUOTES))


def _strip_lead_in(words: list[str]) -> list[str]:
    i = 0
    while i < len(words) - 1 and words[i] in LEAD_IN:
        i += 1
    return words[i:]


def _has_digit(words: list[str]) -> bool:
    return any(ch.isdigit() for w in words for ch in w)


def _is_decline(words: list[str]) -> bool:
    if words[0] in DECLINE_LEADS:
        return True
    return any(tuple(words[: len(p)]) == p for p in DECLINE_PHRASES)


def _choice(words: list[str]) -> Intent:
    picks: list[int] = []
    for i, word in enumerate(words):
        if word in CHOICE_DIGITS:
            picks.append(CHOICE_DIGITS[word])
        elif word == "one" and i > 0 and words[i - 1] in ORDINALS:
            continue  # "the second one"
        elif word in CHOICE_WORDS:
            picks.append(CHOICE_WORDS[word])
        elif word.isdigit() and len(word) > 1 and set(word) <= set(CHOICE_DIGITS):
            return Intent("ambiguous")  # "12", "123": two choices run together
        elif word in CHOICE_FILLER or word in AMBIGUITY_JOINERS:
            continue
        else:
            return Intent("unclear")  # "3pm", "at", "4": a number in a sentence
    if len(picks) == 1 and not any(w in AMBIGUITY_JOINERS for w in words):
        return Intent("choice", choice=picks[0])
    if len(picks) >= 2:
        return Intent("ambiguous")
    return Intent("unclear")


def parse(text: str) -> Intent:
    """The one intent the service acts on for `text` (see the module docstring)."""
    words = tokens(text)
    if not words:
        return Intent("unclear")
    lead = _strip_lead_in(words)
    first = lead[0]
    if first in STOP_WORDS or (first == "stop" and lead[1:2] == ["all"]):
        return Intent("stop", word=first.upper())
    if first in START_WORDS:
        return Intent("start", word=first.upper())
    if first in HELP_WORDS:
        return Intent("help", word=first.upper())
    if _has_digit(words):
        return _choice(words)
    if _is_decline(lead):
        return Intent("decline")
    if any(w in CHANGE_WORDS for w in words):
        return Intent("change")
    if any(w in MORE_WORDS for w in words):
        return Intent("more")
    return _choice(words)
