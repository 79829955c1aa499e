"""`python -m scheduler`: the production scheduler process (JSON logs, clean stop on SIGTERM).

Run as many as you like against one database (each claims its own work); each writes a
heartbeat that `/readyz` and `flask status` read. `flask scheduler run` is the same
scheduler with development logging.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

from app import create_app, logs
from scheduler.runner import build_scheduler

log = logging.getLogger("scheduler")


def main() -> None:
    logs.configure(os.environ.get("NUDGE_LOG_FORMAT", "json"))
    app = create_app()
    scheduler = build_scheduler(app)
    stopping: list[threading.Thread] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping on signal %s", signal.Signals(signum).name)
        if not scheduler.running:  # a signal while it starts: nothing runs yet, leave now
            raise SystemExit(0)
        if not stopping:
            # shut down from another thread: the signal may have interrupted the main thread
            # while it holds a lock shutdown needs. wait=True lets a dispatch batch in flight
            # finish; a kill mid-batch leaves its claims to reconciliation
            stopper = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True})
            stopping.append(stopper)
            stopper.start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        log.info("scheduler running", extra={"jobs": [job.id for job in scheduler.get_jobs()]})
        scheduler.start()
    finally:
        for stopper in stopping:
            stopper.join()
        log.info("scheduler stopped")


if __name__ == "__main__":
    main()
