"""Scale: what one PostgreSQL carries, at 1,000,000 and at 10,000,000 patients.

Each population gets its own database on the same server (made and dropped here), and
each figure sits beside a floor measured in the same run on the same rows:
- import: the population as practice-sized lists (PER_PRACTICE patients each, one
  practice per file) through the real importer, WORKERS processes in parallel; floor, a
  psycopg `COPY` (FORMAT csv) of the same rows into a plain table on one connection.
  The files repeat a few synthetic lists across practices (unique per practice, as
  the schema requires), so writing them costs nothing at 10M.
- cohort preview for a 50-practice campaign and for all practices; floor, `count(*)`
  of the same patients.
- a 100,000-offer wave (bench_wave's rolled-back COPY floor) for a campaign of enough
  practices to hold it, its mobiles relabelled as bench_wave does (one open offer per
  number, and only 1,000 drama numbers exist).
- the replies job draining a burst of stored texts (bench_replies' residents and drain).
- the two-way uptake report on bench_report's data built at this population (a fifth of
  it invited); floor, `count(*)` of the campaign's members.
How each grew from the small population to the large one sits in the ratio column,
against the growth of the population (x10): "faster than linear" means more than
SUPERLINEAR times that.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.data.db import Database
from app.domain.suppression import Rule
from app.services import campaigns, cohort, offers, replies, reports
from benchmarks import bench_replies, bench_report, bench_wave, row, size
from benchmarks.__main__ import fresh_pg_database

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCALES = (size(1_000_000, 20_000), size(10_000_000, 200_000))
PER_PRACTICE = 1_600
LISTS = 16  # distinct synthetic lists, repeated across practices
WORKERS = 4  # import processes in parallel (2 cores: the database gets the rest)
CAMPAIGN_PRACTICES = 50
WAVE = size(100_000, 2_000)
BURST = size(20_000, 200)
REPORT_BY = ("ethnic_category", "practice")  # the slowest pair at 1M (bench_report)
SUPERLINEAR = 1.25
NOW = bench_wave.NOW

IMPORT_CHILD = """
import json, sys, time
from app.data.db import Database
from app.services import importing
from benchmarks.bench_wave import NOW
url, jobs = sys.argv[1], json.load(sys.stdin)
db = Database.from_url(url)
added = 0
started = time.perf_counter()
for path, ods in jobs:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        result = importing.import_patients(
            db, stream, practice_ods=ods, now=NOW, imported_by="bench",
            allow_test_numbers=True, file_name=f"{ods}.csv",
        )
    added += result.added
print(json.dumps({"added": added, "seconds": time.perf_counter() - started}))
"""


def _say(msg: str) -> None:
    print(f"[bench_scale] {msg}", file=sys.stderr, flush=True)


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1_000}k"


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _once(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _lists(directory: Path) -> list[Path]:
    from app.domain.synthetic import write_gp_list

    paths = []
    for n in range(LISTS):
        path = directory / f"list{n:02d}.csv"
        if not path.exists():
            with path.open("w", encoding="utf-8", newline="") as f:
                # even seeds: one header layout family and "\n" endings, so the floor's
                # single COPY stream reads every file alike
                write_gp_list(f, PER_PRACTICE, seed=2 * n, unique_mobiles=True)
        paths.append(path)
    return paths


def _practices(db: Database, count: int) -> list[str]:
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO practice (ods_code, name, created_at) "
                "SELECT 'S' || lpad(g::text, 5, '0'), 'Scale practice ' || g, now() "
                "FROM generate_series(1, :n) g"
            ),
            {"n": count},
        )
    return [f"S{n:05d}" for n in range(1, count + 1)]


def _copy_floor(url: str, lists: list[Path], practices: int) -> float:
    """COPY of the same rows (each practice's list, headers dropped) into a plain table."""
    bodies = [p.read_bytes().split(b"\n", 1)[1] for p in lists]
    columns = ", ".join(f"c{i} text" for i in range(13))
    with psycopg.connect(_dsn(url)) as conn:
        conn.execute(f"CREATE TABLE bench_plain ({columns})")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY bench_plain FROM STDIN (FORMAT csv)") as copy:
            for n in range(practices):
                copy.write(bodies[n % LISTS])
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_plain")
        conn.commit()
    return elapsed


def _import(url: str, lists: list[Path], odss: list[str]) -> tuple[float, int]:
    jobs: list[list[tuple[str, str]]] = [[] for _ in range(WORKERS)]
    for n, ods in enumerate(odss):
        jobs[n % WORKERS].append((str(lists[n % LISTS]), ods))
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", IMPORT_CHILD, url],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in jobs
    ]
    for proc, j in zip(procs, jobs, strict=True):
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(j))
        proc.stdin.close()
    added = 0
    for proc in procs:
        out = proc.stdout.read() if proc.stdout else ""
        if proc.wait():  # its traceback went to stderr
            raise RuntimeError(f"import worker exited {proc.returncode}")
        added += json.loads(out.strip().splitlines()[-1])["added"]
    return time.perf_counter() - started, added


