"""The API's workers: at most `workers` questions or searches at once, a bounded queue behind
them, and a refusal (HTTP 429, or an MCP tool error) past it instead of an endless wait.

The chat has its own queue (Gradio's); this pool serves /v1/* and /mcp. Work runs on worker
threads of a limiter of its own, so waiting requests hold no thread and never take Gradio's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import AssistantError

T = TypeVar("T")


class Busy(AssistantError):
    """Every worker is busy and the queue is full: try again shortly."""


class Pool:
    """Runs blocking calls on `workers` threads, with up to `queue` more calls waiting."""

    def __init__(self, workers: int, queue: int) -> None:
        self.workers = max(1, workers)
        self.queue = max(0, queue)
        self._limiter: Any = None  # an anyio.CapacityLimiter, made inside the event loop
        self.refused = 0

    def _get(self) -> Any:
        import anyio

        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.workers)
        return self._limiter

    def admit(self) -> None:
        """Raise Busy when `workers` calls run and `queue` more wait already."""
        stats = self._get().statistics()
        if stats.borrowed_tokens + stats.tasks_waiting >= self.workers + self.queue:
            self.refused += 1
            raise Busy(f"all {self.workers} workers are busy and {self.queue} requests are "
                       "waiting; try again in a moment")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on a worker thread; Busy at once when the pool is full (see `admit`).

        Nothing is awaited between the check and the wait for a worker, so two requests
        cannot both take the last place in the queue.
        """
        import anyio

        self.admit()
        return await anyio.to_thread.run_sync(lambda: fn(*args), limiter=self._get())
