"""Races for tests: real threads released at one instant (PostgreSQL race tests)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any


def together(*calls: Callable[[], Any], jitter: float = 0.01) -> list[Any]:
    """Run the calls on threads released at the same instant; results (or exceptions).

    Each thread waits a random 0-`jitter` seconds after the barrier, so over the rounds
    every order of the critical steps gets its turn.
    """
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        time.sleep(random.uniform(0, jitter))
        try:
            results[i] = call()
        except Exception as error:  # noqa: BLE001 - reported to the test as a result
            results[i] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
