"""Send rate rules: token bucket pacing and jittered exponential backoff."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from app.domain.send_rate import BACKOFF_CAP, TokenBucket, backoff


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_the_bucket_allows_a_burst_then_paces_at_the_rate() -> None:
    fake = FakeTime()
    bucket = TokenBucket(10, monotonic=fake.monotonic, sleep=fake.sleep)
    for _ in range(10):
        bucket.acquire()
    assert fake.slept == []
    for _ in range(20):
        bucket.acquire()
    assert fake.now - 100.0 == pytest.approx(2.0)  # 20 more at 10/s


def test_a_bucket_without_a_rate_never_waits() -> None:
    fake = FakeTime()
    bucket = TokenBucket(None, monotonic=fake.monotonic, sleep=fake.sleep)
    for _ in range(10_000):
        bucket.acquire()
    assert fake.slept == []


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_backoff_doubles_with_jitter_between_half_and_all_of_the_step() -> None:
    rng = random.Random(7)
    for attempts, step in [(1, 30), (2, 60), (3, 120), (4, 240)]:
        waits = [backoff(attempts, rng) for _ in range(200)]
        assert all(timedelta(seconds=step / 2) <= w <= timedelta(seconds=step) for w in waits)
        assert len(set(waits)) > 100  # jittered, not one value


def test_backoff_is_capped_at_an_hour() -> None:
    assert backoff(30, random.Random(1)) <= BACKOFF_CAP
