"""Replies in the resident's language: a table per language, and digits of any script."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import languages
from app.domain.keywords import INTENTS, parse

C, A, U = "choice", "ambiguous", "unclear"

TABLES: dict[str, list[tuple[str, str, int | None]]] = {
    "ro": [
        ("2", C, 2), ("doi", C, 2), ("Opțiunea 3", C, 3), ("a doua", C, 2),
        ("primul vă rog", C, 1), ("Trei, mulțumesc", C, 3), ("1 sau 2", A, None),
        ("unu și doi", A, None), ("pot veni la ora 3?", U, None), ("NU", "decline", None),
        ("nu mulțumesc", "decline", None), ("Alte ore", "more", None),
        ("vreau să schimb", "change", None), ("STOP", "stop", None),
        ("Ajutor", "help", None), ("ROMÂNĂ", "language", None), ("12", A, None),
    ],
    "lt": [
        ("1", C, 1), ("antras", C, 2), ("Trečias, ačiū", C, 3), ("variantas du", C, 2),
        ("pirmas prašau", C, 1), ("1 arba 2", A, None), ("du ir trys", A, None),
        ("ar galiu 3 val.?", U, None), ("Ne", "decline", None), ("ne, ačiū", "decline", None),
        ("daugiau laikų", "more", None), ("noriu pakeisti", "change", None),
        ("ATSISAKYTI", "stop", None), ("pagalba", "help", None), ("Lietuvių", "language", None),
        ("4", U, None),
    ],
    "pl": [
        ("2", C, 2), ("dwa", C, 2), ("Druga proszę", C, 2), ("opcja 3", C, 3),
        ("pierwszy, dziękuję", C, 1), ("trzecia", C, 3), ("1 lub 2", A, None),
        ("jeden albo dwa", A, None), ("czy mogę o 15?", U, None), ("Nie", "decline", None),
        ("nie dziękuję", "decline", None), ("więcej terminów", "more", None),
        ("chcę zmienić termin", "change", None), ("STOP", "stop", None),
        ("pomoc", "help", None), ("POLSKI", "language", None), ("12", A, None),
    ],
    "bn": [
        ("২", C, 2), ("দুই", C, 2), ("দ্বিতীয়", C, 2), ("৩ ধন্যবাদ", C, 3),
        ("প্রথম", C, 1), ("বিকল্প ১", C, 1), ("১ বা ২", A, None), ("১২", A, None),
        ("আমি কি ৩টায় আসতে পারি?", U, None), ("না", "decline", None),
        ("আরও সময়", "more", None), ("পরিবর্তন", "change", None), ("বন্ধ", "stop", None),
        ("বন্ধ করুন", "stop", None), ("সাহায্য", "help", None), ("বাংলা", "language", None),
        ("৪", U, None),
    ],
    "ur": [
        ("۲", C, 2), ("دو", C, 2), ("دوسرا", C, 2), ("نمبر ۳", C, 3), ("٣ شکریہ", C, 3),
        ("پہلا", C, 1), ("۱ یا ۲", A, None), ("ایک اور دو", A, None), ("۱۲", A, None),
        ("کیا میں ۳ بجے آ سکتا ہوں؟", U, None), ("نہیں", "decline", None),
        ("مزید وقت", "more", None), ("تبدیل کریں", "change", None), ("بند کریں", "stop", None),
        ("مدد", "help", None), ("اردو", "language", None), ("۴", U, None),
    ],
    "pa": [
        ("੨", C, 2), ("ਦੋ", C, 2), ("ਦੂਜਾ", C, 2), ("ਨੰਬਰ ੩", C, 3), ("ਪਹਿਲਾ ਜੀ", C, 1),
        ("੧ ਜਾਂ ੨", A, None), ("੧੨", A, None), ("ਕੀ ਮੈਂ ੩ ਵਜੇ ਆ ਸਕਦਾ ਹਾਂ?", U, None),
        ("ਨਹੀਂ", "decline", None), ("ਹੋਰ ਸਮਾਂ", "more", None), ("ਬਦਲੋ", "change", None),
        ("ਬੰਦ ਕਰੋ", "stop", None), ("ਮਦਦ", "help", None), ("ਪੰਜਾਬੀ", "language", None),
        ("Punjabi", "language", None), ("੪", U, None),
    ],
    "pt": [
        ("2", C, 2), ("dois", C, 2), ("Segunda opção", C, 2), ("a terceira por favor", C, 3),
        ("três, obrigado", C, 3), ("primeiro", C, 1), ("1 ou 2", A, None),
        ("um e dois", A, None), ("posso ir às 3?", U, None), ("Não", "decline", None),
        ("não obrigada", "decline", None), ("mais horários", "more", None),
        ("quero remarcar", "change", None), ("SAIR", "stop", None), ("ajuda", "help", None),
        ("Português", "language", None), ("segunda feira", U, None),
    ],
    "gu": [
        ("૨", C, 2), ("બે", C, 2), ("બીજો", C, 2), ("નંબર ૩", C, 3), ("પહેલો આભાર", C, 1),
        ("૧ અથવા ૨", A, None), ("૧૨", A, None), ("શું હું ૩ વાગ્યે આવી શકું?", U, None),
        ("ના", "decline", None), ("વધુ સમય", "more", None), ("બદલો", "change", None),
        ("બંધ કરો", "stop", None), ("મદદ", "help", None), ("ગુજરાતી", "language", None),
        ("૪", U, None),
    ],
    "ar": [
        ("٢", C, 2), ("اثنين", C, 2), ("الثاني", C, 2), ("رقم ٣", C, 3), ("٣ شكرا", C, 3),
        ("الأول من فضلك", C, 1), ("١ أو ٢", A, None), ("١٢", A, None),
        ("هل يمكنني الحضور الساعة ٣؟", U, None), ("لا", "decline", None),
        ("لا شكرا", "decline", None), ("المزيد من المواعيد", "more", None),
        ("تغيير الموعد", "change", None), ("توقف", "stop", None), ("ايقاف", "stop", None),
        ("مساعدة", "help", None), ("العربية", "language", None), ("٤", U, None),
    ],
    "so": [
        ("2", C, 2), ("laba", C, 2), ("labaad", C, 2), ("lambarka 3", C, 3),
        ("kow fadlan", C, 1), ("saddex mahadsanid", C, 3), ("1 ama 2", A, None),
        ("laba iyo saddex", A, None), ("ma imaan karaa 3da?", U, None),
        ("Maya", "decline", None), ("wakhti kale", "more", None),
        ("waan beddelayaa", U, None), ("beddel", "change", None), ("JOOJI", "stop", None),
        ("caawimaad", "help", None), ("Soomaali", "language", None), ("12", A, None),
    ],
}  # fmt: skip
CASES = [(code, *row) for code, rows in TABLES.items() for row in rows]


def test_every_language_has_a_table_of_at_least_fifteen_with_ambiguous_replies() -> None:
    assert set(TABLES) == set(languages.TRANSLATED)
    for rows in TABLES.values():
        assert len(rows) >= 15
        assert sum(1 for _, kind, _ in rows if kind == A) >= 2
        assert any(kind == U and any(ch.isdigit() for ch in text) for text, kind, _ in rows)


@pytest.mark.parametrize(("language", "text", "intent", "choice"), CASES)
def test_parse_reads_each_reply_in_its_language(language, text, intent, choice) -> None:
    result = parse(text, language)
    assert (result.kind, result.choice) == (intent, choice), result
    if intent == "language":
        assert result.language == language


@pytest.mark.parametrize("language", languages.TRANSLATED)
@pytest.mark.parametrize(
    ("text", "intent"),
    [("2", C), ("option 2", C), ("1 or 2", A), ("HELP", "help"), ("STOP", "stop"),
     ("NO", "decline"), ("MORE", "more"), ("CHANGE", "change"), ("START", "start"),
     ("ENGLISH", "language"), ("can I come at 3pm?", U)],
)  # fmt: skip
def test_english_words_always_work(language, text, intent) -> None:
    assert parse(text, language).kind == intent


@pytest.mark.parametrize("word", ["jooji", "বন্ধ", "بند", "توقف", "ਬੰਦ", "બંધ", "SAIR", "rezygnuję"])
@pytest.mark.parametrize("language", ["en", "pl", "ar"])
def test_any_languages_stop_word_opts_out_whoever_sends_it(word, language) -> None:
    assert parse(word, language).kind == "stop"


def test_another_languages_choice_words_are_not_read_for_english() -> None:
    assert parse("dwa").kind == U
    assert parse("dwa", "pl").choice == 2


def test_a_language_name_asks_for_that_language_in_any_language() -> None:
    assert parse("POLSKI").language == "pl"
    assert parse("বাংলা", "ur").language == "bn"
    assert parse("so").kind == U  # a bare code is a word, not a language
    assert parse("Polski please").kind == U


DIGITS = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Nd"]
BY_VALUE = {d: [ch for ch in DIGITS if unicodedata.decimal(ch) == d] for d in range(10)}
ascii_replies = st.one_of(
    st.text(alphabet="0123456789 ,.#orpleas", max_size=20),
    st.sampled_from(["1", "2", "3", "12", "option 2", "1 or 2", "2 please", "3pm", "4", "10:20"]),
)


@settings(max_examples=400, deadline=None)
@given(ascii_replies, st.data(), st.sampled_from(["en", *languages.TRANSLATED]))
def test_a_digit_in_any_script_means_its_ascii_digit(text, data, language) -> None:
    swapped = "".join(
        data.draw(st.sampled_from(BY_VALUE[int(ch)])) if ch.isdigit() else ch for ch in text
    )
    assert parse(swapped, language) == parse(text, language), swapped


def test_bengali_arabic_urdu_gurmukhi_gujarati_devanagari_and_full_width_digits_are_read() -> None:
    for ones in ("১২৩", "١٢٣", "۱۲۳", "੧੨੩", "૧૨૩", "१२३", "１２３"):
        assert parse(ones[1]).choice == 2
        assert parse(ones).kind == A


@settings(max_examples=300, deadline=None)
@given(st.text(), st.sampled_from(languages.TRANSLATED))
def test_no_text_in_any_language_makes_the_parser_crash(text, language) -> None:
    result = parse(text, language)
    assert result.kind in INTENTS
    assert (result.choice in (1, 2, 3)) == (result.kind == C)


def test_the_cli_parses_for_a_language_keeping_its_json_contract() -> None:
    import json

    from click.testing import CliRunner

    from app.cli.replies import parse_command

    runner = CliRunner()
    result = runner.invoke(parse_command, ["২", "POLSKI", "HELP", "--language", "bn", "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines == [
        {"text": "২", "intent": "choice", "choice": 2},
        {"text": "POLSKI", "intent": "language", "language": "pl"},
        {"text": "HELP", "intent": "help"},
    ]
    refused = runner.invoke(parse_command, ["2", "--language", "Klingon"])
    assert refused.exit_code != 0 and "Klingon" in refused.output
    by_name = runner.invoke(parse_command, ["dwa", "--language", "Polish"])
    assert by_name.output.strip() == "'dwa': choice 2"
