"""SMS segment counting, exactly as Twilio's message-segment-calculator counts.

Rules (3GPP TS 23.038, and Twilio's open-source calculator, the reference named in the
issue):
- A message is GSM-7 when every character is in the GSM 03.38 basic table or its
  extension table; one other character (emoji, curly quote, most accented letters, or a
  letter followed by a combining accent) makes the whole message UCS-2.
- GSM-7: 7 bits a septet; an extension character (`^ { } \\ [ ~ ] | €` and form feed)
  is an escape plus a septet, so it counts 2.
- UCS-2: 16 bits a UTF-16 code unit, so an emoji outside the BMP counts 2.
- One segment carries 1120 bits (160 septets, 70 code units). A longer message is split
  and each part loses 48 bits to the concatenation header (153 septets, 67 units).
- The calculator never splits a character (an escape pair, a surrogate pair or a whole
  grapheme cluster such as a flag) across two parts: one that does not fit moves to the
  next part. So 152 plain characters then `€` then 152 more make three parts, not two.
- `characters`: in GSM-7 the number of septets (an extension character counts 2); in
  UCS-2 the number of grapheme clusters (what a reader sees). CRLF counts as two.

Nothing is cleaned first: the count is of the text exactly as given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import regex

SEGMENT_BITS = 1120
HEADER_BITS = 48  # the 6-octet concatenation user data header

# GSM 03.38 basic character set (the characters Twilio's calculator maps to one septet)
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: sent as ESC + septet, so each costs 2
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

Encoding = Literal["GSM-7", "UCS-2"]
_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True)
class SegmentCount:
    encoding: Encoding
    characters: int
    segments: int
    # the distinct characters (grapheme clusters) forcing UCS-2, in order of appearance
    unicode_chars: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "characters": self.characters,
            "segments": self.segments,
        }


def graphemes(text: str) -> list[str]:
    """User-perceived characters; CRLF is two, as in Twilio's calculator."""
    out: list[str] = []
    for cluster in _GRAPHEME.findall(text):
        if cluster == "\r\n":
            out.extend(("\r", "\n"))
        else:
            out.append(cluster)
    return out


def _is_gsm7(cluster: str) -> bool:
    return len(cluster) == 1 and (cluster in GSM7_BASIC or cluster in GSM7_EXTENSION)


def _utf16_units(cluster: str) -> int:
    return len(cluster.encode("utf-16-le")) // 2


def _pack(sizes: list[int]) -> int:
    """Parts needed for characters of these sizes (bits), never splitting one."""
    if sum(sizes) <= SEGMENT_BITS:
        return 1
    capacity = SEGMENT_BITS - HEADER_BITS
    parts, used = 1, 0
    for size in sizes:
        if used + size > capacity:
            parts += 1
            used = 0
        used += size
    return parts


def count(text: str) -> SegmentCount:
    """Encoding, characters and segments of `text` as Twilio would send it."""
    clusters = graphemes(text)
    unicode_chars: list[str] = []
    for cluster in clusters:
        if not _is_gsm7(cluster) and cluster not in unicode_chars:
            unicode_chars.append(cluster)
    if not clusters:
        return SegmentCount("GSM-7", 0, 1)
    if not unicode_chars:
        septets = [2 if c in GSM7_EXTENSION else 1 for c in clusters]
        return SegmentCount("GSM-7", sum(septets), _pack([7 * s for s in septets]))
    units = [_utf16_units(c) for c in clusters]
    return SegmentCount(
        "UCS-2", len(clusters), _pack([16 * u for u in units]), tuple(unicode_chars)
    )


def describe(char: str) -> str:
    """A character named for a person fixing a template: `'’' (U+2019)`."""
    codes = " ".join(f"U+{ord(c):04X}" for c in char)
    return f"{char!r} ({codes})"
