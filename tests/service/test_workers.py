"""Several service processes (workers) on one database (SQLite, or a real PostgreSQL), joined by a real Redis
(pytest-redis starts Debian's redis-server): real service processes, real Socket.IO clients. Players of different
workers are matched and play to the end on the worker that runs their battle; the instructor sees every worker's
players and battles; a worker killed mid-battle has its battles carried on, by one worker only, with nothing
lost."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
import sqlalchemy

from jupyter_duel_server.challenges import ChallengeLibrary

from helpers import RATED_GUESTS, Player, ServiceProcess, get_json, judged
from test_class import next_room, teacher

LIBRARY = ChallengeLibrary(ChallengeLibrary.default_dirs())
LEASE_S = 3.0
FLUSH_S = 0.3


@pytest.fixture
def redis_url(redis_proc):
    url = f"redis://{redis_proc.host}:{redis_proc.port}/0"
    yield url
    redis.Redis.from_url(url).flushall()


class Cluster:
    """Worker processes on one database (SQLite, or ``db_url``) and one Redis; ``players`` made on them are closed
    at the end."""

    def __init__(self, tmp_path, redis_url: str, db_url: str | None = None, lease_s: float = LEASE_S):
        self.tmp, self.redis_url, self.lease_s = tmp_path, redis_url, lease_s
        self.db_url = db_url or f"sqlite:///{tmp_path / 'duel.sqlite'}"
        self.workers: dict[str, ServiceProcess] = {}
        self.made: list[Player] = []
        self._engine: sqlalchemy.Engine | None = None  # the test's own reads (db_rows), made on first use

    @property
    def engine(self) -> sqlalchemy.Engine:
        if self._engine is None:
            self._engine = sqlalchemy.create_engine(self.db_url)
        return self._engine

    def start(self, worker: str) -> ServiceProcess:
        svc = ServiceProcess(
            self.tmp, *RATED_GUESTS, "--DuelService.countdown_s=0", "--DuelService.match_interval_s=0.2",
            f"--DuelService.state_flush_interval_s={FLUSH_S}", f"--DuelService.worker_lease_s={self.lease_s}",
            f"--DuelService.redis_url={self.redis_url}", f"--DuelService.worker_id={worker}",
            "--DuelService.redis_max_connections=16", "--log-level=INFO", db_url=self.db_url,
        )
        self.workers[worker] = svc.start()
        return svc

    async def player(self, worker: str, name: str, guest_key: str | None = None) -> Player:
        player = Player(self.workers[worker].url, name, guest_key=guest_key)
        self.made.append(await player.connect())
        return player

    async def follow(self, player: Player, found: dict) -> Player:
        moved = await follow(player, found)
        if moved is not player:
            self.made.append(moved)
        return moved

    async def close(self):
        for player in self.made:
            await player.close()
        for svc in self.workers.values():
            svc.stop()
        if self._engine is not None:
            self._engine.dispose()


async def follow(player: Player, found: dict) -> Player:
    """``player`` goes where ``found`` (match_found or registered) says its battle runs, resumes it there and
    closes the connection it had; the same player when it is there already."""
    if found["worker_url"] == player.url:
        return player
    moved = Player(found["worker_url"], player.display_name, guest_key=player.guest_key)
    await moved.connect()
    assert (await moved.call("resume", {"resume_token": found["resume_token"]}))["ok"]
    state = await moved.expect("battle_state")
    assert state["battle_id"] == found["battle_id"] and state["worker_url"] == found["worker_url"]
    await player.close()
    return moved


@pytest.fixture
async def cluster(tmp_path, redis_url):
    made = Cluster(tmp_path, redis_url)
    yield made
    await made.close()


def db_rows(cluster: Cluster, sql: str, **params) -> list[tuple]:
    """Rows of ``sql`` on the cluster's database (SQLite or PostgreSQL), read as another client would."""
    with cluster.engine.connect() as db:
        return [tuple(row) for row in db.execute(sqlalchemy.text(sql), params)]


