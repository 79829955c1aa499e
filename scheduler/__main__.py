"""`python -m scheduler`: the production scheduler process (JSON logs, clean stop on SIGTERM).

Run as many as you like against one database (each claims its own work); each writes a
heartbeat that `/readyz` and `flask status` read. `flask scheduler run` is the same
scheduler with development logging.
"""

from __future__ import annotations

import logging
import os
import signal
from types import FrameType

from app import create_app, logs
from scheduler.runner import build_scheduler

log = logging.getLogger("scheduler")


def main() -> None:
    logs.configure(os.environ.get("NUDGE_LOG_FORMAT", "json"))
    app = create_app()
    scheduler = build_scheduler(app)

    def stop(signum: int, _frame: FrameType | None) -> None:
        # let a dispatch batch in flight finish: a kill mid-batch leaves its claims to
        # the stale-claim recovery
        log.info("stopping on signal %s", signal.Signals(signum).name)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler running", extra={"jobs": [job.id for job in scheduler.get_jobs()]})
    scheduler.start()
    log.info("scheduler stopped")


if __name__ == "__main__":
    main()
