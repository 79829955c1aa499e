"""The Conditions vocabulary: NHS website and GP-system words, CKD stages, known-harmless
conditions, and the needs-review status for a term that is neither."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.domain import eligibility as rules
from app.domain.eligibility import Decision, ParsedConditions, decide, parse_conditions

ON = date(2026, 1, 14)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [("heart disease", "chd"), ("High blood pressure", "hypertension"),
     ("inherited high cholesterol", "fh"), ("type 2 diabetes", "diabetes"),
     ("Type II diabetes", "diabetes"), ("T2DM", "diabetes"), ("type 1 diabetes", "diabetes"),
     ("diabetes mellitus", "diabetes"), ("CKD stage 3", "ckd"), ("ckd stage 3a", "ckd"),
     ("CKD G3b", "ckd"), ("CKD 4", "ckd"), ("chronic kidney disease stage 5", "ckd"),
     ("stage 3 CKD", "ckd"), ("PVD", "pad"), ("peripheral vascular disease", "pad"),
     ("myocardial infarction", "chd"), ("MI", "chd"), ("heart attack", "chd"),
     ("angina", "chd"), ("ischaemic heart disease", "chd"), ("IHD", "chd"),
     ("CVA", "stroke"), ("mini-stroke", "tia"), ("congestive heart failure", "heart_failure"),
     ("paroxysmal atrial fibrillation", "af"), ("atorvastatin", "statins")],
)  # fmt: skip
def test_nhs_website_and_gp_system_words_map_to_their_exclusion(
    written: str, canonical: str
) -> None:
    assert parse_conditions(written) == ParsedConditions(canonical, ())


@pytest.mark.parametrize(
    "written",
    ["CKD stage 1", "CKD stage 2", "ckd g2", "CKD 1", "chronic kidney disease stage 2",
     "stage 2 CKD", "CKD stage G1"],
)  # fmt: skip
def test_explicit_ckd_stages_1_and_2_do_not_exclude_and_are_not_unknown(written: str) -> None:
    assert parse_conditions(written) == ParsedConditions("", ())


@pytest.mark.parametrize("written", ["CKD", "chronic kidney disease"])
def test_plain_ckd_is_the_ckd_register(written: str) -> None:
    assert parse_conditions(written).canonical == "ckd"


@pytest.mark.parametrize(
    "written",
    ["asthma", "COPD", "eczema", "psoriasis", "gout", "osteoarthritis", "depression",
     "anxiety", "hypothyroidism", "migraine", "underactive thyroid", "hay fever", "IBS"],
)  # fmt: skip
def test_common_conditions_that_do_not_exclude_are_recognised_and_ignored(written: str) -> None:
    assert parse_conditions(written) == ParsedConditions("", ())


def test_a_term_neither_excluding_nor_known_harmless_comes_back_unknown() -> None:
    parsed = parse_conditions("asthma; heart trouble ;gout;CKD stage 2;diabetes")
    assert parsed == ParsedConditions("diabetes", ("heart trouble",))


def _decide(**overrides: object) -> Decision:
    args: dict[str, object] = dict(
        date_of_birth=date(1975, 6, 1),
        on=ON,
        conditions="",
        last_health_check=None,
        opted_out_at=None,
        mobile="+447700900001",
    )
    args.update(overrides)
    return decide(**args)  # type: ignore[arg-type]


def test_an_unrecognised_condition_holds_the_patient_for_review_not_invited() -> None:
    assert rules.NEEDS_REVIEW == "needs_review"
    assert _decide(unrecognised="heart trouble") == Decision("needs_review", None)
    assert _decide(unrecognised="heart trouble", mobile=None) == Decision("needs_review", None)


def test_every_exclusion_reason_comes_before_review() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    held = dict(unrecognised="heart trouble")
    assert _decide(date_of_birth=date(1990, 1, 1), **held).reason == "age"
    assert _decide(conditions="chd", **held).reason == "condition"
    assert _decide(last_health_check=date(2025, 1, 1), **held).reason == "recent_check"
    assert _decide(opted_out_at=now, **held).reason == "opted_out"
