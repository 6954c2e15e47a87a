"""The store's calls off the event loop: a bounded pool of worker threads, with writes kept in order per key.

``Store`` is synchronous (SQLAlchemy sessions, one short transaction per method); the rooms never call it on the
event loop, where a slow database would stall every relayed edit of every player. They ``await
service.db(store.method, ...)``: the call runs in one of ``DuelService.db_workers`` threads (more calls wait in
the executor's queue, so the database sees at most that many connections from this process).

Writes that must be committed in the order the room issued them (a battle's creation, its submissions, their
results, its end) name the same ``after`` key, the battle's id: each waits until the previous call under that key
is done, success or failure. Calls under different keys, and reads, run side by side.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Hashable, TypeVar

T = TypeVar("T")


class DatabaseWorkers:
    """A bounded thread pool for store calls, with per-key ordering."""

    def __init__(self, workers: int):
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="duel-db")
        self._last: dict[Hashable, asyncio.Future] = {}  # key -> done when the latest call under it is

    def __call__(self, fn: Callable[..., T], *args: Any, after: Hashable | None = None,
                 **kwargs: Any) -> "asyncio.Future[T]":
        """``fn(*args, **kwargs)`` in a worker thread, as a future to await; with ``after``, once every call made
        earlier under that key has finished. The order is that of these calls (taken at once, not when the
        future is first awaited)."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args, **kwargs)
        if after is None:
            return loop.run_in_executor(self._executor, call)
        previous = self._last.get(after)
        turn_over = loop.create_future()
        self._last[after] = turn_over
        return asyncio.ensure_future(self._in_turn(after, previous, turn_over, call))

    async def _in_turn(self, key: Hashable, previous: asyncio.Future | None, turn_over: asyncio.Future, call):
        loop = asyncio.get_running_loop()
        running = None

        def release(_=None) -> None:
            if not turn_over.done():
                turn_over.set_result(None)
            if self._last.get(key) is turn_over:
                del self._last[key]

        try:
            if previous is not None:
                await asyncio.shield(previous)
            running = loop.run_in_executor(self._executor, call)
            # Shielded: a cancelled caller does not let the next call under this key start while its
            # transaction still runs in the thread.
            return await asyncio.shield(running)
        finally:
            if running is not None and not running.done():
                running.add_done_callback(release)
            elif running is None and previous is not None and not previous.done():
                previous.add_done_callback(release)  # cancelled while waiting: the next still waits for ours
            else:
                release()

    def close(self) -> None:
        """Finish the calls under way and stop the threads."""
        self._executor.shutdown(wait=True, cancel_futures=True)