async def until(condition, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.1)


async def matched(a: Player, b: Player, ranked: bool = False) -> tuple[dict, dict]:
    assert (await a.call("join_queue", {"pool": "easy", "ranked": ranked}))["ok"]
    await a.expect("queue_update")
    ack = await b.call("join_queue", {"pool": "easy", "ranked": ranked})
    assert ack["ok"], ack
    return await a.expect("match_found"), await b.expect("match_found")


async def test_players_of_two_workers_play_a_battle_to_the_end(cluster):
    w0 = cluster.start("0")
    cluster.start("1")
    alice, bob = await cluster.player("0", "alice"), await cluster.player("1", "bob")
    m1, m2 = await matched(alice, bob)
    assert m1["battle_id"] == m2["battle_id"]
    # Both are told the one worker that runs it: the worker of one of them (here the lobby's, alice's).
    assert m1["worker_url"] == m2["worker_url"] == w0.url
    bob = await cluster.follow(bob, m2)
    bid, challenge = m1["battle_id"], LIBRARY.get(m1["challenge"]["id"])
    # A player busy on a battle cannot queue from any worker.
    elsewhere = await cluster.player("1", "alice", guest_key=alice.guest_key)
    await elsewhere.refused("join_queue", {"pool": "easy", "ranked": False}, "in_battle")
    # The mirror flows between the two, both now on worker 0.
    text = challenge.starter_code + "# alice\n"
    assert (await alice.call("sync_code", {"battle_id": bid, "seq": 1, "text": text}))["ok"]
    seen = await bob.expect("opponent_code")
    assert seen["text"] == text and seen["seq"] == 1
    # The battle's events on the worker that does not run it are refused with where it runs.
    refused = await elsewhere.refused("sync_code", {"battle_id": bid, "seq": 2, "text": text}, "wrong_worker")
    assert w0.url in refused["message"]
    result = await judged(bob, bid, challenge.reference)
    assert result["verdict"] == "AC"
    done = [await p.expect("battle_complete", timeout=30) for p in (alice, bob)]
    assert done[0] == done[1] and done[0]["winner"] == bob.name and done[0]["reason"] == "solved"
    assert db_rows(cluster, "SELECT status FROM battles WHERE id = :id", id=bid) == [("finished",)]
    # Free again everywhere: they may queue on any worker.
    assert (await elsewhere.call("join_queue", {"pool": "easy", "ranked": False}))["ok"]


async def test_a_battle_of_two_players_of_another_worker_runs_there(cluster):
    cluster.start("0")
    w1 = cluster.start("1")
    carol, dave = await cluster.player("1", "carol"), await cluster.player("1", "dave")
    m1, m2 = await matched(carol, dave)
    assert m1["worker_url"] == m2["worker_url"] == w1.url  # nobody moves
    bid = m1["battle_id"]
    text = LIBRARY.get(m1["challenge"]["id"]).starter_code + "# carol\n"
    assert (await carol.call("sync_code", {"battle_id": bid, "seq": 1, "text": text}))["ok"]
    assert (await dave.expect("opponent_code"))["text"] == text
    assert (await dave.call("forfeit", {"battle_id": bid}))["ok"]
    done = [await p.expect("battle_complete") for p in (carol, dave)]
    assert done[0]["winner"] == carol.name and done[0]["reason"] == "forfeit"
    # Ended on worker 1, and the lobby (worker 0) knows they are free (a new opponent: the queue avoids
    # pairing the same two again at once).
    erin = await cluster.player("1", "erin")
    m3, m4 = await matched(erin, carol)
    assert m3["battle_id"] == m4["battle_id"] != bid


