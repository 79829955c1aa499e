"""Benchmarks for `make bench`: one `bench_<name>.py` module per target, run by the harness.

Each module exposes `run(pg_url: str | None, sqlite_dir: str) -> list[dict]`, one dict per
table row with the keys in `ROW_KEYS`. The harness gives every module a fresh PostgreSQL
database (schema created) and a fresh SQLite directory, and sets NUDGE_BENCH_QUICK=1 for a
smoke run (`--quick`): modules call `quick()` or `size(full, small)` to shrink their data.
"""

from __future__ import annotations

import os

ROW_KEYS = ("what", "figure", "floor", "ratio", "target", "ok")
QUICK_ENV = "NUDGE_BENCH_QUICK"


def quick() -> bool:
    """True when the harness runs a smoke run (`python -m benchmarks --quick`)."""
    return os.environ.get(QUICK_ENV, "") not in {"", "0"}


def size(full: int, small: int) -> int:
    """The data size to use: `small` in a quick run, `full` otherwise."""
    return small if quick() else full


def row(what: str, figure: str, floor: str, ratio: str, target: str, ok: bool) -> dict[str, object]:
    """One table row, spelled the way the harness reads it."""
    return {
        "what": what,
        "figure": figure,
        "floor": floor,
        "ratio": ratio,
        "target": target,
        "ok": ok,
    }
