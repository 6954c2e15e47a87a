"""The store: results and rating changes are atomic, even when two processes finish battles of one player."""

from __future__ import annotations

import threading
import time

from jupyter_duel_server.rating import EloRating
from jupyter_duel_server.store import Store


def test_overlapping_results_never_lose_a_rating_update(tmp_path):
    url = f"sqlite:///{tmp_path / 'duel.sqlite'}"
    setup = Store(url)
    star = setup.get_or_create_user("star", guest=False)
    battles = []
    for i in range(40):
        rival = setup.get_or_create_user(f"rival{i}", guest=False)
        setup.create_battle(f"b{i}", "add-two", star, rival, ranked=True, started_at=time.time())
        battles.append(f"b{i}")
    setup.close()
    elo = EloRating(k_factor=16, provisional_games=0)

    def finish(ids):
        store = Store(url)  # its own engine and connections, as another service process would have
        for battle_id in ids:
            store.finish_battle(
                battle_id, status="finished", winner_id=star.id, reason="solved", ended_at=time.time(),
                rate=lambda a, b: elo.update(a, b, 1.0, time.time()),
            )
        store.close()

    workers = [threading.Thread(target=finish, args=(battles[k::2],)) for k in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    store = Store(url)
    final = store.get_user("star")
    assert final.games == 40 and final.wins == 40
    history = store.user_battles("star")
    befores = sorted(b["rating_before"] for b in history)
    afters = sorted(b["rating_after"] for b in history)
    # A chain: every battle started from the rating the previous one left, none from a stale copy.
    assert sorted(befores + [final.rating]) == sorted([1200.0] + afters)
    assert len(set(befores)) == 40


def test_refused_result_changes_nothing(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'duel.sqlite'}")
    a, b = store.get_or_create_user("a", False), store.get_or_create_user("b", False)
    store.create_battle("x", "add-two", a, b, ranked=True, started_at=0)
    store.finish_battle("x", status="finished", winner_id=a.id, reason="solved", ended_at=1, rate=None)
    try:
        store.finish_battle("x", status="finished", winner_id=b.id, reason="solved", ended_at=2, rate=None)
    except ValueError:
        pass
    else:
        raise AssertionError("a finished battle was finished again")
    assert store.user_battles("a")[0]["result"] == "win"


def test_a_read_does_not_wait_for_a_write_in_progress_on_sqlite(tmp_path):
    """Reads run in transactions of their own (deferred BEGIN, WAL): a writer holding SQLite's lock, here another
    process's open transaction, does not hold up the leaderboard or a profile, which see the last commit."""
    import sqlite3

    path = tmp_path / "duel.sqlite"
    store = Store(f"sqlite:///{path}")
    store.get_or_create_user("ann", guest=False)
    writer = sqlite3.connect(path, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE users SET rating = 1 WHERE name = 'ann'")
    try:
        assert store.get_user("ann").rating == 1200.0
        assert store.counts()["users"] == 1
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    store.close()
