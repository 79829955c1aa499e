"""JSON log lines with a request id, and a last guard against personal data in them.

Production processes (gunicorn, the scheduler) log one JSON object per line to stderr.
The code logs ids, never phone numbers, NHS numbers, names or message bodies; the
redaction here is the second line of defence: anything shaped like a UK phone number or
an NHS number that slips into a message or its arguments is masked before it is written.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("nudge_request_id", default=None)

# +44 7700 900123, 447700900123, 07700 900123, 07700-900-123 ...; and 10-digit NHS numbers
# written plain or 3-3-4
_PHONE = re.compile(r"(?<![\w])(?:\+?44\s?|0)\d(?:[\s-]?\d){8,9}(?!\d)")
_NHS_NUMBER = re.compile(r"(?<!\d)\d{3}[\s-]?\d{3}[\s-]?\d{4}(?!\d)")
REDACTED = "[redacted]"

# attributes every LogRecord has; anything else was passed in `extra=` and is logged
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def redact(text: str) -> str:
    return _NHS_NUMBER.sub(REDACTED, _PHONE.sub(REDACTED, text))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """The development format, with the same redaction."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def formatter(kind: str) -> logging.Formatter:
    if kind not in {"json", "text"}:
        raise ValueError(f"log format must be 'json' or 'text': {kind!r}")
    return JsonFormatter() if kind == "json" else TextFormatter()


def configure(kind: str = "json", level: int | str = logging.INFO) -> None:
    """Send every logger's records to stderr in `kind` format (replaces earlier handlers)."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(kind))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs each run of each job (the runner logs what each did instead) and
    # Alembic each plugin it loads whenever /readyz reads the schema's revision
    for noisy in ("apscheduler.executors", "apscheduler.scheduler", "alembic.runtime"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
