"""Mobile normalisation: E.164, usability, the drama range, and the fast path's equality."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.domain.phone import (
    INVALID,
    LANDLINE,
    MISSING,
    OK,
    is_test_number,
    normalise_mobile,
    normalise_mobile_slow,
)

REAL_LOOKING = "+447400123456"  # phonenumbers' example GB mobile: never text it


@pytest.mark.parametrize(
    "written",
    ["07400 123456", "+44 7400 123456", "(07400) 123-456", "447400123456", "0044 7400 123456",
     "07400123456", "+447400123456", " 07400-123-456 "],
)  # fmt: skip
def test_every_common_way_of_writing_a_uk_mobile_gives_the_same_e164(written: str) -> None:
    assert normalise_mobile(written, allow_test_range=False) == (REAL_LOOKING, OK)


@pytest.mark.parametrize(
    "written", ["07700 900123", "+44 7700 900123", "(07700) 900-123", "447700900123"]
)
def test_drama_range_numbers_are_usable_only_when_test_numbers_are_allowed(written: str) -> None:
    assert normalise_mobile(written, allow_test_range=True) == ("+447700900123", OK)
    assert normalise_mobile(written, allow_test_range=False) == (None, INVALID)


def test_a_london_landline_keeps_no_mobile_and_says_landline() -> None:
    assert normalise_mobile("020 7946 0000", allow_test_range=True) == (None, LANDLINE)


def test_blank_means_missing_and_junk_means_invalid() -> None:
    assert normalise_mobile(None, allow_test_range=True).status == MISSING
    assert normalise_mobile("  ", allow_test_range=True).status == MISSING
    assert normalise_mobile("n/a", allow_test_range=True).status == INVALID
    assert normalise_mobile("07700 9001", allow_test_range=True).status == INVALID


def test_a_foreign_mobile_is_not_usable() -> None:
    assert normalise_mobile("+33 6 12 34 56 78", allow_test_range=True).status == INVALID


def test_the_drama_range_is_exactly_900000_to_900999() -> None:
    assert is_test_number("+447700900000") and is_test_number("+447700900999")
    assert not is_test_number("+447700901000") and not is_test_number("+44770090000")


def _spell(prefix: str, national: str, style: int) -> str:
    styles = (
        f"{prefix}{national}",
        f"{prefix}{national[:4]} {national[4:]}",
        f"({prefix}{national[:4]}) {national[4:7]}-{national[7:]}",
        f"{prefix} {national[:3]} {national[3:6]} {national[6:]}",
        f"{prefix}{national[:2]}.{national[2:6]}.{national[6:]}",
    )
    return styles[style]


uk_like = st.builds(
    _spell,
    st.sampled_from(["0", "+44", "44", "0044", "", "+44 ", "+440", "00"]),
    st.one_of(
        st.from_regex(r"7[0-9]{9}", fullmatch=True),
        st.from_regex(r"7700900[0-9]{3}", fullmatch=True),
        st.from_regex(r"[12][0-9]{8,9}", fullmatch=True),
        st.from_regex(r"[0-9]{6,12}", fullmatch=True),
    ),
    st.integers(min_value=0, max_value=4),
)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(uk_like, st.text(alphabet="0123456789+()- .\t", max_size=16)), st.booleans())
@example("07624 123456", True)
@example("01632 960000", False)
@example("441632960000", True)
@example(" - ", True)
@example("+44779336423\t6", True)  # phonenumbers does not take a tab as a separator
@example("01 39876 99\t51", True)
def test_the_fast_path_equals_phonenumbers_for_any_input(raw: str, allow: bool) -> None:
    assert normalise_mobile(raw, allow_test_range=allow) == normalise_mobile_slow(
        raw, allow_test_range=allow
    )


@pytest.mark.parametrize(
    "written",
    ["07723 456789...", "07400 123456.", "07400 123456x", "07400.123.456", "07400 123456 ext"],
)
def test_a_number_with_letters_or_symbols_is_refused_as_notify_refuses_it(written: str) -> None:
    assert normalise_mobile(written, allow_test_range=True) == (None, INVALID)
    assert normalise_mobile_slow(written, allow_test_range=True) == (None, INVALID)
