"""Batches of rows produced in a thread: the import's Python row checks run on one core
while the database loads the previous batch on the other.

The database works on a batch without the GIL (psycopg while the server copies or
merges a chunk; SQLite inside the one sqlite3_step of a batch's upsert), so producing
the next rows in a thread overlaps the two.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any


class BatchThread:
    """Hands over batches of rows produced in a thread through a queue (or inline).

    The database works on a batch without the GIL (psycopg while the server copies or
    merges a chunk; SQLite inside the one sqlite3_step of a batch's upsert), so the
    Python checks of the next rows run on the other core meanwhile. The thread also
    encodes each batch for its loader (`encode`: COPY text, a JSON array), a few hundred
    bytes a row, so the queue can hold `ahead` batches cheaply (on PostgreSQL a whole
    merge chunk, ~10 MB, so the checks never wait for the server's merge). Errors in
    the thread (a decode error, a bad CSV) are re-raised in the caller; an error in the
    caller stops the thread. `threaded=False` runs the checks inline (for debugging).
    """

    _END = object()

    def __init__(
        self,
        rows: Iterator[tuple[Any, ...]],
        batch_size: int,
        progress: Callable[[], int],
        *,
        threaded: bool,
        encode: Callable[[list[tuple[Any, ...]]], Any] | None = None,
        ahead: int = 4,
    ) -> None:
        self.rows = rows
        self.progress = progress
        self.threaded = threaded
        self.batch_size = batch_size
        self.encode = encode
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=max(ahead, 1))
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="import-parser", daemon=True)

    def __enter__(self) -> BatchThread:
        if self.threaded:
            self.thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if not self.threaded:
            return
        self.stop.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):  # unblock a put() on a full queue
                self.queue.get(timeout=0.05)
        self.thread.join()

    def _put(self, item: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _batches(self) -> Iterator[tuple[Any, int, int]]:
        """(batch, encoded if `encode`; its row count; `progress()` as the batch left)."""
        encode = self.encode
        chunk: list[tuple[Any, ...]] = []
        append = chunk.append
        size = self.batch_size
        for row in self.rows:
            append(row)
            if len(chunk) >= size:
                yield (encode(chunk) if encode else chunk), len(chunk), self.progress()
                chunk = []
                append = chunk.append
        if chunk:
            yield (encode(chunk) if encode else chunk), len(chunk), self.progress()

    def _run(self) -> None:
        try:
            for item in self._batches():
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the caller, re-raised there
            self.error = exc
        self._put(self._END)

    def __iter__(self) -> Iterator[tuple[Any, int, int]]:
        if not self.threaded:
            yield from self._batches()
            return
        while True:
            item = self.queue.get()
            if item is self._END:
                if self.error is not None:
                    raise self.error
                return
            yield item
