"""The app as bench_replies serves it under gunicorn, plus the framework floor endpoint.

`POST /bench/floor` does one database write in one transaction and answers empty TwiML:
the cost of Flask + gunicorn + one commit, measured on the same server as the webhook.
It exists only here, never in the production app.
"""

from __future__ import annotations

from flask import Blueprint, Response

from app import create_app
from app.data.models import AuditEvent
from app.runtime import get_clock, get_db
from app.web import security
from app.web.webhooks import EMPTY_TWIML

app = create_app()
bench = Blueprint("bench", __name__, url_prefix="/bench")
# exempt from CSRF by blueprint exactly as the webhooks are, so the floor passes the same
# hooks as the webhook; without it every floor request was a 400 error page, no write
security.CSRF_EXEMPT_BLUEPRINTS.add("bench")


@bench.post("/floor")
def floor() -> Response:
    with get_db().transaction() as session:
        session.add(AuditEvent(at=get_clock().now(), actor="bench", action="bench.floor"))
    return Response(EMPTY_TWIML, mimetype="text/xml")


app.register_blueprint(bench)
