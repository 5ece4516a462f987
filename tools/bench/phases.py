"""Wall time and calls per named phase of a loop, by wrapping the methods that make up each phase."""

from __future__ import annotations

import contextlib
import functools
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from bench.passes import PassCounter


class PhaseTimer:
    """Adds up seconds and calls per phase; phases may nest, each keeps its own total.

    ``sync`` (a CUDA synchronise) runs at both ends of a phase so queued device work is
    charged to the phase that queued it. With a ``PassCounter`` the phase also marks the
    model passes made inside it.
    """

    def __init__(self, counter: PassCounter | None = None, sync: Callable[[], None] | None = None):
        self.counter = counter
        self.sync = sync
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    @contextlib.contextmanager
    def measure(self, name: str) -> Iterator[None]:
        marked = self.counter.phase(name) if self.counter is not None else contextlib.nullcontext()
        if self.sync is not None:
            self.sync()
        start = time.perf_counter()
        try:
            with marked:
                yield
        finally:
            if self.sync is not None:
                self.sync()
            self.seconds[name] += time.perf_counter() - start
            self.calls[name] += 1

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        """Replace ``owner.attribute`` (a method) by one that runs inside ``measure(name)``."""
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.measure(name):
                return original(*args, **kwargs)

        setattr(owner, attribute, timed)

    def lap(self) -> tuple[dict[str, float], dict[str, int]]:
        """Seconds and calls per phase since the last lap; starts the next lap from zero."""
        seconds, calls = dict(self.seconds), dict(self.calls)
        self.seconds.clear()
        self.calls.clear()
        return seconds, calls
