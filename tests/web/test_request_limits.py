"""Request limits and the OpenAPI document: oversized and malformed requests get 4xx."""

from __future__ import annotations

import io

import schemathesis
from flask import request


def test_openapi_document_is_served_and_loads_as_a_schema(app, client) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.")
    assert {"/api/reports/uptake", "/webhooks/twilio/sms", "/webhooks/twilio/status"} <= set(
        doc["paths"]
    )
    assert "/c/{token}.ics" in doc["paths"]
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = {op.ok().label for op in schema.get_all_operations()}
    assert "POST /webhooks/twilio/sms" in operations
    assert "GET /api/reports/uptake" in operations


def test_a_webhook_body_over_64_kb_is_refused_with_413_before_parsing(client) -> None:
    body = "Body=" + "x" * (65 * 1024)
    response = client.post(
        "/webhooks/twilio/sms",
        data=body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"


def add_echo_routes(app) -> None:
    """Routes that read the form, standing in for any webhook or upload view."""
    app.config["WTF_CSRF_METHODS"] = []  # limits, not CSRF, are under test here

    def echo():
        return {"fields": len(request.form), "bytes": len(request.get_data())}

    app.add_url_rule("/webhooks/test-echo", "webhook_echo", echo, methods=["POST"])
    app.add_url_rule("/test-upload-echo", "upload_echo", echo, methods=["POST"])


def test_a_webhook_body_over_the_limit_without_a_length_header_is_still_refused(app) -> None:
    # a chunked body announces no Content-Length: the stream limit must catch it
    add_echo_routes(app)
    app.config["WEBHOOK_MAX_CONTENT_LENGTH"] = 1024
    client = app.test_client()
    small = client.post("/webhooks/test-echo", data={"Body": "1"})
    assert small.status_code == 200
    assert small.get_json()["fields"] == 1
    response = client.post(
        "/webhooks/test-echo",
        input_stream=io.BytesIO(b"Body=" + b"x" * 5000),
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked"},
        # what gunicorn says of a chunked body it will end itself
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.get_json()["status"] == 413


def test_any_body_over_the_upload_limit_gets_413_and_under_it_is_read(app) -> None:
    add_echo_routes(app)
    app.config["MAX_CONTENT_LENGTH"] = 2048
    client = app.test_client()
    assert client.post("/test-upload-echo", data=b"x" * 1000).get_json()["bytes"] == 1000
    # a webhook-sized limit does not apply outside /webhooks/
    assert client.post("/test-upload-echo", data=b"x" * 2000).status_code == 200
    assert client.post("/test-upload-echo", data=b"x" * 4096).status_code == 413


def test_unknown_api_paths_and_wrong_methods_answer_4xx_and_json_where_ours(app) -> None:
    app.config["WTF_CSRF_METHODS"] = []
    client = app.test_client()
    assert client.get("/api/no-such-thing").status_code == 404
    wrong = client.delete("/openapi.json")
    assert wrong.status_code == 405
    assert "GET" in wrong.headers["Allow"]
    assert wrong.get_json()["status"] == 405


def test_malformed_webhook_bodies_get_4xx_never_500(client) -> None:
    bodies = [
        (b"\xff\xfe\x00garbage=%%%", "application/x-www-form-urlencoded"),
        (b"{not json", "application/json"),
        (b"--xx\r\nbroken multipart", "multipart/form-data; boundary=xx"),
        (b"", "application/x-www-form-urlencoded"),
        (
            b"From=%2B447700900001&Body=" + "é".encode("latin-1"),
            "application/x-www-form-urlencoded",
        ),
    ]
    for path in ("/webhooks/twilio/sms", "/webhooks/twilio/status"):
        for body, content_type in bodies:
            response = client.post(path, data=body, content_type=content_type)
            assert 400 <= response.status_code < 500, (path, body, response.status_code)
