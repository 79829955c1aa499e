"""Synthetic GP lists: realistic-looking east London patients, none of them real.

Figures the mix is based on (rounded; enough to make the cohort and the equity reports
look like a real borough's, not to reproduce one):
- Ethnicity: London Borough of Barking and Dagenham, ONS Census 2021 (TS021): White
  44.9% (British 30.9, Irish 0.5, other White 13.5), Asian 25.9% (Bangladeshi 7.4,
  Pakistani 6.9, Indian 5.9, Chinese 0.7, other Asian 5.0), Black 21.4% (African 15.4,
  Caribbean 2.6, other Black 3.4), Mixed 4.3%, Other 3.5%. A GP record has no
  ethnicity for about 8% of patients (Z or 99), so those are drawn first.
- Age: Barking and Dagenham is one of England's youngest boroughs (Census 2021 median
  age 33): 0-17 27%, 18-39 33%, 40-74 35%, 75+ 5%; 51% female.
- Deprivation: most of the borough's LSOAs fall in the 1st-4th IMD deciles (English
  Indices of Deprivation 2019); deciles drawn 10/28/27/16/9/5/3/1/1/0 percent.
- Exclusion conditions among people aged 40-74: about a quarter have one (QOF 2023-24
  prevalence, hypertension ~14%, diabetes ~9%, CHD, CKD, AF, statins), rising with age.
- A previous NHS Health Check in the last five years: ~15% of 40-74s.
- Mobiles: ~8% no mobile recorded, ~3% a landline in the Mobile column, ~0.5% junk.
  By default mobiles come from Ofcom's drama range 07700 900000-900999 (so with more
  than 1,000 patients some share a phone, as families do); `unique_mobiles` instead
  gives every patient a different number shaped like a real UK mobile (07400 ...),
  for benchmarks only, which run with the outbox provider and never text anyone.
- NHS numbers are from the 999 test range with valid check digits (never issued).
Formats are deliberately mixed (three date formats, many phone spellings, sex as M/F,
1/2 or words, ethnicity as code or label, header spellings varying by seed) so an
import of a synthetic list exercises the importer the way a real export would.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from datetime import date, timedelta
from typing import IO

from app.domain import nhs_number

HEADER_VARIANTS: tuple[tuple[str, ...], ...] = (
    (
        "NHS Number", "Forename", "Surname", "Date of Birth", "Sex", "Ethnicity",
        "Postcode", "Mobile", "LSOA", "IMD Decile", "IMD Edition", "Conditions",
        "Last NHS Health Check",
    ),
    (
        "nhs_number", "first_name", "last_name", "dob", "gender", "ethnic_category",
        "postcode", "mobile_number", "lsoa", "imd_decile", "imd_edition", "conditions",
        "last_health_check",
    ),
    (
        "NHS No", "Given Name", "Family Name", "DOB", "Gender", "Ethnic Origin",
        "Post Code", "Mobile Telephone", "LSOA", "IMD Decile", "IMD Edition", "Conditions",
        "Last Health Check",
    ),
)  # fmt: skip

# (code, weight): Census 2021 shares, with ~8% not recorded first
_ETHNICITY = (
    ("A", 28.4), ("B", 0.5), ("C", 12.4), ("D", 1.3), ("E", 0.9), ("F", 0.7), ("G", 1.0),
    ("H", 5.4), ("J", 6.3), ("K", 6.8), ("L", 4.6), ("M", 2.4), ("N", 14.2), ("P", 3.1),
    ("R", 0.6), ("S", 3.2), ("Z", 5.0), ("99", 3.0),
)  # fmt: skip
_ETHNIC_LABELS = {
    "A": "White - British", "B": "White - Irish", "C": "White - Any other White background",
    "H": "Asian or Asian British - Indian", "J": "Asian or Asian British - Pakistani",
    "K": "Asian or Asian British - Bangladeshi", "N": "Black or Black British - African",
    "M": "Black or Black British - Caribbean", "R": "Other Ethnic Groups - Chinese",
    "Z": "Not stated",
}  # fmt: skip
# (low age, high age, weight)
_AGES = ((0, 17, 27), (18, 39, 33), (40, 49, 13), (50, 59, 11), (60, 74, 11), (75, 99, 5))
_IMD = (10, 28, 27, 16, 9, 5, 3, 1, 1, 0)
_CONDITIONS = (
    ("Hypertension", 14), ("Diabetes", 9), ("CHD", 3), ("CKD", 2), ("AF", 2),
    ("statins", 6), ("Stroke", 1), ("Heart Failure", 1), ("PAD", 1), ("TIA", 1),
    ("FH", 0.5), ("QRISK>=20", 2), ("Asthma", 0.5),  # asthma: recognised, not an exclusion
)  # fmt: skip
# forenames by the sex the row records, so a personalised "Hi Grace" goes to a woman
_FORENAMES_FEMALE = (
    "Amelia", "Aisha", "Chloe", "Fatima", "Grace", "Nusrat", "Ama", "Agnieszka", "Elena",
    "Sophie", "Sadia", "Blessing", "Lily", "Mei", "Priya", "Zainab", "Olivia", "Shanice",
)  # fmt: skip
_FORENAMES_MALE = (
    "Oliver", "Mohammed", "Adebayo", "Ravi", "Jack", "Abdul", "Kwame", "Piotr", "Ionut",
    "George", "Imran", "Emmanuel", "Harry", "Wei", "Daniel", "Tunde", "Ali", "Samuel",
)  # fmt: skip
_SURNAMES = (
    "Smith", "Jones", "Ahmed", "Begum", "Khan", "Okafor", "Adeyemi", "Patel", "Hussain",
    "Brown", "Taylor", "Kowalski", "Popescu", "Mensah", "Uddin", "Islam", "Williams",
    "Wilson", "Owusu", "Nowak", "Ali", "Miah", "Clarke", "Walker", "Chen", "Singh",
)  # fmt: skip
_POSTCODE_AREAS = ("RM8", "RM9", "RM10", "IG11", "RM6", "IG3")


def write_gp_list(
    out: IO[str],
    rows: int,
    *,
    seed: int = 0,
    unique_mobiles: bool = False,
    on: date = date(2026, 1, 14),
    first_serial: int | None = None,
    failing_numbers: Sequence[str] = (),
) -> int:
    """Write `rows` synthetic patients as an import-format CSV; returns rows written.

    `failing_numbers` (national form, e.g. "07700 900002") go to the first patients sure
    to be invited (aged 45-70, no condition, no recent check, a mobile) and to no one
    else, so a demo's delivery report shows the outbox provider's designated failures.

    Streams row by row (constant memory). The same seed gives the same file. `on` is the
    date ages and health-check dates are drawn relative to. NHS numbers run on from
    `first_serial` (default: derived from the seed) and wrap after ~909,000.
    """
    rng = random.Random(seed)
    writer = csv.writer(out, lineterminator="\r\n" if seed % 2 else "\n")
    writer.writerow(HEADER_VARIANTS[seed % len(HEADER_VARIANTS)])
    numbers = nhs_number.synthetic_numbers(
        start=first_serial if first_serial is not None else (seed * 104_729) % 1_000_000
    )
    codes, code_weights = _split(_ETHNICITY)
    bands = [(lo, hi) for lo, hi, _ in _AGES]
    band_weights = [w for _, _, w in _AGES]
    cond_names, cond_weights = _split(_CONDITIONS)
    pending = list(failing_numbers)
    reserved = {n.replace(" ", "")[-6:] for n in failing_numbers}
    for i in range(rows):
        lo, hi = rng.choices(bands, band_weights)[0]
        age_days = rng.randint(lo * 365 + 1, hi * 365 + 364)
        dob = on - timedelta(days=age_days)
        age = (on - dob).days // 365
        female = rng.random() < 0.51
        code = rng.choices(codes, code_weights)[0]
        conditions = ""
        last_check = ""
        if age >= 40:
            # exclusions get commoner with age: ~12% at 40-49, ~40% at 60-74
            if rng.random() < 0.12 + (min(age, 74) - 40) * 0.009:
                first = rng.choices(cond_names, cond_weights)[0]
                picked = {first}
                if rng.random() < 0.3:
                    picked.add(rng.choices(cond_names, cond_weights)[0])
                conditions = _spell_conditions(rng, sorted(picked))
            if rng.random() < 0.15:
                last_check = _spell_date(rng, on - timedelta(days=rng.randint(30, 5 * 365 - 1)))
            elif rng.random() < 0.1:
                last_check = _spell_date(rng, on - timedelta(days=rng.randint(5 * 365 + 2, 9000)))
        nhs = _spell_nhs(rng, next(numbers))
        forename = rng.choice(_FORENAMES_FEMALE if female else _FORENAMES_MALE)
        surname = rng.choice(_SURNAMES)
        born = _spell_date(rng, dob)
        sex = _spell_sex(rng, female)
        ethnicity = _spell_ethnicity(rng, code)
        postcode = (
            f"{rng.choice(_POSTCODE_AREAS)} {rng.randint(1, 9)}"
            f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        )
        mobile = _mobile(rng, i, unique_mobiles)
        if reserved and "".join(c for c in mobile if c.isdigit())[-6:] in reserved:
            mobile = ""  # only the chosen patients have a designated failing number
        if pending and mobile and 45 <= age <= 70 and not conditions and not last_check:
            mobile = pending.pop(0)
        writer.writerow(
            (
                nhs,
                forename,
                surname,
                born,
                sex,
                ethnicity,
                postcode,
                mobile,
                f"E0100{rng.randint(27, 136):04d}",
                rng.choices(range(1, 11), _IMD)[0] if rng.random() < 0.97 else "",
                "IoD2019",
                conditions,
                last_check,
            )
        )
    return rows


def _split(pairs: Sequence[tuple[str, float]]) -> tuple[list[str], list[float]]:
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _spell_nhs(rng: random.Random, number: str) -> str:
    if rng.random() < 0.1:
        return f"{number[:3]} {number[3:6]} {number[6:]}"
    return number


def _spell_date(rng: random.Random, day: date) -> str:
    r = rng.random()
    if r < 0.7:
        return day.isoformat()
    if r < 0.9:
        return day.strftime("%d/%m/%Y")
    return day.strftime("%d-%b-%Y")


def _spell_sex(rng: random.Random, female: bool) -> str:
    r = rng.random()
    if r < 0.005:
        return "U"
    spellings = ("F", "2", "Female") if female else ("M", "1", "Male")
    return spellings[0] if r < 0.6 else spellings[1] if r < 0.9 else spellings[2]


def _spell_ethnicity(rng: random.Random, code: str) -> str:
    label = _ETHNIC_LABELS.get(code)
    if label is not None and rng.random() < 0.3:
        return label
    return code


def _spell_conditions(rng: random.Random, names: list[str]) -> str:
    spelled = [n.lower() if rng.random() < 0.5 else n for n in names]
    return "; ".join(spelled) if rng.random() < 0.5 else ";".join(spelled)


def _mobile(rng: random.Random, i: int, unique: bool) -> str:
    r = rng.random()
    if r < 0.08:
        return ""
    if r < 0.11:
        return f"020 8{rng.randint(500, 599)} {rng.randint(1000, 9999)}"  # a landline
    if r < 0.115:
        return rng.choice(("07700 9001", "n/a", "0770090012345"))  # junk
    if unique:
        # 07400 000000 + i: shaped like a real UK mobile, unique per row (benchmarks)
        national = f"74{i // 10_000_000 % 10}{i % 10_000_000:07d}"
    else:
        # 07700 900000 is left out: the demo config uses it as the service's own number
        national = f"7700900{rng.randint(1, 999):03d}"
    return _spell_mobile(rng, national)


def _spell_mobile(rng: random.Random, national: str) -> str:
    r = rng.random()
    if r < 0.45:
        return f"0{national[:4]} {national[4:]}"
    if r < 0.6:
        return f"+44 {national[:4]} {national[4:]}"
    if r < 0.7:
        return f"(0{national[:4]}) {national[4:7]}-{national[7:]}"
    if r < 0.8:
        return f"44{national}"
    if r < 0.9:
        return f"+44{national}"
    return f"0{national}"
