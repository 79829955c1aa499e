"""Nudge: texts people due an NHS Health Check three held slots to book by reply.

The package root loads no framework, so `import app.domain.keywords` stays pure. The
Flask factory lives in `app.factory`; `create_app` is found here on first use, so
`flask --app app ...` and `gunicorn 'app:create_app()'` find it as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from app.factory import create_app

        return create_app
    raise AttributeError(f"module 'app' has no attribute {name!r}")
