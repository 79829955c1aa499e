"""What an NHS Health Check found: outcomes, the check each follows, and what they count as.

An outcome is a coded entry of the GP record after a check (a QRISK score with its
value, a systolic blood pressure, a total cholesterol, an HbA1c, or a diagnosis in one
of the exclusion clusters or non-diabetic hyperglycaemia), or what staff record when
they mark the check attended (QRISK band, blood pressure high or not, referred).

Linkage: an outcome belongs to the latest attended check on or before its date, if it
falls within `window_days` of that check (OUTCOME_WINDOW_DAYS, default 90); otherwise
to none (it is about something else). A diagnosis is new only if the record has no
code of that cluster before the check.

Stages (each counted once per member, among members whose check was attended):
- risk 10%+ / 20%+: a linked QRISK score (or a staff QRISK band) of 10 / 20 or more;
- new hypertension: a linked new HYP_COD diagnosis;
- new diabetes or NDH: a linked new DM_COD or NDH_COD diagnosis;
- referred: staff recorded a referral;
- detected: risk 10%+, new hypertension, or new diabetes or NDH (the pilot's "high
  risk" and "early detections"); detections per 100 invited = detected / invited.
Pure: the import folds entries with `app.domain.coded`, the data layer stores links.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.domain.coded import DIAGNOSIS_CLUSTERS, MEASURE_CLUSTERS, NDH

# cluster -> outcome kind, for entries whose value is the outcome
MEASURES: dict[str, str] = dict(
    zip(MEASURE_CLUSTERS, ("qrisk", "systolic_bp", "cholesterol", "hba1c"), strict=True)
)
# clusters whose first code after a check is a new diagnosis
DIAGNOSES: tuple[str, ...] = DIAGNOSIS_CLUSTERS
DIAGNOSIS = "diagnosis"

# what staff record when marking attended: the QRISK band as its lower bound, and yes / no
# (1 / 0) for blood pressure high and referred
QRISK_BANDS = {"under_10": 0.0, "10_to_19": 10.0, "20_plus": 20.0}
STAFF_KINDS = ("qrisk_band", "bp_high", "referred")

RISK_10 = 10.0
RISK_20 = 20.0
HYPERTENSION = ("HYP_COD",)
DIABETES_OR_NDH = ("DM_COD", NDH)


class OutcomeError(ValueError):
    """A staff outcome that cannot be recorded; the message is safe to show."""


@dataclass(frozen=True)
class Entry:
    """One coded entry that may be an outcome: its cluster, code, date and value."""

    cluster: str
    code: str
    on: date
    value: float | None


@dataclass(frozen=True)
class Check:
    """An attended check: its booking, the campaign member (if any) and its London date."""

    booking_id: int
    member_id: int | None
    on: date


@dataclass(frozen=True)
class Outcome:
    booking_id: int
    member_id: int | None
    kind: str
    cluster: str | None
    code: str | None
    value: float | None
    on: date


def check_followed(checks: Sequence[Check], on: date, window_days: int) -> Check | None:
    """The latest check on or before `on`, if `on` is within `window_days` of it.

    `checks` must be in date order."""
    i = bisect_right([c.on for c in checks], on)
    if i == 0:
        return None
    check = checks[i - 1]
    return check if (on - check.on).days <= window_days else None


def link(
    entries: Sequence[Entry],
    checks: Sequence[Check],
    *,
    window_days: int,
    first_coded: dict[str, date],
) -> list[Outcome]:
    """The outcomes among one patient's entries, each linked to the check it follows.

    A measure needs its value; a diagnosis counts once per cluster and check, and only
    when `first_coded` (cluster -> the earliest code in the whole record) is not before
    the check: a diagnosis the patient already had is not something the check found."""
    ordered = sorted(checks, key=lambda c: (c.on, c.booking_id))
    out: list[Outcome] = []
    seen: set[tuple[int, str]] = set()
    for e in sorted(entries, key=lambda e: (e.on, e.cluster, e.code)):
        check = check_followed(ordered, e.on, window_days)
        if check is None:
            continue
        b, m = check.booking_id, check.member_id
        kind = MEASURES.get(e.cluster)
        if kind is not None:
            if e.value is not None:
                out.append(Outcome(b, m, kind, e.cluster, e.code, e.value, e.on))
            continue
        if e.cluster not in DIAGNOSES or (check.booking_id, e.cluster) in seen:
            continue
        first = first_coded.get(e.cluster, e.on)
        if first < check.on:
            continue
        seen.add((check.booking_id, e.cluster))
        out.append(Outcome(b, m, DIAGNOSIS, e.cluster, e.code, None, e.on))
    return out


def staff_values(
    qrisk_band: str | None, bp_high: str | None, referred: str | None
) -> dict[str, float]:
    """What staff chose on the attendance form, as stored values (absent: not recorded)."""
    values: dict[str, float] = {}
    if qrisk_band:
        if qrisk_band not in QRISK_BANDS:
            raise OutcomeError("Choose a QRISK band")
        values["qrisk_band"] = QRISK_BANDS[qrisk_band]
    for kind, raw in (("bp_high", bp_high), ("referred", referred)):
        if raw:
            if raw not in ("yes", "no"):
                raise OutcomeError("Choose yes or no")
            values[kind] = 1.0 if raw == "yes" else 0.0
    return values
