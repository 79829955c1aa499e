"""Who is eligible for an NHS Health Check invitation on a date, and why not.

Source: NHS Health Check programme (OHID, "NHS Health Check: best practice guidance";
the Health Check regulations, Local Authorities (Public Health Functions and Entry to
Premises by Local Healthwatch Representatives) Regulations 2013, reg. 4): offered every
five years to people aged 40-74 who have none of the listed vascular conditions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from app.domain import coded
from app.domain.dates import years_before

MIN_AGE = 40
MAX_AGE = 74  # inclusive: eligible until the day before the 75th birthday
RECALL_YEARS = 5

# Exclusion conditions: canonical name -> the names accepted in a Conditions column
# (case-insensitive, hyphens and full stops read as spaces). The one place aliases live:
# the programme's own list, the NHS website's words for it ("heart disease", "high blood
# pressure", "inherited high cholesterol") and the terms GP systems write. Includes the
# 20% 10-year CVD risk exclusion that some analytics models forget.
_CKD_REGISTER_STAGES = ("3", "3a", "3b", "4", "5")  # QOF's CKD register is stages 3-5
_CKD_EARLY_STAGES = ("1", "2")  # explicit stages 1-2 are not on it and do not exclude


def _ckd_stage_names(stages: tuple[str, ...]) -> tuple[str, ...]:
    """The ways GP systems write a CKD stage: `CKD stage 3a`, `CKD G3a`, `stage 3 CKD` ..."""
    names: list[str] = []
    for stage in stages:
        for ckd in ("ckd", "chronic kidney disease"):
            names += [f"{ckd} stage {stage}", f"{ckd} {stage}", f"{ckd} g{stage}"]
            names += [f"{ckd} stage g{stage}", f"stage {stage} {ckd}", f"{ckd}{stage}"]
    return tuple(names)


CONDITIONS: dict[str, tuple[str, ...]] = {
    "chd": (
        "chd", "coronary heart disease", "heart disease", "coronary artery disease", "cad",
        "ihd", "ischaemic heart disease", "ischemic heart disease", "mi",
        "myocardial infarction", "heart attack", "angina", "stable angina",
        "angina pectoris", "acute coronary syndrome",
    ),
    "ckd": ("ckd", "chronic kidney disease", *_ckd_stage_names(_CKD_REGISTER_STAGES)),
    "diabetes": (
        "diabetes", "dm", "diabetes mellitus", "type 1 diabetes", "type 2 diabetes",
        "type i diabetes", "type ii diabetes", "type 1 diabetes mellitus",
        "type 2 diabetes mellitus", "diabetes type 1", "diabetes type 2", "t1dm", "t2dm",
        "t1d", "t2d", "iddm", "niddm",
    ),
    "hypertension": (
        "hypertension", "htn", "high blood pressure", "hbp", "essential hypertension",
    ),
    "af": (
        "af", "atrial fibrillation", "paroxysmal atrial fibrillation", "paroxysmal af",
        "paf", "persistent atrial fibrillation", "permanent atrial fibrillation",
    ),
    "tia": (
        "tia", "transient ischaemic attack", "transient ischemic attack", "mini stroke",
    ),
    "stroke": (
        "stroke", "cva", "cerebrovascular accident", "ischaemic stroke", "ischemic stroke",
        "haemorrhagic stroke", "hemorrhagic stroke",
    ),
    "fh": (
        "fh", "familial hypercholesterolaemia", "familial hypercholesterolemia",
        "inherited high cholesterol", "heterozygous familial hypercholesterolaemia",
    ),
    "heart_failure": (
        "heart failure", "hf", "chf", "congestive heart failure", "cardiac failure",
        "lvsd", "left ventricular systolic dysfunction",
    ),
    "pad": (
        "pad", "peripheral arterial disease", "peripheral artery disease", "pvd",
        "peripheral vascular disease",
    ),
    "statins": (
        "statins", "statin", "on statins", "statin therapy", "atorvastatin",
        "simvastatin", "rosuvastatin", "pravastatin", "fluvastatin",
    ),
    "cvd_risk_20": (
        "cvd risk 20", "qrisk>=20", "qrisk >= 20", "cvd risk >= 20", "qrisk 20",
        "cvd risk 20%", "qrisk>=20%", "qrisk >= 20%", "cvd risk >= 20%",
    ),
}  # fmt: skip

# Conditions that do not exclude anyone from a Health Check: recognised, so they neither
# warn nor hold a patient for review. Only a term in neither list holds the patient.
NOT_EXCLUDING: tuple[str, ...] = (
    *_ckd_stage_names(_CKD_EARLY_STAGES),
    "asthma", "copd", "chronic obstructive pulmonary disease", "emphysema",
    "chronic bronchitis", "eczema", "atopic eczema", "dermatitis", "psoriasis", "acne",
    "rosacea", "gout", "osteoarthritis", "oa", "rheumatoid arthritis", "arthritis",
    "back pain", "low back pain", "fibromyalgia", "osteoporosis", "depression",
    "anxiety", "anxiety and depression", "mixed anxiety and depression", "insomnia",
    "hypothyroidism", "underactive thyroid", "hyperthyroidism", "overactive thyroid",
    "migraine", "headache", "epilepsy", "hay fever", "allergic rhinitis", "rhinitis",
    "ibs", "irritable bowel syndrome", "gord", "gerd", "reflux", "acid reflux",
    "heartburn", "anaemia", "anemia", "obesity", "overweight", "glaucoma", "cataract",
    "cataracts", "hearing loss", "tinnitus", "sleep apnoea", "sleep apnea",
    "obstructive sleep apnoea", "varicose veins", "haemorrhoids", "hemorrhoids",
)  # fmt: skip

# hyphens and full stops are spacing ("mini-stroke", "CKD stage 3.", "T2 DM")
_SPACING = str.maketrans({"-": " ", ".": " ", "_": " "})


def _key(term: str) -> str:
    return " ".join(term.lower().translate(_SPACING).split())


_ALIAS_TO_CANONICAL = {
    _key(alias): name for name, aliases in CONDITIONS.items() for alias in aliases
}
_NOT_EXCLUDING = frozenset(_key(term) for term in NOT_EXCLUDING)
assert not _NOT_EXCLUDING & set(_ALIAS_TO_CANONICAL), "a term cannot both exclude and not"

# Reasons, in the order they are tested: a patient gets the first that applies.
AGE = "age"
CONDITION = "condition"
RECENT_CHECK = "recent_check"
OPTED_OUT = "opted_out"
REASONS = (AGE, CONDITION, RECENT_CHECK, OPTED_OUT)

ELIGIBLE = "eligible"
NOT_TEXTABLE = "not_textable"
# no exclusion applies, but a condition the vocabulary does not know: not invited until
# staff resolve it (the GP record is coded, or the term is added to the vocabulary)
NEEDS_REVIEW = "needs_review"
EXCLUDED = "excluded"
STATUSES = (ELIGIBLE, NOT_TEXTABLE, NEEDS_REVIEW, EXCLUDED)

AGE_BANDS = ("40-44", "45-49", "50-54", "55-59", "60-64", "65-69", "70-74")
IMD_QUINTILES = (1, 2, 3, 4, 5)
SEXES = ("1", "2", "9", "0")
SEX_LABELS = {"1": "Male", "2": "Female", "9": "Indeterminate", "0": "Not known"}


@dataclass(frozen=True)
class ParsedConditions:
    canonical: str  # ';'-joined canonical names in CONDITIONS order, '' when none
    unknown: tuple[str, ...]  # terms neither excluding nor known not to, as written


def parse_conditions(text: str | None) -> ParsedConditions:
    """Canonical exclusion names from a ';'-separated list; conditions known not to exclude
    are dropped; anything else comes back apart as `unknown` (held for review)."""
    if text is None or not text.strip():
        return ParsedConditions("", ())
    found: set[str] = set()
    unknown: list[str] = []
    for part in text.split(";"):
        key = _key(part)
        if not key or key in _NOT_EXCLUDING:
            continue
        name = _ALIAS_TO_CANONICAL.get(key)
        if name is None:
            if part.strip() not in unknown:
                unknown.append(part.strip())
        else:
            found.add(name)
    return ParsedConditions(";".join(n for n in CONDITIONS if n in found), tuple(unknown))


UNRECOGNISED_SEPARATOR = "; "


def join_unrecognised(terms: Iterable[str], *, limit: int = 400) -> str:
    """Unrecognised terms as stored on the patient: '; '-joined, cut to `limit` characters
    (a cut term still holds the patient: it is non-empty)."""
    return UNRECOGNISED_SEPARATOR.join(terms)[:limit]


def split_unrecognised(stored: str | None) -> list[str]:
    """The terms of a stored `join_unrecognised` value."""
    return [t.strip() for t in (stored or "").split(";") if t.strip()]


def age_on(date_of_birth: date, on: date) -> int:
    """Age in completed years on `on`.

    Someone born on 29 February completes a year on 1 March in common years (their
    birthday has not come by 28 February), the usual reading in England and Wales.
    """
    had_birthday = (on.month, on.day) >= (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - (0 if had_birthday else 1)


def born_on_or_before_for_age(on: date, age: int) -> date:
    """The latest date of birth of someone aged at least `age` on `on`.

    age_on(dob, on) >= age exactly when dob <= this date; the cohort query uses it to
    test ages in SQL with plain date comparisons (index-friendly, the same on SQLite and
    PostgreSQL).
    """
    return years_before(on, age)


def age_band(age: int) -> str | None:
    """The five-year band (40-44 ... 70-74) for an eligible age, else None."""
    if not MIN_AGE <= age <= MAX_AGE:
        return None
    low = MIN_AGE + (age - MIN_AGE) // 5 * 5
    return f"{low}-{low + 4}"


def age_band_floors(on: date) -> list[tuple[str, date]]:
    """(band, latest date of birth in that band) from the oldest band down, for SQL CASE."""
    return [(band, born_on_or_before_for_age(on, int(band[:2]))) for band in reversed(AGE_BANDS)]


def recall_cutoff(on: date) -> date:
    """A check after this date is "recent": within the five years before `on`.

    A check exactly five years ago is due again (offered "every five years").
    """
    return years_before(on, RECALL_YEARS)


def imd_quintile(decile: int | None) -> int | None:
    """IMD quintile from decile: 1 = deciles 1-2 (most deprived) ... 5 = deciles 9-10."""
    if decile is None or not 1 <= decile <= 10:
        return None
    return (decile + 1) // 2


def sex_code(value: str | None) -> str | None:
    """NHS person stated gender code for what a GP export writes; None if unrecognised.

    M/Male/1 -> 1, F/Female/2 -> 2, 9 -> 9 (indeterminate), 0/U/unknown/blank -> 0.
    """
    if value is None:
        return "0"
    key = value.strip().lower()
    return _SEX.get(key)


_SEX = {
    "": "0",
    "1": "1",
    "m": "1",
    "male": "1",
    "2": "2",
    "f": "2",
    "female": "2",
    "9": "9",
    "i": "9",
    "indeterminate": "9",
    "0": "0",
    "u": "0",
    "unknown": "0",
    "not known": "0",
}


@dataclass(frozen=True)
class Decision:
    status: str  # eligible | not_textable | excluded
    reason: str | None  # age | condition | recent_check | opted_out when excluded


def decide(
    *,
    date_of_birth: date,
    on: date,
    conditions: str | Iterable[str],
    last_health_check: date | None,
    opted_out_at: datetime | None,
    number_opted_out: bool = False,
    mobile: str | None,
    number_not_textable: bool = False,
    unrecognised: str | Iterable[str] = "",
    statin_issued_on: date | None = None,
) -> Decision:
    """The eligibility rule for one patient on date `on` (the cohort query's SQL twin).

    Excluded for the first of: age outside 40-74 in completed years; any exclusion
    condition, or a statin issued in the six months before `on` (coded.statin_current);
    an NHS Health Check in the five years before `on`; opted out (the
    patient, or their mobile number by STOP). Someone not excluded who has a condition
    the vocabulary does not know (`unrecognised`) "needs_review": never invited on a
    guess, whether or not they have a mobile. Eligible patients without a usable mobile
    (none, a landline, or a number known not to take texts) are "not_textable": counted,
    because they are the people SMS misses.
    """
    age = age_on(date_of_birth, on)
    if not MIN_AGE <= age <= MAX_AGE:
        return Decision(EXCLUDED, AGE)
    has_condition = bool(conditions) if isinstance(conditions, str) else any(conditions)
    if has_condition or coded.statin_current(statin_issued_on, on):
        return Decision(EXCLUDED, CONDITION)
    if last_health_check is not None and last_health_check > recall_cutoff(on):
        return Decision(EXCLUDED, RECENT_CHECK)
    if opted_out_at is not None or number_opted_out:
        return Decision(EXCLUDED, OPTED_OUT)
    if unrecognised if isinstance(unrecognised, str) else any(unrecognised):
        return Decision(NEEDS_REVIEW, None)
    if mobile is None or number_not_textable:
        return Decision(NOT_TEXTABLE, None)
    return Decision(ELIGIBLE, None)
