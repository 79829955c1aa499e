"""The eligible cohort: who may be invited on a date, who may not and why, computed in SQL.

One rule (`_rules_on`: CASE expressions that mirror `app.domain.eligibility.decide`)
classifies every listed patient of the chosen practices: `cohort_query` gives each
patient's status and reason (the export streams it, campaign approval snapshots it) and
the preview groups the same rule into integer cells. Ages are tested as date-of-birth
bounds computed in Python (`born_on_or_before_for_age`), so the SQL is plain date
comparisons that mean the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import ColumnElement, Select, and_, case, func, null, or_, select
from sqlalchemy.orm import Session

from app.data.db import Database
from app.data.models import Patient, PhoneNumber, Practice
from app.domain import eligibility as rules
from app.domain.ethnicity import GROUPS
from app.services import audit

EXPORT_HEADER = ("nhs_number", "status", "reason")


@dataclass(frozen=True)
class _Rules:
    """The eligibility rule on one date as SQL expressions over patient and phone_number."""

    in_age: ColumnElement[bool]
    has_condition: ColumnElement[bool]
    recent_check: ColumnElement[bool]
    opted_out: ColumnElement[bool]
    unrecognised: ColumnElement[bool]
    no_mobile: ColumnElement[bool]
    band_whens: list[tuple[ColumnElement[bool], str]]  # oldest band first

    def outcome(
        self, excluded: dict[str, Any], needs_review: Any, not_textable: Any, eligible: Any
    ) -> Any:
        """A CASE giving the first exclusion reason that applies, else held for review,
        else (not) textable."""
        return case(
            (~self.in_age, excluded[rules.AGE]),
            (self.has_condition, excluded[rules.CONDITION]),
            (self.recent_check, excluded[rules.RECENT_CHECK]),
            (self.opted_out, excluded[rules.OPTED_OUT]),
            (self.unrecognised, needs_review),
            (self.no_mobile, not_textable),
            else_=eligible,
        )


def _rules_on(on: date) -> _Rules:
    p = Patient
    latest_40 = rules.born_on_or_before_for_age(on, rules.MIN_AGE)
    latest_75 = rules.born_on_or_before_for_age(on, rules.MAX_AGE + 1)
    return _Rules(
        in_age=and_(p.date_of_birth <= latest_40, p.date_of_birth > latest_75),
        has_condition=p.conditions != "",
        recent_check=and_(
            p.last_health_check.is_not(None), p.last_health_check > rules.recall_cutoff(on)
        ),
        opted_out=or_(p.opted_out_at.is_not(None), PhoneNumber.opted_out_at.is_not(None)),
        unrecognised=p.unrecognised_conditions != "",
        no_mobile=or_(p.mobile.is_(None), PhoneNumber.not_textable_at.is_not(None)),
        band_whens=[(p.date_of_birth <= floor, band) for band, floor in rules.age_band_floors(on)],
    )


def _imd_quintile() -> Any:
    decile = Patient.imd_decile
    return case(
        (decile.between(1, 2), 1),
        (decile.between(3, 4), 2),
        (decile.between(5, 6), 3),
        (decile.between(7, 8), 4),
        (decile.between(9, 10), 5),
        else_=null(),
    )


def _patients(practice_ids: Sequence[int], *columns: Any) -> Select:
    return (
        select(*columns)
        .select_from(Patient)
        .outerjoin(PhoneNumber, PhoneNumber.number == Patient.mobile)
        .where(Patient.practice_id.in_(list(practice_ids)), Patient.left_list_at.is_(None))
    )


def cohort_query(practice_ids: Sequence[int], on: date) -> Select:
    """Every patient of `practice_ids` with their cohort status on `on`, for INSERT ... SELECT.

    Columns: patient_id, practice_id, nhs_number, mobile, status (eligible |
    not_textable | needs_review | excluded), reason (age | condition | recent_check |
    opted_out, null unless excluded), unrecognised (the condition terms a needs_review
    patient is held for), contact_status (eligible or not_textable: what a held patient
    becomes once resolved), age_band (40-44 ... 70-74, null outside 40-74), sex,
    ethnic_group, ethnic_category, imd_quintile (1 = most deprived, null if unknown).
    Patients who have left the practice list are not listed at all.
    Opted out means the patient's own opt-out or their mobile number's (STOP);
    not_textable means eligible with no usable mobile or a number marked not textable.
    """
    p = Patient
    r = _rules_on(on)
    status = r.outcome(
        dict.fromkeys(rules.REASONS, rules.EXCLUDED),
        rules.NEEDS_REVIEW,
        rules.NOT_TEXTABLE,
        rules.ELIGIBLE,
    )
    reason = r.outcome({x: x for x in rules.REASONS}, null(), null(), null())
    contact = case((r.no_mobile, rules.NOT_TEXTABLE), else_=rules.ELIGIBLE)
    age_band = case((r.in_age, case(*r.band_whens, else_=null())), else_=null())
    return _patients(
        practice_ids,
        p.id.label("patient_id"),
        p.practice_id.label("practice_id"),
        p.nhs_number.label("nhs_number"),
        p.mobile.label("mobile"),
        status.label("status"),
        reason.label("reason"),
        p.unrecognised_conditions.label("unrecognised"),
        contact.label("contact_status"),
        age_band.label("age_band"),
        p.sex.label("sex"),
        p.ethnic_group.label("ethnic_group"),
        p.ethnic_category.label("ethnic_category"),
        _imd_quintile().label("imd_quintile"),
    )


@dataclass
class Split:
    """Eligible people in one group: those we can text and those SMS misses."""

    textable: int = 0
    not_textable: int = 0

    @property
    def total(self) -> int:
        return self.textable + self.not_textable


@dataclass
class CohortPreview:
    on: date
    listed: int = 0
    eligible: int = 0  # eligible and textable
    not_textable: int = 0  # eligible, no usable mobile
    needs_review: int = 0  # not excluded, but a condition the vocabulary does not know
    review_terms: dict[str, int] = field(default_factory=dict)  # term -> patients held
    excluded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(rules.REASONS, 0))
    by_age_band: dict[str, Split] = field(
        default_factory=lambda: {b: Split() for b in rules.AGE_BANDS}
    )
    by_sex: dict[str, Split] = field(default_factory=lambda: {s: Split() for s in rules.SEXES})
    by_ethnic_group: dict[str, Split] = field(default_factory=lambda: {g: Split() for g in GROUPS})
    by_imd_quintile: dict[str, Split] = field(default_factory=lambda: _quintile_splits())

    @property
    def eligible_total(self) -> int:
        return self.eligible + self.not_textable


def _quintile_splits() -> dict[str, Split]:
    return {**{str(q): Split() for q in rules.IMD_QUINTILES}, "unknown": Split()}


# The preview's cells: an outcome (eligible, not textable or an exclusion reason) and,
# for the eligible, age band, sex, ethnic group and IMD quintile, packed into one small
# integer by `_cells` in SQL and unpacked by `_uncell` here.
_OUTCOMES = (rules.ELIGIBLE, rules.NOT_TEXTABLE, rules.NEEDS_REVIEW, *rules.REASONS)
_QUINTILE_KEYS = ("unknown", *(str(q) for q in rules.IMD_QUINTILES))


def _index_of(column: Any, values: Sequence[str], default: int) -> Any:
    return case({v: i for i, v in enumerate(values)}, value=column, else_=default)


def _cells(practice_ids: Sequence[int], on: date) -> Select:
    """(cell, count) for the patients of `practice_ids` on `on`, grouped in SQL.

    cell = outcome * 10000 + band * 1000 + sex * 100 + ethnic group * 10 + quintile,
    where excluded rows keep only their reason (four cells): one CASE, so the rule is
    evaluated once a row and the breakdown only for the eligible. Why one integer:
    SQLite has no hash aggregate, so GROUP BY sorts every patient row, and sorting a
    million rows on one integer is about three times faster than on six text columns
    (1.0 s against 2.7 s on a 2-core machine).
    """
    p = Patient
    r = _rules_on(on)
    band = case(*((when, rules.AGE_BANDS.index(b)) for when, b in r.band_whens), else_=0)
    sex = _index_of(p.sex, rules.SEXES, rules.SEXES.index("0"))
    group = _index_of(p.ethnic_group, GROUPS, GROUPS.index("not_stated"))
    quintile = func.coalesce(_imd_quintile(), 0)
    dims = band * 1000 + sex * 100 + group * 10 + quintile
    cell = r.outcome(
        {x: _OUTCOMES.index(x) * 10000 for x in rules.REASONS},
        _OUTCOMES.index(rules.NEEDS_REVIEW) * 10000,
        _OUTCOMES.index(rules.NOT_TEXTABLE) * 10000 + dims,
        _OUTCOMES.index(rules.ELIGIBLE) * 10000 + dims,
    ).label("cell")
    return _patients(practice_ids, cell, func.count()).group_by(cell)


def _uncell(cell: int) -> tuple[str, str, str, str, str]:
    """(outcome, age band, sex, ethnic group, quintile key) of a cell from `_cells`."""
    outcome, rest = divmod(cell, 10000)
    band, rest = divmod(rest, 1000)
    sex, rest = divmod(rest, 100)
    group, quintile = divmod(rest, 10)
    return (
        _OUTCOMES[outcome],
        rules.AGE_BANDS[band],
        rules.SEXES[sex],
        GROUPS[group],
        _QUINTILE_KEYS[quintile],
    )


def preview(session: Session, practice_ids: Sequence[int], on: date) -> CohortPreview:
    """Counts for the cohort on `on`: one GROUP BY in the database, summed here.

    The cells are at most 4 reasons plus 2 x bands x sexes x groups x quintiles (about
    2,000 rows, a few hundred in practice), whatever the list size.
    """
    rows = session.execute(_cells(practice_ids, on))
    result = CohortPreview(on=on)
    for code, n in rows:
        outcome, band, sex, group, quintile = _uncell(code)
        result.listed += n
        if outcome in rules.REASONS:
            result.excluded[outcome] += n
            continue
        if outcome == rules.NEEDS_REVIEW:
            result.needs_review += n
            continue
        textable = outcome == rules.ELIGIBLE
        if textable:
            result.eligible += n
        else:
            result.not_textable += n
        for table, key in (
            (result.by_age_band, band),
            (result.by_sex, sex),
            (result.by_ethnic_group, group),
            (result.by_imd_quintile, quintile),
        ):
            split = table[key]
            if textable:
                split.textable += n
            else:
                split.not_textable += n
    if result.needs_review:
        result.review_terms = _review_terms(session, practice_ids, on)
    return result


def _review_terms(session: Session, practice_ids: Sequence[int], on: date) -> dict[str, int]:
    """Each unrecognised term held patients have, with how many have it, most first."""
    r = _rules_on(on)
    held = r.outcome(dict.fromkeys(rules.REASONS, 0), 1, 0, 0) == 1
    stored = Patient.unrecognised_conditions
    rows = session.execute(
        _patients(practice_ids, stored, func.count()).where(held).group_by(stored)
    )
    terms: dict[str, int] = {}
    for text, n in rows:
        for term in rules.split_unrecognised(text):
            terms[term] = terms.get(term, 0) + n
    return dict(sorted(terms.items(), key=lambda item: (-item[1], item[0])))


def practice_ids_for(session: Session, ods_codes: Sequence[str]) -> list[int]:
    """Ids of the practices with these ODS codes; raises LookupError naming any unknown."""
    codes = [c.strip().upper() for c in ods_codes]
    known = select(Practice.ods_code, Practice.id).where(Practice.ods_code.in_(codes))
    rows = session.execute(known)
    found: dict[str, int] = {ods: pid for ods, pid in rows}
    missing = [c for c in codes if c not in found]
    if missing:
        raise LookupError(f"no practice with ODS code {', '.join(missing)}")
    return [found[c] for c in codes]


def preview_for(db: Database, ods_codes: Sequence[str], on: date) -> CohortPreview:
    """The preview for practices named by ODS code (a read-only unit of work)."""
    with db.transaction() as session:
        return preview(session, practice_ids_for(session, ods_codes), on)


def export_rows(
    session: Session, practice_ids: Sequence[int], on: date, *, batch: int = 5_000
) -> Iterator[tuple[str, str, str]]:
    """(nhs_number, status, reason) for each patient, streamed in NHS number order; the
    reason of a patient held for review is the unrecognised condition terms."""
    cohort = cohort_query(practice_ids, on).subquery()
    stmt = select(
        cohort.c.nhs_number, cohort.c.status, cohort.c.reason, cohort.c.unrecognised
    ).order_by(cohort.c.nhs_number)
    result = session.execute(stmt, execution_options={"yield_per": batch})
    for nhs, status, reason, unrecognised in result:
        if status == rules.NEEDS_REVIEW:
            reason = unrecognised
        yield nhs, status, reason or ""


def export_csv(
    db: Database,
    ods_codes: Sequence[str],
    on: date,
    out: IO[str],
    *,
    now: datetime,
    actor: str = "system",
) -> int:
    """Write `nhs_number,status,reason` for every listed patient; returns the row count.

    An export of patient identifiers is audited (who, when, which practices, how many).
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    count = 0
    with db.transaction() as session:
        ids = practice_ids_for(session, ods_codes)
        for row in export_rows(session, ids, on):
            writer.writerow(row)
            count += 1
        audit.record(
            session,
            now=now,
            actor=actor,
            action="cohort.exported",
            target=",".join(f"practice:{i}" for i in ids),
            detail={"on": on.isoformat(), "rows": count},
        )
    return count


__all__ = [
    "CohortPreview",
    "Split",
    "cohort_query",
    "export_csv",
    "export_rows",
    "practice_ids_for",
    "preview",
    "preview_for",
]
