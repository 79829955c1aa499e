"""UK mobile numbers: normalise what people type to E.164 and say whether we can text it.

`phonenumbers` (Google's libphonenumber) is the authority; it costs ~30 us a call, so the
common ways of writing a UK mobile take a fast path that uses libphonenumber's own GB
mobile pattern and is proved equal to the slow path by a property test
(tests/unit/test_phone.py). Ofcom reserves 07700 900000-900999 for drama; libphonenumber
calls those numbers invalid, so outside production they are accepted as test mobiles
(like GOV.UK Notify's simulated numbers) when the caller says so.
"""

from __future__ import annotations

import re
import string
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers.phonemetadata import PhoneMetadata

OK = "ok"
MISSING = "missing"
LANDLINE = "landline"  # a real number that is not a mobile: cannot receive our texts
INVALID = "invalid"
STATUSES = (OK, MISSING, LANDLINE, INVALID)

TEST_RANGE_PREFIX = "+447700900"  # Ofcom drama range 07700 900000-900999


class Mobile(NamedTuple):
    number: str | None  # E.164 when status is ok, else None
    status: str


_MISSING = Mobile(None, MISSING)
_INVALID = Mobile(None, INVALID)
_LANDLINE = Mobile(None, LANDLINE)

_GB = PhoneMetadata.metadata_for_region("GB")
assert _GB is not None and _GB.mobile is not None and _GB.fixed_line is not None
assert _GB.mobile.national_number_pattern and _GB.fixed_line.national_number_pattern
_GB_MOBILE = re.compile(_GB.mobile.national_number_pattern)
# geographic numbers (01, 02) match no other GB number type, so the fixed-line pattern
# alone decides them
_GB_FIXED = re.compile(_GB.fixed_line.national_number_pattern)
# 07700 900123, 07700-900-123, (07700) 900123, +44 7700 900123, 447700900123, 0044...
_SEPARATORS = str.maketrans("", "", " -()")
# GOV.UK Notify's rule (notifications-utils `normalise_phone_number`): besides digits only
# whitespace and ()-+ may appear; anything else ("07723 456789...", "07700.900.123",
# "ext 12") is refused as "letters or symbols", so it is refused here too
_NOTIFY_IGNORES = str.maketrans(
    "", "", string.whitespace + "\u180e\u200b\u200c\u200d\u2060\u00a0\ufeff()-+"
)
_COMMON = re.compile(r"(?:\+44|0044|44|0)(7\d{9})")
_GEOGRAPHIC = re.compile(r"(?:\+44|0044|44|0)([12]\d{8,9})")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def is_test_number(e164: str) -> bool:
    """True for the Ofcom drama range +447700900000-+447700900999."""
    return len(e164) == 13 and e164.startswith(TEST_RANGE_PREFIX) and e164[10:].isdigit()


def _digits_and_separators_only(raw: str) -> bool:
    rest = raw.translate(_NOTIFY_IGNORES)
    return rest.isascii() and rest.isdigit()


def normalise_mobile(raw: str | None, *, allow_test_range: bool) -> Mobile:
    """The E.164 mobile for `raw` and its status (ok, missing, landline or invalid).

    A number is usable (ok) when libphonenumber says it is a valid UK (+44) mobile, or
    when it is in the drama range and `allow_test_range` (never in production).
    Landlines and other non-mobile numbers keep the patient but are not textable.
    """
    if raw is None:
        return _MISSING
    compact = raw.translate(_SEPARATORS)
    if not compact:
        return _MISSING
    if not _digits_and_separators_only(raw):
        return _INVALID
    match = _COMMON.fullmatch(compact)
    if match is not None:
        national = match.group(1)
        if _GB_MOBILE.fullmatch(national):
            return Mobile("+44" + national, OK)
        if allow_test_range and national.startswith("7700900"):
            return Mobile("+44" + national, OK)
    else:
        match = _GEOGRAPHIC.fullmatch(compact)
        if match is not None and _GB_FIXED.fullmatch(match.group(1)):
            return _LANDLINE
    return normalise_mobile_slow(raw, allow_test_range=allow_test_range)


def normalise_mobile_slow(raw: str | None, *, allow_test_range: bool) -> Mobile:
    """The reference implementation: libphonenumber for every input (see normalise_mobile)."""
    if raw is None or not raw.translate(_SEPARATORS):
        return _MISSING
    if not _digits_and_separators_only(raw):
        return _INVALID
    try:
        parsed = phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException:
        return _INVALID
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if allow_test_range and is_test_number(e164):
        return Mobile(e164, OK)
    if parsed.country_code != 44 or not phonenumbers.is_valid_number(parsed):
        return _INVALID
    if phonenumbers.number_type(parsed) in _MOBILE_TYPES:
        return Mobile(e164, OK)
    return _LANDLINE


def to_e164(raw: str, *, allow_test_range: bool) -> str | None:
    """The E.164 form of a usable UK mobile, or None."""
    return normalise_mobile(raw, allow_test_range=allow_test_range).number