async def test_the_instructor_sees_the_players_and_battles_of_every_worker(cluster):
    cluster.start("0")
    cluster.start("1")
    teach = await teacher(cluster.workers["1"].url)  # an instructor of worker 1: the view comes from the lobby
    cluster.made.append(teach)
    ack = await teach.call("watch_room", {})
    assert ack["ok"], ack
    alice, bob = await cluster.player("0", "alice"), await cluster.player("1", "bob")
    state = await next_room(teach, lambda s: {"guest:alice", "guest:bob"} <= set(s["online"]))
    assert state["battles"] == []
    carol, dave = await cluster.player("1", "carol"), await cluster.player("1", "dave")
    m1, _ = await matched(carol, dave)  # runs on worker 1
    m3, _ = await matched(alice, bob)  # runs on worker 0
    state = await next_room(teach, lambda s: len(s["battles"]) == 2)
    assert {b["battle_id"] for b in state["battles"]} == {m1["battle_id"], m3["battle_id"]}
    assert {"guest:alice", "guest:bob", "guest:carol", "guest:dave"} <= set(state["online"])
    # Spectating and aborting reach the worker that runs the battle (alice's and bob's runs on worker 0).
    assert m3["worker_url"] == cluster.workers["0"].url
    assert (await teach.call("spectate", {"battle_id": m3["battle_id"]}))["ok"]
    spectated = await teach.expect("spectate_state")
    assert spectated["battle_id"] == m3["battle_id"]
    assert (await teach.call("abort_battle", {"battle_id": m3["battle_id"], "reason": "class over"}))["ok"]
    for player in (alice, bob):  # bob, still connected to worker 1, hears it through Redis
        done = await player.expect("battle_complete")
        assert done["reason"] == "aborted" and done["note"] == "class over"
    await next_room(teach, lambda s: [b["battle_id"] for b in s["battles"]] == [m1["battle_id"]])
    # A player who leaves worker 1 leaves the view.
    await dave.close()
    await next_room(teach, lambda s: "guest:dave" not in s["online"])


async def test_a_killed_worker_s_battle_is_carried_on_by_one_worker(cluster):
    await killed_worker_carried_on(cluster)


async def test_a_worker_restarted_within_its_lease_carries_its_battle_on_as_it_starts(tmp_path, redis_url):
    """A lease longer than the restart: the restarted worker waits for its previous process's lease to run out,
    then (nearly always: unless the other worker's beat falls in the same fifth of a second) takes its own battle
    back while it starts, before it listens; the players find the battle wherever it is."""
    cluster = Cluster(tmp_path, redis_url, lease_s=20.0)
    try:
        assert await killed_worker_carried_on(cluster) in ("0", "1")
    finally:
        await cluster.close()


async def test_workers_on_postgres_carry_on_a_killed_worker_s_rated_battle(tmp_path, redis_url, postgres_url):
    """The hosted setup: several workers on one PostgreSQL database. The rated result is stored once."""
    cluster = Cluster(tmp_path, redis_url, db_url=postgres_url)
    try:
        await killed_worker_carried_on(cluster, ranked=True)
    finally:
        await cluster.close()


