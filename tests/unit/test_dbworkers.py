"""The database worker pool: calls run off the event loop, and calls under one key in the order they were made."""

from __future__ import annotations

import asyncio
import threading

from jupyter_duel_server.dbworkers import DatabaseWorkers


async def test_a_blocked_call_blocks_neither_the_loop_nor_other_keys_but_holds_its_own_key():
    db = DatabaseWorkers(4)
    gate = threading.Event()
    done: list[str] = []

    def write(name: str, wait: threading.Event | None = None) -> str:
        if wait is not None:
            assert wait.wait(30)
        done.append(name)
        return name

    first = db(write, "b1-create", gate, after="b1")
    second = db(write, "b1-submission", after="b1")
    other = await db(write, "b2-create", after="b2")  # another battle's write goes through meanwhile
    read = await db(write, "read")  # and so does a read
    ticks = 0
    for _ in range(3):  # the event loop runs
        await asyncio.sleep(0)
        ticks += 1
    assert (other, read, ticks) == ("b2-create", "read", 3)
    assert not first.done() and not second.done() and done == ["b2-create", "read"]
    gate.set()
    assert await second == "b1-submission" and await first == "b1-create"
    assert done == ["b2-create", "read", "b1-create", "b1-submission"]  # in the order they were made
    db.close()


async def test_a_failed_call_still_lets_the_next_one_under_its_key_run():
    db = DatabaseWorkers(2)

    def fail():
        raise ValueError("refused")

    failing, after = db(fail, after="k"), db(lambda: "ran", after="k")
    try:
        await failing
    except ValueError as exc:
        assert str(exc) == "refused"
    else:
        raise AssertionError("the failure was lost")
    assert await after == "ran"
    db.close()
