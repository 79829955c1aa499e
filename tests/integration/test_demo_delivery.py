"""`make run`'s demo exercises every row of the delivery report: the outbox provider
reports delivery, and two invited demo patients hold its designated failing numbers."""

from __future__ import annotations


def test_the_demo_campaign_has_delivered_and_both_kinds_of_failed_texts(runner) -> None:
    loaded = runner.invoke(args=["demo", "load"])
    assert loaded.exit_code == 0, loaded.output
    ran = runner.invoke(args=["scheduler", "run-once", "--now", "2026-01-14T10:00+00:00"])
    assert ran.exit_code == 0, ran.output
    line = next(x for x in ran.output.splitlines() if x.startswith("outbox_receipts:"))
    assert "1 permanent-failure" in line and "1 temporary-failure" in line, line
    assert " delivered" in line
