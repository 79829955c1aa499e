"""The languages we text in: reading their names, and the import's language cells."""

from __future__ import annotations

import pytest

from app.domain import languages
from app.domain.import_rows import check_interpreter, check_language


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("pl", "pl"),
        ("PL", "pl"),
        ("Polish", "pl"),
        ("POLSKI", "pl"),
        ("romanian", "ro"),
        ("Română", "ro"),
        ("Romana", "ro"),
        ("Lietuvių", "lt"),
        ("বাংলা", "bn"),
        ("Bengali", "bn"),
        ("اردو", "ur"),
        ("urdu", "ur"),
        ("ਪੰਜਾਬੀ", "pa"),
        ("Panjabi", "pa"),
        ("Português", "pt"),
        ("ગુજરાતી", "gu"),
        ("العربية", "ar"),
        ("Arabic", "ar"),
        ("Soomaali", "so"),
        ("somali", "so"),
        ("English", "en"),
        (" en ", "en"),
    ],
)
def test_a_language_is_found_by_code_english_name_or_own_name(raw: str, code: str) -> None:
    assert languages.lookup(raw) == code


@pytest.mark.parametrize("raw", ["", "Klingon", "xx", "Polish please", "123"])
def test_anything_else_is_no_language(raw: str) -> None:
    assert languages.lookup(raw) is None


def test_the_ten_languages_and_english_with_their_direction() -> None:
    assert set(languages.LANGUAGES) == {
        "en", "ro", "lt", "pl", "bn", "ur", "pa", "pt", "gu", "ar", "so",
    }  # fmt: skip
    assert {c for c, lang in languages.LANGUAGES.items() if lang.rtl} == {"ur", "ar"}
    assert languages.get("ur").direction == "rtl"
    assert languages.get(None).code == "en"
    assert languages.get("xx").code == "en"
    assert languages.get("pl").label == "Polish (Polski)"


def test_an_unknown_language_cell_is_a_warning_and_english() -> None:
    assert check_language("Polish") == ("pl", None)
    assert check_language("") == ("en", None)
    code, warning = check_language("Elvish")
    assert code == "en"
    assert warning is not None and "stay in English" in warning


@pytest.mark.parametrize(
    ("raw", "flag"), [("Y", True), ("yes", True), ("TRUE", True), ("", False), ("No", False)]
)
def test_interpreter_cells(raw: str, flag: bool) -> None:
    assert check_interpreter(raw) == (flag, None)


def test_an_odd_interpreter_cell_is_a_warning() -> None:
    flag, warning = check_interpreter("maybe")
    assert flag is False and warning is not None
