"""The eligible cohort: who may be invited on a date, who may not and why.

The rule runs in SQL (`app.data.cohort`, the twin of `app.domain.eligibility.decide`);
this module turns it into the preview's counts and breakdowns, and the audited export.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO

from sqlalchemy.orm import Session

from app.data.cohort import (
    cells,
    cohort_query,
    export_query,
    held_terms,
    practice_ids_for,
    uncell,
)
from app.data.db import Database
from app.domain import eligibility as rules
from app.domain.ethnicity import GROUPS
from app.services import audit

EXPORT_HEADER = ("nhs_number", "status", "reason")


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


def preview(session: Session, practice_ids: Sequence[int], on: date) -> CohortPreview:
    """Counts for the cohort on `on`: one GROUP BY in the database, summed here.

    The cells are at most 4 reasons plus 2 x bands x sexes x groups x quintiles (about
    2,000 rows, a few hundred in practice), whatever the list size.
    """
    rows = session.execute(cells(practice_ids, on))
    result = CohortPreview(on=on)
    for code, n in rows:
        outcome, band, sex, group, quintile = uncell(code)
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
        result.review_terms = _review_terms(held_terms(session, practice_ids, on))
    return result


def _review_terms(held: list[tuple[str, int]]) -> dict[str, int]:
    """Each unrecognised term held patients have, with how many have it, most first."""
    terms: dict[str, int] = {}
    for text, n in held:
        for term in rules.split_unrecognised(text):
            terms[term] = terms.get(term, 0) + n
    return dict(sorted(terms.items(), key=lambda item: (-item[1], item[0])))


def preview_for(db: Database, ods_codes: Sequence[str], on: date) -> CohortPreview:
    """The preview for practices named by ODS code (a read-only unit of work)."""
    with db.transaction() as session:
        return preview(session, practice_ids_for(session, ods_codes), on)


def export_rows(
    session: Session, practice_ids: Sequence[int], on: date, *, batch: int = 5_000
) -> Iterator[tuple[str, str, str]]:
    """(nhs_number, status, reason) for each patient, streamed in NHS number order; the
    reason of a patient held for review is the unrecognised condition terms."""
    stmt = export_query(practice_ids, on)
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
