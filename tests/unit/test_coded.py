"""SNOMED CT clusters and the coded Health Check rules, with real ids from the cluster files."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from app.domain import coded, eligibility
from app.domain.coded import PatientCodes, national_clusters
from app.domain.csv_headers import EVENT_COLUMNS, EVENT_REQUIRED, match_headers
from app.domain.event_rows import CodedRowError, EventChecker

TODAY = date(2026, 1, 14)
# one real concept id from each cluster's file (its first row) -> (cluster, condition)
EXCLUDING_IDS = {
    "10273003": ("CHD_COD", "chd"),  # Acute infarction of papillary muscle
    "107557061000119108": ("STRK_COD", "stroke"),
    "1208871009": ("TIA_COD", "tia"),
    "10562009": ("HYP_COD", "hypertension"),
    "111552007": ("DM_COD", "diabetes"),  # Diabetes mellitus without complication
    "129151000119102": ("CKD_COD", "ckd"),  # CKD stage 4 due to hypertension
    "120041000119109": ("AFIB_COD", "af"),
    "10335000": ("HF_COD", "heart_failure"),  # Chronic right-sided heart failure
    "12236991000119103": ("PAD_COD", "pad"),
}
RESOLVED_IDS = {
    "HYP_COD": ("10562009", "162659009"),  # Hypertension resolved
    "DM_COD": ("111552007", "315051004"),  # Diabetes resolved
    "CKD_COD": ("129151000119102", "939211000000104"),  # Chronic kidney disease resolved
    "HF_COD": ("10335000", "521691000000100"),  # Heart failure resolved
}
STATIN_ID = "34953211000001105"  # Rosuvastatin 10mg tablets (Aristo Pharma Ltd)
QRISK3_ID = "1085871000000105"  # QRISK3 cardiovascular disease 10 year risk calculator score
CHECK_COMPLETED_ID = "523221000000100"  # NHS Health Check completed
INDIAN_ID = "154178009"  # Indian (ethnic group 8 of 16: category H)


def _codes(*entries: tuple[str, date, float | None]) -> PatientCodes:
    record = PatientCodes()
    for code, on, value in entries:
        record.add(national_clusters(), code, on, value)
    return record


@pytest.mark.parametrize("code", sorted(EXCLUDING_IDS))
def test_each_exclusion_cluster_excludes_with_a_real_id_from_its_file(code: str) -> None:
    cluster, condition = EXCLUDING_IDS[code]
    assert code in national_clusters().by_name[cluster].codes
    assert _codes((code, date(2015, 3, 1), None)).conditions() == {condition}
    assert condition in eligibility.CONDITIONS


@pytest.mark.parametrize("cluster", sorted(RESOLVED_IDS))
def test_a_resolved_code_after_the_diagnosis_lifts_the_exclusion_and_an_earlier_one_does_not(
    cluster: str,
) -> None:
    diagnosis, resolved = RESOLVED_IDS[cluster]
    assert resolved in national_clusters().by_name[cluster.replace("_COD", "RES_COD")].codes
    condition = EXCLUDING_IDS[diagnosis][1]
    lifted = _codes((diagnosis, date(2015, 1, 1), None), (resolved, date(2019, 1, 1), None))
    assert lifted.conditions() == set()
    again = _codes(
        (diagnosis, date(2015, 1, 1), None),
        (resolved, date(2019, 1, 1), None),
        (diagnosis, date(2021, 1, 1), None),
    )
    assert again.conditions() == {condition}


def test_a_resolved_code_does_not_lift_a_cluster_the_national_rules_never_resolve() -> None:
    chd = _codes(("10273003", date(2015, 1, 1), None), ("162659009", date(2020, 1, 1), None))
    assert chd.conditions() == {"chd"}


def test_a_statin_is_current_for_six_months_on_the_cohort_date() -> None:
    issued = _codes((STATIN_ID, date(2025, 9, 1), None)).statin_issued_on
    assert issued == date(2025, 9, 1)
    on = date(2025, 9, 1) + (date(2026, 3, 3) - date(2025, 9, 1))  # 183 days later
    assert coded.statin_current(issued, on)
    assert not coded.statin_current(issued, date(2026, 3, 4))

    def decide(on: date) -> eligibility.Decision:
        return eligibility.decide(
            date_of_birth=date(1970, 1, 1), on=on, conditions="", last_health_check=None,
            opted_out_at=None, mobile="+447700900001", statin_issued_on=issued,
        )  # fmt: skip

    assert decide(date(2026, 1, 14)) == eligibility.Decision("excluded", "condition")
    assert decide(date(2026, 6, 1)) == eligibility.Decision("eligible", None)


def test_the_latest_qrisk_of_twenty_or_more_excludes_and_needs_its_value() -> None:
    high = _codes((QRISK3_ID, date(2019, 1, 1), 8.0), (QRISK3_ID, date(2022, 1, 1), 21.4))
    assert high.conditions() == {"cvd_risk_20"}
    assert _codes((QRISK3_ID, date(2022, 1, 1), 19.9)).conditions() == set()
    assert _codes((QRISK3_ID, date(2022, 1, 1), None)).conditions() == set()


def test_a_completed_check_code_is_the_last_check_and_excludes_for_five_years() -> None:
    checked = _codes((CHECK_COMPLETED_ID, date(2022, 5, 10), None)).check_completed_on
    assert checked == date(2022, 5, 10)

    def decide(on: date) -> eligibility.Decision:
        return eligibility.decide(
            date_of_birth=date(1970, 1, 1), on=on, conditions="", last_health_check=checked,
            opted_out_at=None, mobile="+447700900001",
        )  # fmt: skip

    assert decide(date(2027, 5, 9)).reason == "recent_check"
    assert decide(date(2027, 5, 10)) == eligibility.Decision("eligible", None)


def test_ethnicity_codes_map_to_the_nhs_ethnic_category() -> None:
    assert _codes((INDIAN_ID, date(2010, 1, 1), None)).ethnic_category == "H"
    categories = set(national_clusters().ethnic_category.values())
    assert categories == set("ABCDEFGHJKLMNPRS")


def test_every_shipped_cluster_file_is_in_the_manifest_with_a_source() -> None:
    clusters = national_clusters()
    files = {p.name for p in coded.CLUSTERS_DIR.glob("*.csv")} - {"manifest.csv"}
    assert len(files) == len(clusters.by_name)
    for cluster in clusters.by_name.values():
        assert cluster.source.startswith("https://github.com/") and cluster.release
        assert cluster.codes


def test_concept_ids_are_checked_by_length_and_verhoeff_digit() -> None:
    assert coded.concept_id(" 523221000000100 ") == "523221000000100"
    for bad in ("523221000000101", "12345", "0123456", "52322100000010A", ""):
        with pytest.raises(coded.ConceptIdError):
            coded.concept_id(bad)


def test_an_unknown_cluster_file_in_the_manifest_is_an_error_naming_the_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "manifest.csv").write_text(
        "file,cluster,meaning,source,release\nmissing.csv,X_COD,x,https://x,2020-01-01\n"
    )
    with pytest.raises(coded.ClusterFileError, match="line 2: unknown cluster file"):
        coded.load_clusters(tmp_path)


def _fold(text: str) -> tuple[EventChecker, list[tuple[int, str]]]:
    reader = csv.reader(io.StringIO(text))
    match = match_headers(next(reader), EVENT_COLUMNS, EVENT_REQUIRED)
    assert match.ignored == ("Term",)
    checker = EventChecker(match.columns, 5, today=TODAY, clusters=national_clusters())
    rejected: list[tuple[int, str]] = []
    checker.fold(reader, lambda line, reason: rejected.append((line, reason)))
    checker.finish(lambda line, reason: rejected.append((line, reason)))
    return checker, rejected


HEADER = "NHS Number,SNOMED Code,Term,Effective Date,Result\n"


def test_event_rows_are_rejected_per_row_for_future_dates_bad_numbers_and_values() -> None:
    nhs = "9990000018"
    checker, rejected = _fold(
        HEADER
        + f"{nhs},10273003,,2026-01-15,\n"  # tomorrow
        + "9990000019,10273003,,2020-01-01,\n"  # fails the modulus 11 check
        + f"{nhs},{QRISK3_ID},,2020-01-01,high\n"
        + "\n"
        + f"{nhs},195967001,Asthma,2030-01-01,x\n"  # in no cluster: not checked further
        + "9990000027,195967001,Asthma,2020-01-01,\n"  # but its NHS number is
        + f"{nhs},{QRISK3_ID},,2020-01-01,21%\n"
    )
    assert rejected == [
        (2, "date 2026-01-15 is in the future"),
        (3, "NHS number 9990000019 fails the modulus 11 check"),
        (4, "value 'high' is not a number"),
        (7, "NHS number 9990000027 fails the modulus 11 check"),
    ]
    assert checker.rows == 6 and checker.relevant == 1  # the blank line is not a row
    assert checker.lines == {int(nhs): 2}  # the first line naming it, rejected or not
    assert checker.codes[int(nhs)].conditions() == {"cvd_risk_20"}


def test_a_malformed_concept_id_is_an_error_naming_its_line() -> None:
    with pytest.raises(CodedRowError, match="line 3"):
        _fold(HEADER + "9990000018,10273003,,2020-01-01,\n9990000018,10273004,,2020-01-01,\n")
