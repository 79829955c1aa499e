"""How fast and how often Nudge may text: provider rate, per-number hourly caps, retry backoff."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import timedelta

# UK networks block a sender that floods one handset: more than 20 identical or 100
# messages of any content to one number in an hour (Twilio's guidance for UK long codes)
MAX_IDENTICAL_PER_HOUR = 20
MAX_ANY_PER_HOUR = 100
PER_NUMBER_PERIOD = timedelta(hours=1)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Wait before retry number `attempts` (1 = after the first failure).

    Exponential (30 s, 1 min, 2 min, ...; capped at an hour) with "full jitter" (AWS
    Architecture Blog, 2015): a random wait in [half, all] of the step, so dispatchers that
    failed together do not retry together and hammer a recovering provider.
    """
    step = BACKOFF_BASE * (2 ** max(0, attempts - 1))
    step = min(step, BACKOFF_CAP)
    fraction = (rng or random).uniform(0.5, 1.0)
    return step * fraction


class TokenBucket:
    """At most `rate` sends a second on average, bursts of at most `burst` (default: 1 s worth).

    The provider's limit (Twilio: about 1 message a second per long code unless raised,
    more through a Messaging Service) is a rate of requests, so it is measured on the
    monotonic clock of this process, not on the injected business clock. `rate=None`
    lifts the limit (benchmarks). Thread-safe, so dispatcher threads can share one.
    """

    def __init__(
        self,
        rate: float | None,
        burst: float | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive (or None for no limit)")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate or 1.0)
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = self.burst
        self._last = monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is free; returns the seconds slept."""
        if self.rate is None:
            return 0.0
        with self._lock:
            now = self._monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait
