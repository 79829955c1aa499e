"""The `make bench` harness: run every `bench_*.py` module and print one table of figures.

Each module runs in its own Python process, on a fresh PostgreSQL database (dropped after)
and a fresh SQLite directory, so one benchmark's data, memory peak or crash never touches
the next; a module that fails or times out becomes a failed row, not a crashed harness.
The table goes to stdout and, as markdown with the date and machine, to
benchmarks/out/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import QUICK_ENV, ROW_KEYS

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_OUT = HERE / "out" / "results.md"
HEADERS = ("what", "figure", "floor in the same run", "ratio", "target", "ok")

# runs inside the child process: import the module, call run(), write its rows as JSON
CHILD = """
import importlib, json, sys, traceback
name, pg_url, sqlite_dir, out = sys.argv[1:5]
try:
    module = importlib.import_module(name)
    rows = module.run(pg_url or None, sqlite_dir)
    payload = {"rows": rows}
except BaseException as exc:
    payload = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
with open(out, "w") as f:
    json.dump(payload, f, default=str)
"""


def discover(directory: Path, only: Sequence[str] = ()) -> list[str]:
    """Bench module names (`bench_import`, ...) in `directory`, sorted; `only` filters them.

    `--only import` and `--only bench_import` both select bench_import.py.
    """
    names = sorted(p.stem for p in directory.glob("bench_*.py"))
    if only:
        wanted = {w if w.startswith("bench_") else f"bench_{w}" for w in only}
        names = [n for n in names if n in wanted]
    return names


def failed_row(name: str, reason: str) -> dict[str, Any]:
    return {
        "what": f"{name}: FAILED",
        "figure": reason,
        "floor": "-",
        "ratio": "-",
        "target": "-",
        "ok": False,
    }


def check_rows(name: str, rows: Any) -> list[dict[str, Any]]:
    """The module's rows, or failed rows saying what is wrong with them."""
    if not isinstance(rows, list) or not rows:
        return [failed_row(name, f"run() returned {type(rows).__name__}, not a non-empty list")]
    checked: list[dict[str, Any]] = []
    for i, r in enumerate(rows):
        missing = [k for k in ROW_KEYS if not isinstance(r, dict) or k not in r]
        if missing:
            checked.append(failed_row(name, f"row {i} lacks {', '.join(missing)}"))
            continue
        checked.append({k: (bool(r[k]) if k == "ok" else str(r[k])) for k in ROW_KEYS})
    return checked


def run_module(
    name: str,
    *,
    package: str,
    search_path: Path,
    pg_url: str | None,
    sqlite_dir: Path,
    quick: bool,
    timeout: float,
) -> list[dict[str, Any]]:
    """Run one bench module in a child process and return its (checked) rows."""
    out = sqlite_dir / "_rows.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(search_path), str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    env[QUICK_ENV] = "1" if quick else "0"
    module = f"{package}.{name}" if package else name
    cmd = [sys.executable, "-c", CHILD, module, pg_url or "", str(sqlite_dir), str(out)]
    try:
        # the child's own output (progress lines) goes to our stderr, keeping stdout the table
        proc = subprocess.run(
            cmd, cwd=PROJECT_ROOT, env=env, timeout=timeout, stdout=_stderr_fd(), check=False
        )
    except subprocess.TimeoutExpired:
        return [failed_row(name, f"timed out after {timeout:.0f} s")]
    if not out.exists():
        return [failed_row(name, f"process exited {proc.returncode} without results")]
    payload = json.loads(out.read_text())
    if "error" in payload:
        print(payload.get("trace", ""), file=sys.stderr)
        return [failed_row(name, payload["error"][:200])]
    return check_rows(name, payload["rows"])


def _stderr_fd() -> int | None:
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced by an in-memory stream
        return None


@contextmanager
def fresh_pg_database(base_url: str | None) -> Iterator[str | None]:
    """A new, empty PostgreSQL database with Nudge's schema, dropped afterwards.

    Yields None (and says why) when no server answers, so SQLite-only rows still run.
    """
    if not base_url:
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from app.data.models import Base

    base = make_url(base_url)
    name = f"nudge_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: run without PostgreSQL
        print(f"PostgreSQL unavailable ({type(exc).__name__}); PG rows skipped", file=sys.stderr)
        admin.dispose()
        yield None
        return
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(url)
        Base.metadata.create_all(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def standalone(run: Any) -> None:
    """`python -m benchmarks.bench_<name>`: one module alone, on its own fresh databases."""
    base = os.environ.get("NUDGE_BENCH_PG_URL") or os.environ.get(
        "NUDGE_TEST_DATABASE_URL", DEFAULT_PG_URL
    )
    with fresh_pg_database(base) as url, tempfile.TemporaryDirectory() as directory:
        print(text_table(run(url, directory)))


def run_all(
    names: Sequence[str],
    *,
    package: str,
    search_path: Path,
    pg_base_url: str | None,
    quick: bool,
    timeout: float,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in names:
        started = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        with (
            tempfile.TemporaryDirectory(prefix=f"nudge-{name}-") as sqlite_dir,
            fresh_pg_database(pg_base_url) as pg_url,
        ):
            try:
                got = run_module(
                    name,
                    package=package,
                    search_path=search_path,
                    pg_url=pg_url,
                    sqlite_dir=Path(sqlite_dir),
                    quick=quick,
                    timeout=timeout,
                )
            except Exception as exc:  # the harness itself must survive any one module
                got = [failed_row(name, f"{type(exc).__name__}: {exc}"[:200])]
        print(f"== {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr)
        rows.extend(got)
    return rows


def machine() -> dict[str, str]:
    """What the figures were measured on: they mean little without it."""
    cpu = platform.processor() or platform.machine()
    mem = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count() or "?"),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }


def _cells(r: dict[str, Any]) -> list[str]:
    return [r["what"], r["figure"], r["floor"], r["ratio"], r["target"], "yes" if r["ok"] else "NO"]


def text_table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [list(HEADERS)] + [_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS))]
    out = [" | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(s.rstrip() for s in out)


def markdown(
    rows: Sequence[dict[str, Any]], *, when: datetime, info: dict[str, str], quick: bool = False
) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    head = [
        "# Nudge benchmark results",
        "",
        f"Run {when:%Y-%m-%d %H:%M} UTC on {info['cpus']} CPUs ({info['cpu']}), "
        f"{info['memory']} memory, Python {info['python']}, {info['os']}."
        + (" Quick run (small sizes): a smoke test, not the targets." if quick else ""),
        "",
        "| " + " | ".join(HEADERS) + " |",
        "| " + " | ".join("---" for _ in HEADERS) + " |",
    ]
    body = ["| " + " | ".join(esc(c) for c in _cells(r)) + " |" for r in rows]
    return "\n".join(head + body) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", action="append", default=[], help="run one bench (repeatable)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per bench module")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown results file")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when any target is missed, not only errors"
    )
    # for the harness's own tests: where to find the bench modules
    parser.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    parser.add_argument("--package", default="benchmarks", help=argparse.SUPPRESS)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite-only rows")
    args = parser.parse_args(argv)

    names = discover(args.dir, args.only)
    if not names:
        print(f"no bench_*.py modules match in {args.dir}", file=sys.stderr)
        return 2
    pg = None if args.no_postgres else os.environ.get("NUDGE_TEST_DATABASE_URL", DEFAULT_PG_URL)
    search_path = args.dir.parent if args.package else args.dir
    when = datetime.now(UTC)
    rows = run_all(
        names,
        package=args.package,
        search_path=search_path,
        pg_base_url=pg,
        quick=args.quick,
        timeout=args.timeout,
    )
    print(text_table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(markdown(rows, when=when, info=machine(), quick=args.quick))
    print(f"\nwritten to {args.out}", file=sys.stderr)
    errors = any(r["what"].endswith(": FAILED") for r in rows)
    missed = any(not r["ok"] for r in rows)
    return 1 if errors or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
