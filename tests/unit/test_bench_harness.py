"""The `make bench` harness: discovery, one table, and a failing module as a row (not timing)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from benchmarks.__main__ import check_rows, discover, main, text_table

GOOD = """
import os
from benchmarks import quick, row

def run(pg_url, sqlite_dir):
    assert os.path.isdir(sqlite_dir)
    return [
        row("good thing", "600 msg/s", "-", "-", ">= 500 msg/s", True),
        row("quick flag", str(quick()), "-", "-", "-", True),
        row("pg given", str(pg_url is not None), "-", "-", "-", True),
    ]
"""
BOOM = """
def run(pg_url, sqlite_dir):
    raise RuntimeError("the database fell over")
"""
MALFORMED = """
def run(pg_url, sqlite_dir):
    return [{"what": "half a row", "figure": "1"}]
"""
EXITS = """
import os
def run(pg_url, sqlite_dir):
    os._exit(3)
"""
SLOW = """
import time
def run(pg_url, sqlite_dir):
    time.sleep(60)
"""
PG = """
from sqlalchemy import create_engine, inspect, text
from benchmarks import row

def run(pg_url, sqlite_dir):
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        name = conn.execute(text("select current_database()")).scalar()
        messages = conn.execute(text("select count(*) from message")).scalar()
    engine.dispose()
    return [row("fresh pg", f"{name}:{messages}", "-", "-", "-", messages == 0)]
"""


def make_package(tmp_path: Path, **modules: str) -> Path:
    package = tmp_path / "fakebench"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, source in modules.items():
        (package / f"bench_{name}.py").write_text(textwrap.dedent(source))
    (package / "helper.py").write_text("# not a bench module\n")
    return package


def harness(package: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        "--dir",
        str(package),
        "--package",
        "fakebench",
        "--out",
        str(tmp_path / "out" / "results.md"),
        *extra,
    ]


def test_discovery_finds_bench_modules_only_and_only_filters_them(tmp_path: Path) -> None:
    package = make_package(tmp_path, good=GOOD, boom=BOOM, malformed=MALFORMED)
    assert discover(package) == ["bench_boom", "bench_good", "bench_malformed"]
    assert discover(package, ["good"]) == ["bench_good"]
    assert discover(package, ["bench_boom"]) == ["bench_boom"]


def test_a_failing_module_becomes_a_failed_row_and_the_others_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = make_package(tmp_path, good=GOOD, boom=BOOM, malformed=MALFORMED, exits=EXITS)
    code = main(harness(package, tmp_path, "--no-postgres", "--quick"))
    table = capsys.readouterr().out
    assert code == 1  # a module errored
    lines = table.splitlines()
    assert lines[0].split(" | ")[0].strip() == "what"
    assert "floor in the same run" in lines[0]
    assert any("good thing" in line and "600 msg/s" in line and "yes" in line for line in lines)
    assert any("bench_boom: FAILED" in line and "the database fell over" in line for line in lines)
    assert any("bench_malformed: FAILED" in line and "lacks floor" in line for line in lines)
    assert any("bench_exits: FAILED" in line and "exited 3" in line for line in lines)
    # --quick reaches the module; no PostgreSQL was asked for
    assert any("quick flag" in line and "True" in line for line in lines)
    assert any("pg given" in line and "False" in line for line in lines)


def test_results_are_written_as_markdown_with_the_date_and_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = make_package(tmp_path, good=GOOD)
    assert main(harness(package, tmp_path, "--no-postgres")) == 0
    md = (tmp_path / "out" / "results.md").read_text()
    assert f"on {os.cpu_count()} CPUs" in md
    assert "memory" in md and "UTC" in md
    assert "| what | figure | floor in the same run | ratio | target | ok |" in md
    assert "| good thing | 600 msg/s | - | - | >= 500 msg/s | yes |" in md
    assert "| quick flag | False |" in md


def test_a_module_that_overruns_its_timeout_is_reported_not_waited_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    package = make_package(tmp_path, slow=SLOW)
    assert main(harness(package, tmp_path, "--no-postgres", "--timeout", "3")) == 1
    assert "timed out after 3 s" in capsys.readouterr().out


def test_strict_fails_on_a_missed_target_and_plain_runs_do_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missed = (
        "from benchmarks import row\n"
        "def run(p, s):\n"
        '    return [row("x", "1", "-", "-", "2", False)]\n'
    )
    package = make_package(tmp_path, missed=missed)
    assert main(harness(package, tmp_path, "--no-postgres")) == 0
    assert main(harness(package, tmp_path, "--no-postgres", "--strict")) == 1


def test_rows_are_checked_and_cells_made_text() -> None:
    rows = check_rows(
        "bench_x", [{"what": "w", "figure": 1.5, "floor": None, "ratio": 2, "target": "t", "ok": 1}]
    )
    assert rows == [
        {"what": "w", "figure": "1.5", "floor": "None", "ratio": "2", "target": "t", "ok": True}
    ]
    assert check_rows("bench_x", None)[0]["what"] == "bench_x: FAILED"
    assert check_rows("bench_x", [])[0]["ok"] is False
    table = text_table(rows)
    assert table.splitlines()[1].startswith("-")


@pytest.mark.postgres
def test_each_module_gets_a_fresh_postgres_database_with_the_schema_dropped_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = os.environ.get("NUDGE_TEST_DATABASE_URL", "")
    if not url:
        pytest.skip("NUDGE_TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    from sqlalchemy import create_engine, text

    package = make_package(tmp_path, pg=PG)
    assert main(harness(package, tmp_path)) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "fresh pg" in line)
    name = line.split(" | ")[1].strip().split(":")[0]
    assert name.startswith("nudge_bench_")
    assert ":0" in line and "yes" in line
    admin = create_engine(url)
    with admin.connect() as conn:
        left = conn.execute(
            text("select count(*) from pg_database where datname = :n"), {"n": name}
        ).scalar()
    admin.dispose()
    assert left == 0


def test_scale_rows_call_growth_faster_than_linear_only_past_the_population_ratio() -> None:
    from benchmarks.bench_scale import _growth, _label

    assert _growth(1.0, 10.0, 10) == ("x10.0 (linear or better)", False)
    assert _growth(1.0, 12.0, 10) == ("x12.0 (linear or better)", False)  # within noise
    assert _growth(1.0, 30.0, 10) == ("x30.0 (faster than linear)", True)
    assert (_label(1_000_000), _label(10_000_000), _label(20_000)) == ("1M", "10M", "20k")
