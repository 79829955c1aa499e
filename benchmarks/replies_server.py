"""The app as bench_replies serves it under gunicorn, plus the framework floor endpoint.

`POST /bench/floor` does one database write in one transaction and answers empty TwiML:
the cost of Flask + gunicorn + one commit, measured on the same server as the webhook.
It exists only here, never in the production app.
"""

from __future__ import annotations

from flask import Response

from app import create_app
from app.data.models import AuditEvent
from app.runtime import get_clock, get_db
from app.web.webhooks import EMPTY_TWIML

app = create_app()


@app.post("/bench/floor")
def floor() -> Response:
    with get_db().transaction() as session:
        session.add(AuditEvent(at=get_clock().now(), actor="bench", action="bench.floor"))
    return Response(EMPTY_TWIML, mimetype="text/xml")
