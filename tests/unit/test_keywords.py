"""The reply parser: a table of what residents write and what the service does with it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.keywords import INTENTS, parse

EXAMPLES: list[tuple[str, str, int | None]] = [
    # plain choices, any case, spaces or punctuation
    ("1", "choice", 1),
    ("2", "choice", 2),
    ("3", "choice", 3),
    (" 2 ", "choice", 2),
    ("2.", "choice", 2),
    ("#2", "choice", 2),
    ("(3)", "choice", 3),
    ("1!", "choice", 1),
    ("option 2", "choice", 2),
    ("Option 2", "choice", 2),
    ("OPTION 3.", "choice", 3),
    ("2 please", "choice", 2),
    ("2 please thanks", "choice", 2),
    ("Number 3 please", "choice", 3),
    ("two", "choice", 2),
    ("Two.", "choice", 2),
    ("one", "choice", 1),
    ("THREE", "choice", 3),
    ("second", "choice", 2),
    ("the second one", "choice", 2),
    ("2nd", "choice", 2),
    ("1st one please", "choice", 1),
    ("third", "choice", 3),
    ("I'll take 1", "choice", 1),
    ("I\u2019d like 3 please", "choice", 3),
    ("Yes 2", "choice", 2),
    ("ok 1 thanks", "choice", 1),
    ("option two", "choice", 2),
    ("2\ufe0f\u20e3", "choice", 2),
    ("Hi, 2 is great thank you x", "choice", 2),
    # ambiguous: more than one number, book nothing and ask
    ("1 or 2", "ambiguous", None),
    ("12", "ambiguous", None),
    ("1 2", "ambiguous", None),
    ("1,2", "ambiguous", None),
    ("2 or 3 please", "ambiguous", None),
    ("one or two", "ambiguous", None),
    ("123", "ambiguous", None),
    ("1/3", "ambiguous", None),
    # a number inside a sentence is not a choice
    ("can I come at 3pm?", "unclear", None),
    ("3pm", "unclear", None),
    ("2 pm", "unclear", None),
    ("4", "unclear", None),
    ("0", "unclear", None),
    ("10:20", "unclear", None),
    ("Tue 3 Dec", "unclear", None),
    ("no 2 is no good", "unclear", None),
    ("Can I change to 2", "unclear", None),
    ("I can't do 1", "unclear", None),
    # opt-out words, alone or leading, whatever follows
    ("STOP", "stop", None),
    ("stop", "stop", None),
    ("Stop texting me", "stop", None),
    ("STOPALL", "stop", None),
    ("stop all", "stop", None),
    ("Unsubscribe", "stop", None),
    ("CANCEL", "stop", None),
    ("cancel my appointment", "stop", None),
    ("End", "stop", None),
    ("quit", "stop", None),
    ("please stop", "stop", None),
    ("STOP 2", "stop", None),
    # opt back in, help
    ("START", "start", None),
    ("unstop", "start", None),
    ("HELP", "help", None),
    ("help!", "help", None),
    ("Info", "help", None),
    # decline
    ("NO", "decline", None),
    ("no thanks", "decline", None),
    ("No thank you", "decline", None),
    ("NOT NOW", "decline", None),
    ("not interested", "decline", None),
    ("nope", "decline", None),
    ("No more texts please", "decline", None),
    # more and change
    ("MORE", "more", None),
    ("more times please", "more", None),
    ("any more times?", "more", None),
    ("CHANGE", "change", None),
    ("change please", "change", None),
    ("I need to change my appointment", "change", None),
    ("reschedule", "change", None),
    # anything else
    ("", "unclear", None),
    ("   ", "unclear", None),
    ("?", "unclear", None),
    ("\U0001f44d", "unclear", None),
    ("yes", "unclear", None),
    ("yes please", "unclear", None),
    ("Who is this?", "unclear", None),
    ("none of them suit me", "unclear", None),
    ("Tuesday morning", "unclear", None),
]


def test_the_table_has_at_least_sixty_examples():
    assert len(EXAMPLES) >= 60


@pytest.mark.parametrize(("text", "intent", "choice"), EXAMPLES)
def test_parse_reads_each_reply_as_the_service_should(text, intent, choice):
    result = parse(text)
    assert (result.kind, result.choice) == (intent, choice)


def test_an_opt_out_records_the_word_the_resident_used():
    assert parse("Stop texting me").word == "STOP"
    assert parse("unsubscribe").word == "UNSUBSCRIBE"


def test_as_dict_names_the_choice_only_for_choices():
    assert parse("option 2").as_dict("option 2") == {
        "text": "option 2",
        "intent": "choice",
        "choice": 2,
    }
    assert parse("HELP").as_dict("HELP") == {"text": "HELP", "intent": "help"}


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_no_text_makes_the_parser_crash(text):
    result = parse(text)
    assert result.kind in INTENTS
    assert (result.choice in (1, 2, 3)) == (result.kind == "choice")


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=4, max_value=10**6))
def test_no_number_outside_one_to_three_is_ever_a_choice(number):
    assert parse(str(number)).kind != "choice"
