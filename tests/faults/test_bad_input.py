"""Fault 6, bad input: the reply parser and importer fuzzed, the HTTP surface fuzzed from
its OpenAPI document, and malformed or oversized requests answered 4xx, never 500."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from app.domain import keywords
from app.services import importing

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run: CI stays deterministic
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# texts residents might plausibly send, mixed with anything at all
reply_words = st.sampled_from(
    sorted(
        keywords.STOP_WORDS
        | keywords.START_WORDS
        | keywords.HELP_WORDS
        | set(keywords.CHOICE_WORDS)
        | keywords.CHOICE_FILLER
    )
    + ["1", "2", "3", "4", "12", "no", "more", "change", "3pm", "Tues", "ok", "?", "!!", "😀"]
)
replies = st.one_of(
    st.text(max_size=300),
    st.lists(reply_words, max_size=6).map(" ".join),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "replace")),
)


# --- the reply parser -------------------------------------------------------------------


@FUZZ
@given(replies)
def test_the_reply_parser_never_crashes_and_always_names_one_known_intent(text: str) -> None:
    intent = keywords.parse(text)
    assert intent.kind in keywords.INTENTS
    if intent.kind == "choice":
        assert intent.choice in {1, 2, 3}
    else:
        assert intent.choice is None
    # the "explanation" the service acts on: an intent the reply templates understand
    assert intent.as_dict(text)["intent"] == intent.kind


@FUZZ
@given(replies)
def test_a_choice_is_only_read_from_a_reply_that_names_it(text: str) -> None:
    intent = keywords.parse(text)
    if intent.kind != "choice":
        return
    words = keywords.tokens(text)
    names = {w for w, n in keywords.CHOICE_WORDS.items() if n == intent.choice}
    assert str(intent.choice) in words or names & set(words), (text, intent)
    # a number that is not a slot choice anywhere in the reply means we ask, not book
    assert not any(w.isdigit() and w not in {"1", "2", "3"} for w in words), (text, intent)


@FUZZ
@given(st.sampled_from(sorted(keywords.STOP_WORDS)), st.text(max_size=80))
def test_a_reply_leading_with_an_opt_out_word_is_always_an_opt_out(word: str, rest: str) -> None:
    for shape in (word, word.upper(), word.title(), f"{word.upper()} {rest}", f" {word}!"):
        if keywords.tokens(shape)[:1] == [word]:
            assert keywords.parse(shape).kind == "stop", shape


@FUZZ
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=120))
def test_the_parser_reads_ascii_replies_the_same_in_any_case(text: str) -> None:
    assert keywords.parse(text) == keywords.parse(text.upper()) == keywords.parse(text.lower())


# --- the importer -----------------------------------------------------------------------


HEADER = "NHS Number,Date of Birth,Sex,Mobile,Ethnic Category,Postcode,Conditions,Last Health Check"
cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "9990000018",
            "999 000 0018",
            "1234567890",
            "07700 900123",
            "+447700900123",
            "020 7946 0000",
            "1975-06-01",
            "01/06/1975",
            "31/02/1975",
            "2999-01-01",
            "",
            '"',
            '""',
            "M",
            "F",
            "1",
            "2",
            "A",
            "99",
            "diabetes;stroke",
            "=cmd|' /C calc'!A0",
            "\x00",
            "\ufeff",
        ]
    ),
)
csv_lines = st.lists(st.lists(cells, min_size=0, max_size=10), max_size=12)


def _csv(rows: Iterable[list[str]], header: str) -> str:
    def cell(value: str) -> str:
        return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n\r') else value

    return "\n".join([header, *(",".join(cell(v) for v in row) for row in rows)]) + "\n"


@pytest.mark.postgres
@pytest.mark.slow
def test_the_importer_never_crashes_and_explains_every_rejected_line(pg_url: str) -> None:
    from app.data.db import Database
    from tests.builders import BUILDER_NOW, add_practice

    db = Database.from_url(pg_url)
    with db.transaction() as session:
        ods = add_practice(session, ods="F99001").ods_code
    seen = {"imported": 0, "refused": 0}

    @settings(FUZZ, max_examples=60)
    @given(csv_lines, st.sampled_from([HEADER, HEADER.lower(), "nhs_number,dob", "garbage", ""]))
    def check(rows: list[list[str]], header: str) -> None:
        rejects = io.StringIO()
        try:
            result = importing.import_patients(
                db,
                io.StringIO(_csv(rows, header)),
                practice_ods=ods,
                now=BUILDER_NOW,
                imported_by="fuzz@test",
                allow_test_numbers=True,
                file_name="fuzz.csv",
                rejected_out=rejects,
            )
        except importing.ImportFileError as refused:
            seen["refused"] += 1
            assert str(refused).strip(), "a refused file must say why"
            return
        seen["imported"] += 1
        assert result.rows == result.added + result.updated + result.unchanged + result.rejected
        # every rejected line is in the rejects file with its line number and a reason
        listed = list(csv.reader(io.StringIO(rejects.getvalue())))[1:]
        assert len(listed) == result.rejected, (listed, result)
        for line, reason, *_ in listed:
            assert int(line) >= 2 and reason.strip(), (line, reason)
        rejected = [p for p in result.problems if p["kind"] == "rejected"]
        assert len(rejected) == result.rejected
        assert all(isinstance(p["reason"], str) and p["reason"].strip() for p in result.problems)

    try:
        check()
    finally:
        db.dispose()
    assert seen["imported"] and seen["refused"], seen


# --- the HTTP surface, from /openapi.json -------------------------------------------------


class SigningMiddleware:
    """Signs requests to the Twilio webhooks as Twilio would, when the case carries no
    signature of its own, so fuzzing reaches the handlers and not only the 403; gives API
    calls a real analyst token likewise."""

    def __init__(self, app: Any, *, auth_token: str, public_base_url: str, api_token: str):
        self.app = app
        self.validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url.rstrip("/")
        self.api_token = api_token

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/webhooks/") and "HTTP_X_TWILIO_SIGNATURE" not in environ:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            params: dict[str, str] = {}
            if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
                for key, value in parse_qsl(body.decode("utf-8", "replace"), True):
                    params.setdefault(key, value)
            url = self.public_base_url + path
            if environ.get("QUERY_STRING"):
                url += "?" + environ["QUERY_STRING"]
            environ["HTTP_X_TWILIO_SIGNATURE"] = self.validator.compute_signature(url, params)
        if path.startswith("/api/") and "HTTP_AUTHORIZATION" not in environ:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {self.api_token}"
        return self.app(environ, start_response)


def _analyst_token(app: Any) -> str:
    from app.data.models import User
    from app.runtime import get_db
    from app.services.users import token_hash
    from tests.builders import BUILDER_NOW

    token = "fuzz-analyst-token-0123456789"
    with app.app_context(), get_db().transaction() as session:
        session.add(
            User(
                email="analyst@fuzz.test",
                role="analyst",
                api_token_hash=token_hash(token),
                active=True,
                created_at=BUILDER_NOW,
            )
        )
    return token


@pytest.mark.slow
def test_every_operation_in_the_openapi_document_answers_fuzzed_requests_without_a_5xx(
    app: Any,
) -> None:
    app.wsgi_app = SigningMiddleware(
        app.wsgi_app,
        auth_token=app.config["TWILIO_AUTH_TOKEN"],
        public_base_url=app.config["PUBLIC_BASE_URL"],
        api_token=_analyst_token(app),
    )
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures: list[str] = []
    answered: dict[str, Counter[int]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4

    def fuzz(operation: Any) -> None:
        label = operation.label

        @settings(FUZZ, max_examples=40)
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            try:
                code = case.call().status_code
            except Exception as exc:  # TESTING propagates what would be a 500
                code = 500
                failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:300]}")
            else:
                if code >= 500:
                    failures.append(f"{label} -> {code}: {case.as_curl_command()}")
            answered.setdefault(label, Counter())[code] += 1

        check()

    for operation in operations:
        fuzz(operation)
    assert not failures, "\n".join(sorted({f[:160] for f in failures}))
    # the signing got the fuzzed requests past the signature check into the handlers
    for label in ("POST /webhooks/twilio/sms", "POST /webhooks/twilio/status"):
        handled = answered.get(label, Counter())
        assert sum(n for code, n in handled.items() if code != 403) > 0, (label, handled)