def _count(db: Database, sql: str, **params: Any) -> Callable[[], Any]:
    def go() -> Any:
        with db.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    return go


def _wave(db: Database, odss: list[str], eligible_per_practice: float) -> dict[str, float]:
    """A campaign over enough practices for a WAVE-offer wave, 3 slots per offer free."""
    wanted = min(len(odss), math.ceil(1.5 * WAVE / max(eligible_per_practice, 1)))
    chosen = odss[:wanted]
    with db.engine.begin() as conn:
        pids = list(
            conn.execute(
                text("SELECT id FROM practice WHERE ods_code = ANY(:o) ORDER BY id"), {"o": chosen}
            ).scalars()
        )
        # one open offer per number: labels, as bench_wave stores
        conn.execute(
            text(
                "UPDATE patient SET mobile = 'bench-' || id "
                "WHERE practice_id = ANY(:p) AND mobile IS NOT NULL"
            ),
            {"p": pids},
        )
        # 18 a room-day in 10 rooms from FIRST_DAY, spread over the practices
        conn.execute(
            text(
                """INSERT INTO slot (practice_id, starts_at, duration_minutes, location, state,
                        created_at)
                   SELECT (CAST(:p AS int[]))[1 + g % :np],
                       CAST(:first AS timestamptz)
                           + ((g / :np) / 180) * interval '1 day'
                           + (ARRAY[540,560,580,600,620,640,660,680,700,840,860,880,900,
                                    920,940,960,980,1000])[1 + ((g / :np) / 10) % 18]
                             * interval '1 minute',
                       20, 'Room ' || ((g / :np) % 10), 'free', now()
                   FROM generate_series(0, :n - 1) g"""
            ),
            {
                "p": pids,
                "np": len(pids),
                "first": datetime.combine(bench_wave.FIRST_DAY, datetime.min.time(), UTC),
                "n": 3 * WAVE,
            },
        )
    spec = campaigns.CampaignSpec(
        name="Scale wave",
        practices=chosen,
        lawful_basis="Benchmark (synthetic data)",
        variants=(("control", 1), ("deadline", 1), ("social_norm", 1)),
        seed=1,
    )
    campaign_id = campaigns.create(db, spec, now=NOW, actor="bench")
    approve_s = _once(lambda: campaigns.approve(db, campaign_id, now=NOW, actor="bench"))
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    floor_s = bench_wave._floor(db, WAVE)
    started = time.perf_counter()
    made = offers.plan_wave(db, campaign_id, now=NOW)
    wave_s = time.perf_counter() - started
    if made < 0.99 * WAVE:
        raise RuntimeError(f"the wave made {made} offers, not {WAVE}")
    return {
        "wave": wave_s,
        "wave_floor": floor_s,
        "approve": approve_s,
        "practices": wanted,
        "offers": made,
    }


def _replies(db: Database, url: str) -> float:
    """BURST stored texts from bench_replies' residents, drained by the replies job (one
    process, from the database at `url`)."""
    now = datetime.now(UTC)
    mobiles = bench_replies._seed(db, now)
    choices = bench_replies.CHOICES
    for n in range(BURST):
        replies.receive_inbound(
            db,
            message_sid=f"SM{uuid.uuid4().hex}",
            from_number=mobiles[n % len(mobiles)],
            to_number="+447700900000",
            body=choices[n % len(choices)],
            now=now,
        )
    acted, seconds = bench_replies._drain(url, "http://127.0.0.1", 1)
    if acted != BURST:
        raise RuntimeError(f"the replies job acted on {acted} texts, not {BURST}")
    return seconds


