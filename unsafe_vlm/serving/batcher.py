"""Gather concurrent requests into batches, answered one batch at a time in one worker thread.

The event loop submits jobs and awaits their futures, so it keeps accepting requests while a
batch generates. A batch holds jobs of one ``key`` (equal generation options), in arrival order:
the worker takes the oldest waiting job, then waits up to ``wait_s`` for more with its key, up to
``max_size``. A job whose key is None runs alone. Jobs of other keys wait for a later batch.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Answer = Callable[[Sequence[Any]], Sequence[Any]]
"""Payloads of one batch -> one result per payload, in order (an ``Exception`` fails just that job)."""


@dataclass
class Job:
    payload: Any
    key: Hashable | None
    future: Future = field(default_factory=Future)


_STOP = object()


class Batcher:
    def __init__(self, answer: Answer, *, max_size: int, wait_s: float) -> None:
        self.answer = answer
        self.max_size = max_size
        self.wait_s = wait_s
        self.batch_sizes: list[int] = []  # one entry per batch answered, for logs and tests
        self._queue: queue.Queue = queue.Queue()
        self._waiting: deque[Job] = deque()  # taken from the queue, held for a later batch
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="serve-batcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Answer the jobs submitted so far, then stop; any submitted later fail."""
        self._queue.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, payload: Any, key: Hashable | None) -> Future:
        job = Job(payload, key)
        self._queue.put(job)
        return job.future

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._run(batch)
        while not self._queue.empty():
            job = self._queue.get()
            if job is not _STOP:
                job.future.set_exception(RuntimeError("the server is stopping"))

    def _run(self, batch: list[Job]) -> None:
        self.batch_sizes.append(len(batch))
        try:
            results = self.answer([job.payload for job in batch])
        except Exception as error:  # the whole batch failed: each of its requests gets the error
            log.exception("a batch of %d failed", len(batch))
            results = [error] * len(batch)
        for job, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)

    def _next_batch(self) -> list[Job] | None:
        first = self._waiting.popleft() if self._waiting else self._queue.get()
        if first is _STOP:
            return None
        batch = [first]
        if first.key is None:
            return batch
        later = deque()
        for job in self._waiting:
            (batch if job.key == first.key and len(batch) < self.max_size else later).append(job)
        self._waiting = later
        deadline = time.monotonic() + self.wait_s
        while len(batch) < self.max_size:
            try:
                job = self._queue.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                break
            if job is _STOP:
                self._queue.put(_STOP)  # seen again once this batch and the waiting jobs are done
                break
            (batch if job.key == first.key else self._waiting).append(job)
        return batch