async def killed_worker_carried_on(cluster: Cluster, ranked: bool = False) -> str:
    """Worker 1 is killed mid-battle and started again: one worker carries the battle on, both players find it,
    nothing typed before the crash is lost, and the result (and the ratings, when ``ranked``) is stored once.
    Returns the worker that carried it on."""
    cluster.start("0")
    w1 = cluster.start("1")
    carol, dave = await cluster.player("1", "carol"), await cluster.player("1", "dave")
    m1, m2 = await matched(carol, dave, ranked=ranked)
    bid, challenge = m1["battle_id"], LIBRARY.get(m1["challenge"]["id"])
    assert m1["worker_url"] == w1.url
    text = challenge.starter_code + "# typed before the crash\n"
    mirrored = "opponent_shape" if ranked else "opponent_code"  # a ranked battle mirrors an outline only
    assert (await carol.call("sync_code", {"battle_id": bid, "seq": 1, "text": text}))["ok"]
    await dave.expect(mirrored)
    await until(lambda: db_rows(cluster, "SELECT count(*) FROM live_seats WHERE battle_id = :id AND seq = 1",
                                id=bid) == [(1,)], "carol's edit flushed")
    w1.kill()
    # Worker 1 is started again; worker 0 may carry the battle on first, once worker 1's lease has run out:
    # either way one worker has it, and the players find it where registered says.
    w1.restart()
    # A restart on a loaded machine (Python's start, then the dead lease running out) can take a while.
    await until(lambda: any(f"battle {bid} carried on" in "".join(w.log_lines) for w in cluster.workers.values()),
                "the battle carried on", timeout=120.0)
    found, back = [], []
    for old in (carol, dave):  # their browsers come back to the lobby worker
        player = Player(cluster.workers["0"].url, old.display_name, guest_key=old.guest_key)
        await player.client.connect(player.url, transports=["websocket"])
        cluster.made.append(player)
        registered = await player.register({"display_name": old.display_name})
        assert registered["battle_id"] == bid
        assert registered["worker_url"] in (cluster.workers["0"].url, w1.url)
        found.append(registered)
        back.append(player)
    carol2, dave2 = [await cluster.follow(p, f) for p, f in zip(back, found)]
    # Nothing lost: the flushed edit is there, and the battle goes on to its end.
    assert (await carol2.call("sync_code", {"battle_id": bid, "seq": 2, "text": text + "# after\n"}))["ok"]
    seen = await dave2.expect(mirrored)
    assert seen["chars"] == len(text + "# after\n") if ranked else seen["seq"] == 2
    result = await judged(carol2, bid, challenge.reference)
    assert result["verdict"] == "AC"
    done = await dave2.expect("battle_complete", timeout=30)
    assert done["winner"] == carol2.name and done["reason"] == "solved"
    # Exactly one worker carried it on, and the battle was stored finished once.
    logs = "".join(line for w in cluster.workers.values() for line in w.log_lines)
    assert logs.count(f"battle {bid} carried on") == 1, logs
    [carrier] = [name for name, w in cluster.workers.items() if f"battle {bid} carried on" in "".join(w.log_lines)]
    assert db_rows(cluster, "SELECT status, reason FROM battles WHERE id = :id", id=bid) == [("finished", "solved")]
    if ranked:  # rated once: one game each on the record, the winner's rating up and the loser's down
        assert done["ranked"] and {r["name"] for r in done["ratings"]} == {carol2.name, dave2.name}
        for r in done["ratings"]:
            status, profile = get_json(cluster.workers["0"].url + f"/api/users/{r['name']}")
            assert status == 200 and profile["games"] == 1 and profile["rating"] == r["after"], profile
            assert (r["after"] > r["before"]) == (r["name"] == carol2.name), r
    return carrier


@pytest.fixture(autouse=True)
def _show_logs(cluster):
    yield
    for name, w in cluster.workers.items():
        print(f"---- worker {name}\n" + "".join(w.log_lines[-80:]))


async def test_a_restarted_lobby_worker_hears_again_who_is_online_and_who_watches(cluster):
    w0 = cluster.start("0")
    cluster.start("1")
    teach = await teacher(cluster.workers["1"].url)
    cluster.made.append(teach)
    assert (await teach.call("watch_room", {}))["ok"]
    carol = await cluster.player("1", "carol")
    await next_room(teach, lambda s: "guest:carol" in s["online"])
    w0.kill()
    w0.restart()  # a new lobby process, which knew nobody
    # Worker 1 tells it its connections and its watcher: the view comes back without the instructor asking.
    state = await next_room(teach, lambda s: "guest:carol" in s["online"], timeout=30)
    assert "teach" in state["online"]
    dave = await cluster.player("1", "dave")
    m1, m2 = await matched(carol, dave)
    assert m1["battle_id"] == m2["battle_id"] and m1["worker_url"] == cluster.workers["1"].url


