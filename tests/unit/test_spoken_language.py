"""Main-spoken-language codes (PREFLANG_COD, real ids from its file) give an ISO 639-1 code."""

from __future__ import annotations

from datetime import date

from app.domain.coded import LANGUAGE, PatientCodes, national_clusters
from app.domain.spoken_language import ISO_639_1, TERM_PREFIX, iso_639_1

POLISH = "315579002"  # Main spoken language Polish
SOMALI = "315583002"  # Main spoken language Somali
SYLHETI = "315586005"  # Main spoken language Sylheti (no two-letter code)
BSL = "415803005"  # Uses British sign language
# spoken-language terms in the file with no single ISO 639-1 code
NO_TWO_LETTER_CODE = {
    "Bamun", "Bihari", "Brawa", "Cantonese", "Dari", "Ethiopian", "Filipino", "French Créole",
    "Gaelic", "Hakka", "Hindko", "Iba", "Konkani", "Kutchi", "Ndebele", "Patois", "Romany",
    "Sylheti", "Tetum",
}  # fmt: skip


def _codes(*entries: tuple[str, date]) -> PatientCodes:
    record = PatientCodes()
    for code, on in entries:
        record.add(national_clusters(), code, on, None)
    return record


def test_a_main_spoken_language_code_gives_the_patients_language() -> None:
    assert POLISH in national_clusters().by_name[LANGUAGE].codes
    record = _codes((POLISH, date(2019, 5, 1)))
    assert record.spoken_language == "pl"
    assert record.conditions() == set()  # a language never excludes


def test_the_latest_language_code_wins_and_one_naming_no_language_is_ignored() -> None:
    record = _codes((SOMALI, date(2024, 2, 1)), (POLISH, date(2019, 5, 1)), (BSL, date(2025, 1, 1)))
    assert record.spoken_language == "so"
    assert _codes((SYLHETI, date(2020, 1, 1))).spoken_language is None
    assert _codes((BSL, date(2020, 1, 1))).spoken_language is None


def test_every_spoken_language_in_the_cluster_file_is_mapped_or_known_to_have_no_code() -> None:
    terms = national_clusters().by_name[LANGUAGE].codes.values()
    names = {t.removeprefix(TERM_PREFIX) for t in terms if t.startswith(TERM_PREFIX)}
    assert len(names) > 180
    assert names - set(ISO_639_1) == NO_TWO_LETTER_CODE
    assert all(len(code) == 2 and code.islower() for code in ISO_639_1.values())
    assert iso_639_1("Main spoken language Welsh") == "cy"
    assert iso_639_1("Uses sign language") is None