def _population(url: str, patients: int, lists: list[Path]) -> dict[str, float]:
    got: dict[str, float] = {}
    db = Database.from_url(url)
    try:
        odss = _practices(db, patients // PER_PRACTICE)
        _say(f"{_label(patients)}: importing {len(odss):,} practice lists, {WORKERS} at a time")
        got["import_floor"] = _copy_floor(url, lists, len(odss))
        got["import"], added = _import(url, lists, odss)
        got["patients"] = added
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE patient"))
        _say(f"{_label(patients)}: import {got['import']:.1f} s, floor {got['import_floor']:.1f} s")

        some = odss[:CAMPAIGN_PRACTICES]
        got["preview50_floor"] = bench_report._timed(
            _count(
                db,
                "SELECT count(*) FROM patient p JOIN practice r ON r.id = p.practice_id "
                "WHERE r.ods_code = ANY(:o)",
                o=some,
            )
        )
        got["preview50"] = bench_report._timed(lambda: cohort.preview_for(db, some, NOW.date()))
        got["preview_all_floor"] = bench_report._timed(
            _count(db, "SELECT count(*) FROM patient"), repeat=1
        )
        got["preview_all"] = bench_report._timed(
            lambda: cohort.preview_for(db, odss, NOW.date()), repeat=1
        )
        eligible = cohort.preview_for(db, some, NOW.date()).eligible
        _say(f"{_label(patients)}: previews {_floors(got, 'preview50', 'preview_all')}")

        got.update(_wave(db, odss, eligible / len(some)))
        _say(f"{_label(patients)}: {_floors(got, 'wave')} over {got['practices']} practices")
    finally:
        db.dispose()
    return got


def _report(url: str, patients: int) -> dict[str, float]:
    db = Database.from_url(url)
    try:
        campaign_id = bench_report.generate(db, patients, patients // 5)
        cold = _once(lambda: reports.refresh_all(db, now=NOW))
        floor = bench_report._timed(
            _count(db, "SELECT count(*) FROM campaign_member WHERE campaign_id = :c", c=campaign_id)
        )
        rule = Rule()
        report = bench_report._timed(
            lambda: reports.uptake(db, campaign_ids=[campaign_id], by=REPORT_BY, rule=rule, now=NOW)
        )
    finally:
        db.dispose()
    got = {"report": report, "report_floor": floor, "refresh": cold}
    _say(f"{_label(patients)}: {_floors(got, 'report')}, refresh {cold:.1f} s")
    return got


def _floors(got: dict[str, float], *keys: str) -> str:
    """Progress line: each figure with its floor, so a run cut short still tells them."""
    return ", ".join(f"{k} {got[k]:.2f} s (floor {got[k + '_floor']:.2f} s)" for k in keys)


def _growth(small: float, large: float, size_ratio: float) -> tuple[str, bool]:
    grew = large / small if small else math.inf
    faster = grew > SUPERLINEAR * size_ratio
    return f"x{grew:.1f} ({'faster than linear' if faster else 'linear or better'})", faster


def _rows(small: dict[str, float], large: dict[str, float], sizes: tuple[int, int]):  # type: ignore[no-untyped-def]
    a, b = (_label(n) for n in sizes)
    k = sizes[1] / sizes[0]

    def fmt(v: float) -> str:
        return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.1f} s"

    def line(what: str, key: str, floor: str | None, floor_what: str, note: str = "") -> Any:
        grew, faster = _growth(small[key], large[key], k)
        floor_cell = "-"
        if floor:
            floor_grew = large[floor] / small[floor] if small[floor] else math.inf
            floor_cell = (
                f"{floor_what} {a}: {fmt(small[floor])}; {b}: {fmt(large[floor])} "
                f"(x{floor_grew:.1f})"
            )
            grew += f"; {large[key] / large[floor]:.1f}x floor at {b}"
        return row(
            what,
            f"{a}: {fmt(small[key])}; {b}: {fmt(large[key])}",
            floor_cell,
            grew,
            f"grows no faster than the population (x{k:.0f}){note}",
            not faster,
        )

    fixed = "; fixed-size work: ideally x1"
    return [
        line(
            f"import as {PER_PRACTICE:,}-patient practice lists, {WORKERS} processes "
            f"({int(small['patients']):,} / {int(large['patients']):,} added)",
            "import",
            "import_floor",
            "COPY csv of the same rows",
        ),
        line(
            f"cohort preview, {CAMPAIGN_PRACTICES}-practice campaign (median of 3)",
            "preview50",
            "preview50_floor",
            "count(*) of its patients",
            "; same 50 practices: ideally x1",
        ),
        line("cohort preview, all practices", "preview_all", "preview_all_floor", "count(*)"),
        line(
            f"wave planning: {int(small['offers']):,} / {int(large['offers']):,} offers "
            f"({int(small['practices'])} / {int(large['practices'])} practices)",
            "wave",
            "wave_floor",
            "COPY of the same rows",
            fixed,
        ),
        line(
            f"approval of that campaign (cohort snapshot of ~{int(1.5 * WAVE):,} eligible)",
            "approve",
            None,
            "",
            fixed,
        ),
        line(
            f"replies job draining a {BURST:,}-reply burst (one process)",
            "drain",
            None,
            "",
            fixed,
        ),
        line(
            f"two-way uptake report ({' x '.join(REPORT_BY)}; a fifth of patients invited; "
            "median of 3)",
            "report",
            "report_floor",
            "count(*) of members",
        ),
        line("funnel stamp refresh, cold (scheduler, off the request path)", "refresh", None, ""),
    ]


def run(pg_url: str | None, sqlite_dir: str) -> list[dict[str, object]]:
    if not pg_url:
        return [row("scale (PostgreSQL)", "skipped: no PostgreSQL", "-", "-", "-", False)]
    lists = _lists(Path(sqlite_dir))
    got = []
    for patients in SCALES:
        # each population on its own databases on this server, dropped before the next
        with fresh_pg_database(pg_url) as url:
            assert url is not None
            measured = _population(url, patients, lists)
            with fresh_pg_database(pg_url) as report_url:
                assert report_url is not None
                measured.update(_report(report_url, patients))
            # last: the longest and least telling of the figures
            db = Database.from_url(url)
            try:
                measured["drain"] = _replies(db, url)
            finally:
                db.dispose()
            _say(f"{_label(patients)}: {BURST:,} replies drained in {measured['drain']:.1f} s")
        got.append(measured)
    return _rows(got[0], got[1], SCALES)


if __name__ == "__main__":
    from benchmarks.__main__ import standalone

    standalone(run)