async def test_serve_workers_runs_and_restarts_its_workers(tmp_path, redis_url):
    import os
    import re
    import subprocess
    import sys
    import threading

    import psutil

    from helpers import free_port

    port = free_port()
    while True:  # worker 1 listens on port + 1
        try:
            with socket_on(port + 1):
                break
        except OSError:
            port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("JUPYTER_DUEL_SECRET", None)  # the supervisor gives its workers one of its own
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_duel", "serve", "--workers", "2", f"--port={port}", f"--redis={redis_url}",
         f"--db=sqlite:///{tmp_path / 'duel.sqlite'}", *RATED_GUESTS, "--DuelService.countdown_s=0",
         f"--DuelService.worker_lease_s={LEASE_S}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    listening: list[str] = []
    threading.Thread(target=lambda: [listening.append(m.group(1)) for line in proc.stdout
                                     if (m := re.search(r"listening on (http://\S+)", line))], daemon=True).start()
    made: list[Player] = []
    try:
        await until(lambda: len(listening) == 2, "both workers listening", timeout=90)
        urls = {u.rstrip("/") for u in listening}
        assert urls == {f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}"}
        a = await Player(f"http://127.0.0.1:{port}", "ann").connect()
        # (one secret for both workers: the guest's key and the resume token work where the battle runs)
        b = await Player(f"http://127.0.0.1:{port + 1}", "ben").connect()
        made += [a, b]
        m1, m2 = await matched(a, b)
        assert m1["battle_id"] == m2["battle_id"]
        made.append(await follow(b, m2))
        # A worker that dies is started again by the supervisor.
        worker1 = [c for c in psutil.Process(proc.pid).children() if f"--port={port + 1}" in c.cmdline()]
        assert len(worker1) == 1
        worker1[0].kill()
        await until(lambda: len(listening) == 3, "worker 1 started again", timeout=90)
        assert listening[2].rstrip("/") == f"http://127.0.0.1:{port + 1}"
    finally:
        for player in made:
            await player.close()
        proc.terminate()
        proc.wait(60)


def socket_on(port: int):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    return sock


async def test_a_tournament_runs_on_the_lobby_worker_for_players_of_every_worker(cluster):
    from test_tournaments import api, reference

    w0, w1 = cluster.start("0"), cluster.start("1")
    # Tournaments are run by the lobby worker alone: another worker's REST refuses, naming the rule.
    status, body = api(w1, "POST", "tournaments", {"name": "Cup", "format": "arena", "duration_s": 300})
    assert (status, body["error"]["code"]) == (421, "wrong_worker")
    status, view = api(w0, "POST", "tournaments", {"name": "Cup", "format": "arena", "duration_s": 300,
                                                   "difficulty": "easy"})
    assert status == 201, view
    tid = view["id"]
    alice, bob = await cluster.player("0", "alice"), await cluster.player("1", "bob")
    # Bob's worker forwards his tournament events to the lobby worker, which answers them.
    listed = await bob.call("list_tournaments", {})
    assert listed["ok"] and [t["id"] for t in listed["tournaments"]] == [tid]
    for player in (alice, bob):
        assert (await player.call("join_tournament", {"tournament_id": tid}))["ok"]
    assert (await bob.call("join_tournament", {"tournament_id": "nope"}))["error"]["code"] == "unknown_tournament"
    assert api(w0, "POST", f"tournaments/{tid}/start")[0] == 200
    m1, m2 = await alice.expect("match_found"), await bob.expect("match_found")
    # The game runs where the tournament does, and bob moves there.
    assert m1["tournament_id"] == m2["tournament_id"] == tid and m2["worker_url"] == w0.url
    bob = await cluster.follow(bob, m2)
    ack = await bob.call("submit_code", {"battle_id": m2["battle_id"], "code": reference(m2["challenge"]["id"])})
    assert ack["ok"], ack
    await bob.expect("battle_complete", timeout=60)

    def bob_leads() -> bool:
        standings = api(w0, "GET", f"tournaments/{tid}")[1]["standings"]
        return standings[0]["name"] == bob.name and standings[0]["score"] > 0

    await until(bob_leads, "the game's result in the standings")
