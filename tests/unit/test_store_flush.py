"""The running battles' flush (``Store.flush_live``) on real SQLite and PostgreSQL: every changed seat written,
nothing of a battle that ended, the timeline appended in order, and each table's rows sent in statements of many
rows (an ``executemany`` hands the GIL over once per row, which a busy event loop pays for)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event

from jupyter_duel_server.store import SeatFlush, Store

BATTLES = 1100  # 2,200 seats: more than one statement's worth of seats on either database

HOSTILE_CODE = "x = '); DROP TABLE live_seats; --\"\n# \u00e9\u4e2d\U0001f600 %s %(x)s ? :name\n"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'duel.sqlite'}" if request.param == "sqlite"
           else request.getfixturevalue("postgres_url"))
    store = Store(url)
    yield store
    store.close()


def _battles(store: Store, count: int = BATTLES) -> list[tuple[str, int, int]]:
    battles = []
    for i in range(count):
        a, b = store.get_or_create_user(f"a{i}"), store.get_or_create_user(f"b{i}")
        store.create_battle(f"battle{i}", "add-two", a, b, False, time.time(), "shape", time_limit_s=900)
        battles.append((f"battle{i}", a.id, b.id))
    return battles


def _seats(battles, round_: int) -> list[SeatFlush]:
    return [SeatFlush(bid, uid, f"{HOSTILE_CODE}{bid}/{uid}/{round_}", round_, [[1.5, 40 + round_]],
                      [{"index": 0, "passed": round_ % 2 == 0}], f"shown {round_}", round_ - 1,
                      # a 100-bit integer: orjson refuses it, the json module writes it
                      [[round_ + 0.1, round_, [{"retain": 2 ** 100}], None], [round_ + 0.2, round_, None, "x"]])
            for bid, *uids in battles for uid in uids]


def test_a_flush_writes_every_changed_seat_and_nothing_of_an_ended_battle(store):
    battles = _battles(store)
    ended, ended_a, _ = battles[7]
    store.finish_battle(ended, status="finished", winner_id=ended_a, reason="solved", ended_at=time.time(),
                        rate=None)
    statements = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, params, context, many: statements.append((sql, many)))

    alive = [bid for bid, *_ in battles]
    written = store.flush_live(_seats(battles, 1), alive, 1000.0)
    assert written == set(alive) - {ended}
    flushes = len(statements)
    # Rows go by the statement, never one execution per row: up to 512 a statement.
    assert not any(many for _, many in statements), "an executemany: one GIL hand-over per row"
    assert flushes <= 30, f"{flushes} statements for {2 * BATTLES} seats"

    written = store.flush_live(_seats(battles, 2), alive, 2000.0)
    assert written == set(alive) - {ended}

    rows = {row["battle_id"]: row for row in store.take_over_live_battles(2500.0)}
    assert set(rows) == set(alive) - {ended}
    for bid, *uids in battles:
        if bid == ended:
            continue
        row = rows[bid]
        assert row["clock_shift_s"] == pytest.approx(500.0)  # the heartbeat of the second flush
        for seat, uid in zip(sorted(row["seats"], key=lambda s: s["name"]), uids):
            assert seat["code"] == f"{HOSTILE_CODE}{bid}/{uid}/2"
            assert seat["seq"] == 2 and seat["shown_code"] == "shown 2" and seat["shown_seq"] == 1
            assert seat["pastes"] == [[1.5, 42]]
            assert seat["last_tests"] == [{"index": 0, "passed": True}]
            # both flushes' timeline rows, in order, the big integer intact
            assert seat["timeline"] == [[1.1, 1, [{"retain": 2 ** 100}], None], [1.2, 1, None, "x"],
                                        [2.1, 2, [{"retain": 2 ** 100}], None], [2.2, 2, None, "x"]]


def test_a_flush_of_no_seats_still_beats_the_heartbeat(store):
    battles = _battles(store, 3)
    assert store.flush_live([], [bid for bid, *_ in battles], 1000.0) == set()
    rows = store.take_over_live_battles(1010.0)
    assert sorted(row["battle_id"] for row in rows) == sorted(bid for bid, *_ in battles)
    assert all(row["clock_shift_s"] == pytest.approx(10.0) for row in rows)


def test_flushes_of_every_size_use_a_few_statement_texts(store):
    """Each distinct statement text is compiled and kept in the driver's cache: a text per number of changed
    seats grew a connection's memory by 100 MB as that number varied from one flush to the next."""
    battles = _battles(store, 300)
    texts = set()
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, params, context, many: texts.add(sql))
    seats = _seats(battles, 1)
    for count in range(1, len(seats), 7):  # 86 different numbers of changed seats
        store.flush_live(seats[:count], [bid for bid, *_ in battles[:count // 2 + 1]], 1000.0 + count)
    assert len(texts) <= 4 * 10 + 2, len(texts)  # 4 statements in at most 10 sizes each, BEGIN, COMMIT

