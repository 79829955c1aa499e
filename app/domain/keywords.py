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

Other languages (app.domain.reply_words) add their own words for a resident who has that
language; English words always work, and any language's opt-out word opts out. Digits
of any script count as their value (`২`, `٢`, `۲`, `੨`, `２` are all 2), read from
Unicode's digit values, and the same ambiguity rules apply to them. A reply that is
only a language's name, in English or in itself (`POLSKI`, `বাংলা`), asks for texts in
that language.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from app.domain import languages
from app.domain.reply_words import WORDS

INTENTS = (
    "choice", "ambiguous", "stop", "start", "help", "decline", "more", "change", "language",
    "unclear",
)  # fmt: skip

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
_QUOTES = {"\u2019": "", "\u2018": "", "'": "", "`": "", "\u200c": "", "\u200d": ""}
# letter forms phones write interchangeably in Arabic script (Arabic and Urdu keyboards)
_ARABIC_FORMS = {"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u0629": "\u06c1",
                 "\u0647": "\u06c1"}  # fmt: skip
_FOLD = str.maketrans({**_QUOTES, **_ARABIC_FORMS})


@dataclass(frozen=True)
class Intent:
    """What a reply asks for; `choice` is 1-3 only when `kind` is 'choice'.

    `word` is the keyword as the resident wrote it (recorded with an opt-out);
    `language` the code a `language` reply asks for.
    """

    kind: str
    choice: int | None = None
    word: str | None = None
    language: str | None = None

    def as_dict(self, text: str) -> dict[str, Any]:
        out: dict[str, Any] = {"text": text, "intent": self.kind}
        if self.kind == "choice":
            out["choice"] = self.choice
        if self.kind == "language":
            out["language"] = self.language
        return out


def ascii_digits(text: str) -> str:
    """Every decimal digit of any script as its ASCII digit (Unicode's digit value)."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def tokens(text: str) -> list[str]:
    """Lower-case words and numbers: digits as ASCII, apostrophes dropped (`I'll` ->
    `ill`), accents and other combining marks folded; the vowel signs of Indic scripts
    stay part of their word, a mark after a digit or ASCII letter (a keycap) goes."""
    folded = unicodedata.normalize("NFKD", ascii_digits(text).casefold()).translate(_FOLD)
    words: list[str] = []
    current: list[str] = []
    for ch in folded:
        if ch.isalnum():
            current.append(ch)
        elif unicodedata.category(ch)[0] == "M":
            if current and not current[-1].isascii() and not unicodedata.combining(ch):
                current.append(ch)  # a spacing or unranked vowel sign: part of the word
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def fold(word: str) -> str:
    """A word as `tokens` would read it (for word lists written as people spell them)."""
    found = tokens(word)
    return found[0] if len(found) == 1 else " ".join(found)


@dataclass(frozen=True)
class Vocabulary:
    """The words one reply is read with: English's and its sender's language's."""

    start: frozenset[str]
    help: frozenset[str]
    lead_in: frozenset[str]
    decline: frozenset[str]
    change: frozenset[str]
    more: frozenset[str]
    choice_words: dict[str, int]
    ordinals: frozenset[str]
    filler: frozenset[str]
    joiners: frozenset[str]


def _folded(words: Any) -> frozenset[str]:
    return frozenset(fold(w) for w in words)


# any language's opt-out word opts out, whoever sends it
ALL_STOP_WORDS = STOP_WORDS | frozenset(fold(w) for words in WORDS.values() for w in words.stop)


@cache
def vocabulary(language: str = languages.ENGLISH) -> Vocabulary:
    own = WORDS.get(language)
    if own is None:
        return Vocabulary(
            START_WORDS, HELP_WORDS, LEAD_IN, DECLINE_LEADS, CHANGE_WORDS, MORE_WORDS,
            CHOICE_WORDS, ORDINALS, CHOICE_FILLER, AMBIGUITY_JOINERS,
        )  # fmt: skip
    choices = {fold(w): n for n, words in own.choices.items() for w in words}
    return Vocabulary(
        start=START_WORDS | _folded(own.start),
        help=HELP_WORDS | _folded(own.help),
        lead_in=LEAD_IN | _folded(own.lead_in),
        decline=DECLINE_LEADS | _folded(own.decline),
        change=CHANGE_WORDS | _folded(own.change),
        more=MORE_WORDS | _folded(own.more),
        choice_words={**CHOICE_WORDS, **choices},
        ordinals=ORDINALS,
        filler=CHOICE_FILLER | _folded(own.filler),
        joiners=AMBIGUITY_JOINERS | _folded(own.joiners),
    )


def _strip_lead_in(words: list[str], lead_in: frozenset[str]) -> list[str]:
    i = 0
    while i < len(words) - 1 and words[i] in lead_in:
        i += 1
    return words[i:]


def _has_digit(words: list[str]) -> bool:
    return any(ch.isdigit() for w in words for ch in w)


def _is_decline(words: list[str], vocab: Vocabulary) -> bool:
    if words[0] in vocab.decline:
        return True
    return any(tuple(words[: len(p)]) == p for p in DECLINE_PHRASES)


def _choice(words: list[str], vocab: Vocabulary) -> Intent:
    picks: list[int] = []
    for i, word in enumerate(words):
        if word in CHOICE_DIGITS:
            picks.append(CHOICE_DIGITS[word])
        elif word == "one" and i > 0 and words[i - 1] in vocab.ordinals:
            continue  # "the second one"
        elif word in vocab.choice_words:
            picks.append(vocab.choice_words[word])
        elif word.isdigit() and len(word) > 1 and set(word) <= set(CHOICE_DIGITS):
            return Intent("ambiguous")  # "12", "123": two choices run together
        elif word in vocab.filler or word in vocab.joiners:
            continue
        else:
            return Intent("unclear")  # "3pm", "at", "4": a number in a sentence
    if len(picks) == 1 and not any(w in vocab.joiners for w in words):
        return Intent("choice", choice=picks[0])
    if len(picks) >= 2:
        return Intent("ambiguous")
    return Intent("unclear")


def parse(text: str, language: str | None = None) -> Intent:
    """The one intent the service acts on for `text` from a resident whose language is
    `language` (English when None or unknown; see the module docstring)."""
    words = tokens(text)
    if not words:
        return Intent("unclear")
    vocab = vocabulary(language if language in WORDS else languages.ENGLISH)
    lead = _strip_lead_in(words, vocab.lead_in)
    first = lead[0]
    if first in ALL_STOP_WORDS or (first == "stop" and lead[1:2] == ["all"]):
        return Intent("stop", word=first.upper())
    if first in vocab.start:
        return Intent("start", word=first.upper())
    if first in vocab.help:
        return Intent("help", word=first.upper())
    named = languages.lookup_name(text)
    if named is not None:
        return Intent("language", language=named)
    if _has_digit(words):
        return _choice(words, vocab)
    if _is_decline(lead, vocab):
        return Intent("decline")
    if any(w in vocab.change for w in words):
        return Intent("change")
    if any(w in vocab.more for w in words):
        return Intent("more")
    return _choice(words, vocab)
