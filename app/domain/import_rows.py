"""One row of a GP list: its normalised patient values, or why it is rejected.

The rules of the patient list import (README, "CSV format"): a row is rejected for a
missing NHS number, one that is not 10 digits or fails the modulus 11 check, a missing,
impossible or future date of birth, or an NHS number accepted earlier in the same file;
anything else odd is a warning that keeps the row (an unknown sex, ethnicity, IMD decile,
postcode, LSOA or last-check date is recorded as not known; an unknown condition holds
the patient for review). Pure: the import service reads the CSV and writes the rows.

This is the hot loop of a million-row import, so `RowChecker` keeps memo dicts for the
values that repeat (dates, codes, conditions, deciles, postcodes) and uses the fast paths
of `nhs_number.is_valid` and `phone.normalise_mobile`, each proved equal to its plain
rule by a property test.
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

from app.domain import eligibility, ethnicity, languages, nhs_number, phone
from app.domain.coded import Clusters, PatientCodes
from app.domain.csv_headers import PATIENT_COLUMNS
from app.domain.dates import DateFormatError, parse_date
from app.domain.event_rows import list_codes

# The order of Row.values: patient's own column names, so the import can bulk-load them.
FIELDS = (
    "nhs_number", "given_name", "family_name", "date_of_birth", "sex", "ethnic_category",
    "ethnic_group", "postcode", "lsoa", "imd_decile", "imd_edition", "mobile",
    "mobile_status", "conditions", "unrecognised_conditions", "last_health_check",
    "statin_issued_on", "language", "interpreter_needed",
)  # fmt: skip
MOBILE_STATUS = FIELDS.index("mobile_status")
_MEMO_LIMIT = 200_000  # a memo dict stops growing here (a file of all-different values)
_CONDITIONS_MEMO_LIMIT = 10_000
OLDEST_BIRTH_YEAR = 1880


class Row(NamedTuple):
    """An accepted row: `values` in FIELDS order (dates as ISO text), and its warnings."""

    values: tuple[Any, ...]
    warnings: tuple[str, ...]


class Rejection(NamedTuple):
    reason: str


class _Reason(str):
    """Why a value was refused (a str subclass, so memo dicts can hold values or reasons)."""


def check_dob(raw: str, today: date) -> str:
    """The date of birth as ISO text, or a _Reason the row is rejected."""
    if not raw.strip():
        return _Reason("missing date of birth")
    try:
        dob = parse_date(raw)
    except DateFormatError as exc:
        return _Reason(f"date of birth: {exc}")
    if dob > today:
        return _Reason(f"date of birth {dob.isoformat()} is in the future")
    if dob.year < OLDEST_BIRTH_YEAR:
        return _Reason(f"impossible date of birth: {raw.strip()!r}")
    return dob.isoformat()


def check_last_check(raw: str, today: date) -> str | None:
    """The last health check as ISO text, None when blank, or a _Reason it is ignored."""
    if not raw.strip():
        return None
    try:
        checked = parse_date(raw)
    except DateFormatError as exc:
        return _Reason(f"last health check: {exc} (ignored)")
    if checked > today:
        return _Reason(f"last health check {checked.isoformat()} is in the future (ignored)")
    return checked.isoformat()


def check_imd(raw: str) -> int | None | _Reason:
    value = raw.strip()
    if not value:
        return None
    if value.isdigit() and 1 <= int(value) <= 10:
        return int(value)
    return _Reason(f"IMD decile {value!r} is not 1-10 (ignored)")


def check_postcode(raw: str) -> str | None | _Reason:
    postcode = " ".join(raw.upper().split())
    if not postcode:
        return None
    if len(postcode) > 10:
        return _Reason(f"postcode {postcode!r} is too long (ignored)")
    return postcode


def check_ethnicity(raw: str) -> tuple[str | None, str, str | None]:
    """(category code, group, warning)."""
    code = ethnicity.category_code(raw)
    warning = None
    if code is None and raw.strip():
        warning = f"unknown ethnicity {raw.strip()!r} (recorded as not stated)"
    return code, ethnicity.group_of(code), warning


def check_language(raw: str) -> tuple[str, str | None]:
    """(code, warning): a language we do not text in leaves the patient in English."""
    value = raw.strip()
    if not value:
        return languages.ENGLISH, None
    code = languages.lookup(value)
    if code is None:
        return languages.ENGLISH, f"unknown language {value[:40]!r} (texts stay in English)"
    return code, None


def check_interpreter(raw: str) -> tuple[bool, str | None]:
    flag = languages.interpreter_flag(raw)
    if flag is None:
        return False, f"interpreter needed {raw.strip()[:20]!r} is not yes or no (ignored)"
    return flag, None


def check_conditions(raw: str) -> tuple[str, str, str | None]:
    """(exclusions, unrecognised terms, warning): an unrecognised term holds the patient."""
    parsed = eligibility.parse_conditions(raw)
    warning = None
    if parsed.unknown:
        names = ", ".join(repr(u) for u in parsed.unknown)
        warning = f"unknown condition {names} (held for review: not invited until resolved)"
    return parsed.canonical, eligibility.join_unrecognised(parsed.unknown), warning


class RowChecker:
    """Checks the rows of one file in order; remembers the NHS numbers it has listed.

    `columns` maps field names (csv_headers.PATIENT_COLUMNS) to column indexes of a
    file `width` columns wide; absent fields read as blank. `coded` holds each patient's
    coded entries from an events file (app.domain.event_rows); they, and a codes column
    of the list, add exclusions, the last check, a statin issue, the ethnic category and,
    where the list gives none, the main spoken language (if texts can go in it).
    """

    def __init__(
        self,
        columns: dict[str, int],
        width: int,
        *,
        today: date,
        allow_test_numbers: bool,
        clusters: Clusters | None = None,
        coded: dict[int, PatientCodes] | None = None,
    ) -> None:
        self.width = width
        blank = width  # index of the "" every row is padded with, for absent columns
        col = {f: columns.get(f, blank) for f in PATIENT_COLUMNS}
        self.i_nhs, self.i_dob, self.i_mobile = (
            col["nhs_number"],
            col["date_of_birth"],
            col["mobile"],
        )
        self.i_given, self.i_family, self.i_sex = col["given_name"], col["family_name"], col["sex"]
        self.i_eth, self.i_post, self.i_lsoa = col["ethnicity"], col["postcode"], col["lsoa"]
        self.i_imd, self.i_edition = col["imd_decile"], col["imd_edition"]
        self.i_cond, self.i_check = col["conditions"], col["last_health_check"]
        self.i_codes = col["snomed_codes"]
        self.i_language, self.i_interpreter = col["language"], col["interpreter_needed"]
        self.clusters = clusters
        self.coded = coded or {}
        self.today = today
        self.allow_test_numbers = allow_test_numbers
        # every valid NHS number the file lists -> the line it was accepted on (0: the
        # row was rejected for another reason, but the patient is still on the list)
        self.listed: dict[int, int] = {}
        self._dobs: dict[str, str] = {}  # raw -> ISO date, or a _Reason
        self._checks: dict[str, str | None] = {"": None}
        self._sexes: dict[str, str | None] = {}
        self._ethnicities: dict[str, tuple[str | None, str, str | None]] = {}
        self._conditions: dict[str, tuple[str, str, str | None]] = {"": ("", "", None)}
        self._imds: dict[str, int | None | _Reason] = {"": None}
        self._postcodes: dict[str, str | None | _Reason] = {"": None}
        self._languages: dict[str, tuple[str, str | None]] = {"": (languages.ENGLISH, None)}
        self._interpreters: dict[str, tuple[bool, str | None]] = {"": (False, None)}

    def check_row(self, fields: list[str], line: int) -> Row | Rejection:
        """The row at `line` (its first line in the file) checked; `fields` may be short
        or long (padded or cut to the header's width)."""
        width = self.width
        if len(fields) != width:
            fields = (fields + [""] * width)[:width]
        fields.append("")

        nhs = fields[self.i_nhs]
        if len(nhs) != 10 or not nhs.isdigit():
            nhs = nhs_number.clean(nhs)  # 943 476 5919, 943-476-5919
        reason: str | None = None
        nhs_ok = False
        if not nhs:
            reason = "missing NHS number"
        elif len(nhs) != 10 or not nhs.isascii() or not nhs.isdigit():
            reason = f"NHS number {nhs[:20]!r} is not 10 digits"
        elif not nhs_number.is_valid(nhs):
            reason = f"NHS number {nhs} fails the modulus 11 check"
        else:
            nhs_ok = True
        raw_dob = fields[self.i_dob]
        dobs = self._dobs
        dob = dobs.get(raw_dob)
        if dob is None:
            dob = check_dob(raw_dob, self.today)
            if len(dobs) < _MEMO_LIMIT:
                dobs[raw_dob] = dob
        if type(dob) is _Reason:
            reason = dob if reason is None else f"{reason}; {dob}"
        seen = self.listed
        if reason is None:
            key = int(nhs)
            earlier = seen.get(key)
            if not earlier:  # new, or only on rejected rows so far
                seen[key] = line
            else:
                reason = f"duplicate NHS number {nhs} (first on line {earlier})"
        elif nhs_ok:
            seen.setdefault(int(nhs), 0)  # a bad date of birth: still on the list
        if reason is not None:
            return Rejection(reason)
        return self._accepted(fields, nhs, dob, line)

    def _accepted(self, fields: list[str], nhs: str, dob: str, line: int) -> Row:
        warnings: list[str] | None = None
        raw_sex = fields[self.i_sex]
        sex = self._sexes.get(raw_sex, "")
        if sex == "":
            sex = self._sexes[raw_sex] = eligibility.sex_code(raw_sex)
        if sex is None:
            warnings = [f"unknown sex {raw_sex.strip()!r} (recorded as not known)"]
            sex = "0"

        raw_eth = fields[self.i_eth]
        eth = self._ethnicities.get(raw_eth)
        if eth is None:
            eth = self._ethnicities[raw_eth] = check_ethnicity(raw_eth)
        if eth[2] is not None:
            warnings = [*(warnings or ()), eth[2]]

        raw_cond = fields[self.i_cond]
        cond = self._conditions.get(raw_cond)
        if cond is None:
            cond = check_conditions(raw_cond)
            if len(self._conditions) < _CONDITIONS_MEMO_LIMIT:
                self._conditions[raw_cond] = cond
        if cond[2] is not None:
            warnings = [*(warnings or ()), cond[2]]

        raw_check = fields[self.i_check]
        check = self._checks.get(raw_check, "")
        if check == "":
            check = check_last_check(raw_check, self.today)
            if len(self._checks) < _MEMO_LIMIT:
                self._checks[raw_check] = check
        if type(check) is _Reason:
            warnings = [*(warnings or ()), check]
            check = None

        raw_imd = fields[self.i_imd]
        imd = self._imds.get(raw_imd, "")
        if imd == "":
            imd = self._imds[raw_imd] = check_imd(raw_imd)
        if type(imd) is _Reason:
            warnings = [*(warnings or ()), imd]
            imd = None

        raw_post = fields[self.i_post]
        postcode = self._postcodes.get(raw_post, "")
        if postcode == "":
            postcode = check_postcode(raw_post)
            if len(self._postcodes) < _MEMO_LIMIT:
                self._postcodes[raw_post] = postcode
        if type(postcode) is _Reason:
            warnings = [*(warnings or ()), postcode]
            postcode = None

        lsoa = fields[self.i_lsoa].strip() or None
        if lsoa is not None and len(lsoa) > 12:
            warnings = [*(warnings or ()), f"LSOA {lsoa!r} is too long (ignored)"]
            lsoa = None

        raw_language = fields[self.i_language]
        language = self._languages.get(raw_language)
        if language is None:
            language = check_language(raw_language)
            if len(self._languages) < _MEMO_LIMIT:
                self._languages[raw_language] = language
        if language[1] is not None:
            warnings = [*(warnings or ()), language[1]]
        raw_interpreter = fields[self.i_interpreter]
        interpreter = self._interpreters.get(raw_interpreter)
        if interpreter is None:
            interpreter = check_interpreter(raw_interpreter)
            if len(self._interpreters) < _MEMO_LIMIT:
                self._interpreters[raw_interpreter] = interpreter
        if interpreter[1] is not None:
            warnings = [*(warnings or ()), interpreter[1]]

        statin = None
        codes = self.coded.get(int(nhs)) if self.coded else None
        raw_codes = fields[self.i_codes]
        if raw_codes and self.clusters is not None:
            codes = list_codes(raw_codes, self.clusters, today=self.today, line=line, into=codes)
        if codes is not None:
            found = codes.conditions()
            if found:
                found.update(n for n in cond[0].split(";") if n)
                canonical = ";".join(n for n in eligibility.CONDITIONS if n in found)
                cond = (canonical, cond[1], cond[2])
            checked_on = codes.check_completed_on
            if checked_on is not None and (check is None or checked_on.isoformat() > check):
                check = checked_on.isoformat()
            category = codes.ethnic_category
            if category is not None:
                eth = (category, ethnicity.group_of(category), None)
            spoken = codes.spoken_language
            if spoken in languages.LANGUAGES and not raw_language.strip():
                language = (spoken, None)  # a language the list gives wins
            if codes.statin_issued_on is not None:
                statin = codes.statin_issued_on.isoformat()

        mobile = phone.normalise_mobile(
            fields[self.i_mobile], allow_test_range=self.allow_test_numbers
        )
        values = (
            nhs,
            fields[self.i_given].strip()[:100] or None,
            fields[self.i_family].strip()[:100] or None,
            dob,
            sex,
            eth[0],
            eth[1],
            postcode,
            lsoa,
            imd,
            fields[self.i_edition].strip()[:10] or None,
            mobile[0],
            mobile[1],
            cond[0],
            cond[1],
            check,
            statin,
            language[0],
            interpreter[0],
        )
        return Row(values, () if warnings is None else tuple(warnings))
