"""CSV header matching: the names GP systems give each column, matched forgivingly.

Headers match case-insensitively, ignoring spaces, underscores and punctuation, so
"NHS Number", "nhs_number" and "NHS-Number" are the same column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# field -> accepted header names (the README's CSV format; add aliases here, nowhere else)
PATIENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "nhs_number": ("NHS Number", "NHSNumber", "NHS No", "NHS Num"),
    "given_name": ("Forename", "First Name", "Given Name", "Forenames"),
    "family_name": ("Surname", "Last Name", "Family Name"),
    "date_of_birth": ("Date of Birth", "DOB", "Birth Date"),
    "sex": ("Sex", "Gender"),
    "ethnicity": ("Ethnicity", "Ethnic Category", "Ethnic Origin", "Ethnic Group"),
    "postcode": ("Postcode", "Post Code"),
    "mobile": ("Mobile", "Mobile Number", "Mobile Telephone", "Mobile Phone", "Mobile Tel"),
    "lsoa": ("LSOA", "LSOA Code", "LSOA21"),
    "imd_decile": ("IMD Decile", "IMD"),
    "imd_edition": ("IMD Edition", "IMD Year", "IoD Edition"),
    "conditions": ("Conditions", "Exclusion Conditions"),
    "last_health_check": ("Last NHS Health Check", "Last Health Check"),
    "language": (
        "Language",
        "Main Language",
        "Main Spoken Language",
        "Preferred Language",
        "Language Code",
    ),
    "interpreter_needed": ("Interpreter Needed", "Interpreter", "Interpreter Required"),
    "snomed_codes": ("SNOMED Codes", "SNOMED CT Codes", "Codes", "Concept IDs"),
}
PATIENT_REQUIRED = ("nhs_number", "date_of_birth")
# a coded-events file: one row per coded entry of a patient's GP record
EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "nhs_number": PATIENT_COLUMNS["nhs_number"],
    "code": ("SNOMED Code", "SNOMED CT Code", "Code", "Concept ID", "SNOMED Concept ID"),
    "date": ("Date", "Effective Date", "Event Date", "Code Date"),
    "value": ("Value", "Result", "Numeric Value"),
}
EVENT_REQUIRED = ("nhs_number", "code", "date")


def header_key(name: str) -> str:
    """The matching key: lower case, letters and digits only ("NHS_No." -> "nhsno")."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


@dataclass(frozen=True)
class HeaderMatch:
    columns: dict[str, int]  # field -> column index
    ignored: tuple[str, ...]  # headers matching no field (or a field already matched)
    missing: tuple[str, ...]  # required fields with no column, as display names


def match_headers(
    headers: Sequence[str],
    aliases: Mapping[str, Sequence[str]] = PATIENT_COLUMNS,
    required: Sequence[str] = PATIENT_REQUIRED,
) -> HeaderMatch:
    """Which column holds each field; the first matching column wins, later ones are ignored."""
    lookup = {header_key(alias): field for field, names in aliases.items() for alias in names}
    columns: dict[str, int] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        field = lookup.get(header_key(header))
        if field is None or field in columns:
            ignored.append(header)
        else:
            columns[field] = index
    missing = tuple(aliases[f][0] for f in required if f not in columns)
    return HeaderMatch(columns, tuple(ignored), missing)
