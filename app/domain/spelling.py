"""GSM-7-friendly spellings: a Latin-script translation without the letters that force
UCS-2, and what that costs the reader.

One letter outside GSM-7 (ș, ą, ė, ã...) sends the whole text as UCS-2: 70 characters
in one part, 67 a part after that, against 160 and 153. Many senders in these
languages write plain letters in texts for that reason; the trade-off (some words read
ambiguously, and the text looks less careful) is the reviewer's to weigh, so it is
offered, never applied. Scripts other than Latin have no such spelling.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from app.domain import segments

# letters and punctuation with no decomposition to a GSM-7 base
PLAIN = {
    "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i",
    "\u2013": "-", "\u2014": "-", "\u2019": "'", "\u2018": "'", "\u201e": '"',
    "\u201c": '"', "\u201d": '"', "\u2026": "...",
}  # fmt: skip

TRADE_OFFS = {
    "ro": (
        "Romanian without diacritics (ș ț ă â î as s t a a i; the comma-below ș ț and "
        "the older cedilla ş ţ both force UCS-2), as many Romanian senders write texts: "
        "cheaper and more fits in each part, but some words become ambiguous (fată/fata, "
        "peste/pește) and it reads less careful."
    ),
    "pl": (
        "Polish without diacritics (ą ć ę ł ń ó ś ź ż as plain letters): cheaper and "
        "common in Polish texts, but some words change (żle/źle, kość/kosc) and it reads "
        "less careful."
    ),
    "lt": (
        "Lithuanian without diacritics (ą č ę ė į š ų ū ž as plain letters): cheaper and "
        "common in texts, but harder to read and some word forms become ambiguous."
    ),
    "pt": (
        "Portuguese without the accents GSM-7 lacks (ã õ ç á í ó ú â ê ô): cheaper, but "
        "some words change meaning (está/esta, avó/avô) and it reads less careful."
    ),
    "so": "Somali is written in plain Latin letters: nothing to change.",
}


def gsm_friendly(text: str) -> str:
    """`text` with every letter outside GSM-7 written as its plain GSM-7 letter where it
    has one (accents off; `ł` as `l`); other characters unchanged."""
    out = []
    for ch in text:
        if ch in segments.GSM7_BASIC or ch in segments.GSM7_EXTENSION:
            out.append(ch)
        elif ch in PLAIN:
            out.append(PLAIN[ch])
        else:
            base = unicodedata.normalize("NFD", ch)[0]
            out.append(base if base in segments.GSM7_BASIC else ch)
    return "".join(out)


@dataclass(frozen=True)
class SpellingOffer:
    language: str
    text: str
    before: segments.SegmentCount
    after: segments.SegmentCount
    trade_off: str


def offer(language: str, text: str) -> SpellingOffer | None:
    """The plain-letter spelling of `text` when the language allows one and it saves
    the UCS-2 encoding; None otherwise."""
    if language not in TRADE_OFFS:
        return None
    plain = gsm_friendly(text)
    before, after = segments.count(text), segments.count(plain)
    if plain == text or after.encoding != "GSM-7":
        return None
    return SpellingOffer(language, plain, before, after, TRADE_OFFS[language])


__all__ = ["PLAIN", "TRADE_OFFS", "SpellingOffer", "gsm_friendly", "offer"]
