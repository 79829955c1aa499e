"""A dispatcher process for the fault tests: the production dispatch loop, killable.

    python -m tests.faults.dispatch_worker --db URL --settings JSON --now ISO [--batch N]

It runs `app.services.dispatch.dispatch_due` through the production provider that the
settings name (Twilio's SDK or Notify's client, pointed at their fakes) until nothing is
due, exactly as the scheduler's dispatch job would, so SIGKILLing it at a random moment
is a dispatcher dying mid-wave. Database errors (a restarting server) are retried like
the next tick.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError

from app.data.db import Database
from app.services.dispatch import DispatchReport, dispatch_due
from app.sms import provider_from_config
from app.sms.provider import SmsProvider
from app.sms.twilio_provider import TwilioProvider

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "fault-auth-token"
FROM_NUMBER = "+447700900000"
PUBLIC_BASE_URL = "https://nudge.example.test"


def provider_for(twilio_base_url: str, *, timeout: float = 5.0) -> TwilioProvider:
    return TwilioProvider(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number=FROM_NUMBER,
        status_callback_url=PUBLIC_BASE_URL + "/webhooks/twilio/status",
        api_base_url=twilio_base_url,
        timeout=timeout,
    )


def run_until_empty(
    db: Database,
    provider: SmsProvider,
    *,
    now: datetime,
    batch: int,
    worker_id: str | None = None,
    max_errors: int = 200,
    tick: timedelta = timedelta(0),
) -> DispatchReport:
    """Dispatch until a round claims nothing; a DB error waits and tries the next round."""
    total = DispatchReport()
    errors = 0
    while True:
        try:
            report = dispatch_due(db, provider, now=now, limit=batch, worker_id=worker_id)
        except DBAPIError:
            errors += 1
            if errors > max_errors:
                raise
            time.sleep(0.1)
            continue
        total.add(report)
        if report.claimed == 0 and report.cancelled == 0:
            return total
        now += tick


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--settings", required=True, help="provider settings, as JSON")
    parser.add_argument("--now", required=True, type=datetime.fromisoformat)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--worker", default=None)
    args = parser.parse_args(argv)
    db = Database.from_url(args.db)
    provider = provider_from_config(json.loads(args.settings))
    print("ready", flush=True)
    report = run_until_empty(db, provider, now=args.now, batch=args.batch, worker_id=args.worker)
    print(report.summary(), flush=True)
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
