"""The package root loads no framework, and the entry points still find the factory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("flask", "werkzeug", "sqlalchemy", "jinja2", "twilio", "apscheduler", "app.factory")


def _python(code: str, **env: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_importing_the_domain_loads_no_framework() -> None:
    loaded = _python(
        "import sys, app.domain.keywords, app.domain.eligibility, app.domain.passwords\n"
        f"print(','.join(m for m in {FRAMEWORKS!r} if m in sys.modules))"
    )
    assert loaded == ""


def test_flask_and_gunicorn_find_the_factory_at_the_package_root(tmp_path: Path) -> None:
    found = _python(
        "from flask.cli import find_best_app\n"
        "import app\n"
        "print(type(find_best_app(app)).__name__, app.create_app.__module__)",
        NUDGE_INSTANCE_PATH=str(tmp_path),
    )
    assert found == "Flask app.factory"
    # gunicorn's 'app:create_app()' is an attribute lookup and a call on the package
    assert _python("import app; print(callable(getattr(app, 'create_app')))") == "True"
