"""Test helpers: a real central service process, real Socket.IO players, a real Jupyter server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import json
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import socketio

from jupyter_duel_server import protocol

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"


#: Guests allowed and rated: the service tests play rated games between guest players (the default, guests
#: unrated, has its own tests in tests/service/test_identity.py).
RATED_GUESTS = ("--allow-guests", "--DuelService.rate_guests=True")


class ServiceProcess:
    """``jupyter duel serve`` on a free port with its own database."""

    def __init__(self, tmp: Path, *args: str, db_url: str | None = None):
        self.db_path = tmp / "duel.sqlite"
        self.db_url = db_url or f"sqlite:///{self.db_path}"
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.log_lines: list[str] = []

    def start(self) -> "ServiceProcess":
        env = dict(os.environ, JUPYTER_DUEL_SECRET="test-secret", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_duel", "serve", "--port=0",
             f"--db={self.db_url}", *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        for line in self.proc.stdout:
            self.log_lines.append(line)  # what a start logs (battles carried on, say) is looked for too
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                self.url = match.group(1).rstrip("/")
                break
        else:
            raise RuntimeError("the service did not start")
        # Keep draining the log so the pipe never fills up.
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        return self

    def _read_log(self):
        for line in self.proc.stdout:
            self.log_lines.append(line)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash: no clean shutdown, nothing flushed on the way out."""
        self.proc.kill()
        self.proc.wait()

    def restart(self) -> "ServiceProcess":
        """A new process on the same database, secret and options (and a new port: ``url`` changes)."""
        self.stop()
        self.log_lines = []
        return self.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def counts(self) -> dict:
        from jupyter_duel_server.store import Store

        store = Store(self.db_url)
        try:
            return store.counts()
        finally:
            store.close()


class Player:
    """A real python-socketio client that records every event it receives, checked against the protocol."""

    def __init__(self, url: str, name: str | None = None, guest_key: str | None = None):
        self.url = url
        self.name = name  # the handle once registered (a guest's is "guest:" + the chosen name)
        self.display_name = name
        self.guest_key = guest_key  # the key this "browser" holds for its guest name
        self.client = socketio.AsyncClient(reconnection=False)
        self.queues: dict[str, asyncio.Queue] = defaultdict(asyncio.Queue)
        self.received: list[tuple[str, object]] = []  # every event, in the order it arrived
        self.client.on("*", self._on_any)

    async def _on_any(self, event, data):
        self.received.append((event, data))
        model = protocol.OUTGOING.get(event)
        assert model is not None, f"undocumented event {event!r}"
        model.model_validate(data)  # every payload the service sends matches the documented model
        await self.queues[event].put(data)

    async def connect(self) -> "Player":
        await self.client.connect(self.url, transports=["websocket"])
        if self.name is not None:
            await self.register({"display_name": self.display_name})
        return self

    async def another_tab(self) -> "Player":
        """A second connection of this player from the same browser (same guest name, same guest key)."""
        return await Player(self.url, self.display_name, self.guest_key).connect()

    async def register(self, payload: dict) -> dict:
        """``register_user`` with this player's guest key, if it holds one; keeps the key the service issues.
        Returns the ``registered`` event."""
        if self.guest_key is not None:
            payload = {**payload, "guest_key": self.guest_key}
        ack = await self.call("register_user", payload)
        assert ack["ok"], ack
        registered = await self.expect("registered")
        self.name = registered["user"]["name"]
        self.display_name = registered["user"]["display_name"]
        self.guest_key = registered["guest_key"] or self.guest_key
        return registered

    async def call(self, event: str, payload=None, *, raw_args: tuple | None = None):
        """Emit ``event`` and return the service's ack."""
        if raw_args is not None:
            return await self.client.call(event, raw_args, timeout=10)
        return await self.client.call(event, payload, timeout=10)

    async def expect(self, event: str, timeout: float = 10.0):
        return await asyncio.wait_for(self.queues[event].get(), timeout)

    def pending(self, event: str) -> int:
        return self.queues[event].qsize()

    async def refused(self, event: str, payload, code: str):
        """Send a payload the service must refuse with ``code``; return the error event."""
        ack = await self.call(event, payload)
        assert ack["ok"] is False, ack
        assert ack["error"]["code"] == code, ack
        error = await self.expect("error")
        assert error["code"] == code and error["event"] == event and error["message"]
        return error

    async def close(self):
        await self.client.disconnect()


@contextlib.asynccontextmanager
async def players_on(service: "ServiceProcess"):
    """``async with players_on(svc) as make``: ``await make(name)`` connects a registered player; on the way out
    every player is closed and the service stopped."""
    made: list[Player] = []

    async def make(name: str) -> Player:
        made.append(await Player(service.url, name).connect())
        return made[-1]

    try:
        yield make
    finally:
        for player in made:
            await player.close()
        service.stop()


async def start_battle(make, a="alice", b="bob", pool="easy", ranked=True):
    """Two registered players queue and are matched; returns (p1, p2, match_found of p1, of p2). A ranked battle
    mirrors code as outlines by default, a casual one live."""
    p1, p2 = await make(a), await make(b)
    assert (await p1.call("join_queue", {"pool": pool, "ranked": ranked}))["ok"]
    await p1.expect("queue_update")
    assert (await p2.call("join_queue", {"pool": pool, "ranked": ranked}))["ok"]
    m1, m2 = await p1.expect("match_found"), await p2.expect("match_found")
    return p1, p2, m1, m2


async def judged(player: Player, battle_id: str, code: str = "def nothing(): pass\n") -> dict:
    """``player`` submits ``code`` and gets its result (a submission that counts: the battle is then rated)."""
    assert (await player.call("submit_code", {"battle_id": battle_id, "code": code}))["ok"]
    while True:  # both players see every submission's result: wait for this player's own
        result = await player.expect("submission_result", timeout=60)
        if result["player"] == player.name:
            return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterProcess:
    """A real ``jupyter lab`` (or ``jupyter server``) with the installed extension, isolated config and data."""

    def __init__(self, tmp: Path, app: str = "lab", base_url: str = "/", extra: tuple[str, ...] = ()):
        self.tmp, self.app, self.extra = tmp, app, extra
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.base_url = base_url
        self.root = f"http://127.0.0.1:{self.port}{base_url}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "JupyterProcess":
        env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(self.tmp / "config"),
            JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"),
        )
        env.pop("JUPYTERHUB_API_TOKEN", None)
        (self.tmp / "work").mkdir(exist_ok=True)
        # No "news" notification popping over what the browser tests look at.
        settings = self.tmp / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        self.log_path = self.tmp / f"jupyter-{self.app}.log"
        self._log = open(self.log_path, "w")
        args = [
            sys.executable, "-m", "jupyter", self.app, "--no-browser", "--allow-root",
            f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.base_url={self.base_url}",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.tmp / 'work'}",
            f"--DuelService.db_url=sqlite:///{self.tmp / 'duel.sqlite'}", *self.extra,
        ]
        if self.app == "lab":
            args += ["--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{self.root}api/status?token={self.token}", timeout=2)
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(self.log_path.read_text())
                time.sleep(0.3)

    def url(self, path: str, **params) -> str:
        from urllib.parse import urlencode

        return self.root + path + ("?" + urlencode(params) if params else "")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        # Shown by pytest only when the test failed: what the server said last.
        print(f"---- {self.app} log (last lines)\n" + "".join(self.log_path.read_text(errors="replace")
                                                           .splitlines(keepends=True)[-60:]))


def get_json(url: str):
    """GET ``url``: (status, decoded JSON body), also for error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
