"""Segment counting agrees with Twilio's message-segment-calculator on tricky strings."""

from __future__ import annotations

import pytest

from app.domain.segments import count

DIGITS = "1234567890"

# (text, encoding, characters, segments): expectations from Twilio's calculator rules
TRICKY = [
    ("", "GSM-7", 0, 1),
    ("Hello", "GSM-7", 5, 1),
    (DIGITS * 16, "GSM-7", 160, 1),
    (DIGITS * 16 + "1", "GSM-7", 161, 2),
    ((DIGITS * 31)[:306], "GSM-7", 306, 2),
    ((DIGITS * 31)[:307], "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),
    ("€" * 80 + "a", "GSM-7", 161, 2),
    ("[" + "a" * 159, "GSM-7", 161, 2),
    ("|" + DIGITS * 15 + "12345678", "GSM-7", 160, 1),
    # an escape pair is never split across parts: 152 + (2) + 152 needs three parts
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
    ("a" * 153 + "€" + "a" * 151, "GSM-7", 306, 2),
    ("£$¥@ ÄÖÑÜ§¿¡ äöñüà ΔΦΓΛΩΠΨΣΘΞ", "GSM-7", 29, 1),
    ("line\r\nbreak", "GSM-7", 11, 1),
    ("\rabcde\r\n123", "GSM-7", 11, 1),
    ("form\ffeed", "GSM-7", 10, 1),
    # backtick is not in GSM 03.38
    ("`", "UCS-2", 1, 1),
    # curly quotes and dashes, the usual copy-paste culprits
    ("Don’t forget", "UCS-2", 12, 1),
    ("“quoted”", "UCS-2", 8, 1),
    ("a – b", "UCS-2", 5, 1),
    ("más", "UCS-2", 3, 1),
    ("ç" * 70, "UCS-2", 70, 1),
    ("ç" * 71, "UCS-2", 71, 2),
    ("😜" + (DIGITS * 7)[1:69], "UCS-2", 69, 1),
    ("😜" + (DIGITS * 7)[1:70], "UCS-2", 70, 2),
    ("😜" + (DIGITS * 14)[1:134], "UCS-2", 134, 3),
    # a flag is one grapheme of four UTF-16 units, never split
    ("🇮🇹" + (DIGITS * 7)[1:67], "UCS-2", 67, 1),
    ("🇮🇹" + (DIGITS * 7)[1:68], "UCS-2", 68, 2),
    ("🏳️‍🌈" + (DIGITS * 7)[3:67], "UCS-2", 65, 1),
    ("🏳️‍🌈" + (DIGITS * 7)[3:68], "UCS-2", 66, 2),
    # extension characters cost one unit in UCS-2
    ("😀" + "]" * 68, "UCS-2", 69, 1),
    ("😀" + "]" * 69, "UCS-2", 70, 2),
    # a letter with combining accents is one character but several units
    ("e\u0301\u0301\u0301", "UCS-2", 1, 1),
    ("e\u0301\u0301\u0301" + "a" * 66, "UCS-2", 67, 1),
    ("e\u0301\u0301\u0301" + "a" * 67, "UCS-2", 68, 2),
]


@pytest.mark.parametrize(("text", "encoding", "characters", "segments"), TRICKY)
def test_segment_count_matches_twilio_calculator(
    text: str, encoding: str, characters: int, segments: int
) -> None:
    result = count(text)
    assert (result.encoding, result.characters, result.segments) == (
        encoding,
        characters,
        segments,
    )


def test_unicode_characters_are_named_once_each_in_order() -> None:
    assert count("Don’t “go” ’").unicode_chars == ("’", "“", "”")


def test_a_flag_is_named_as_one_character() -> None:
    assert count("Hi 🇬🇧").unicode_chars == ("🇬🇧",)


def test_gsm_message_names_no_unicode_characters() -> None:
    assert count("Reply 1, 2 or 3. Text STOP to opt out. €5 {x}").unicode_chars == ()


def test_as_dict_is_the_cli_json_shape() -> None:
    assert count("a" * 170).as_dict() == {"encoding": "GSM-7", "characters": 170, "segments": 2}
