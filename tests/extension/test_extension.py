"""The Jupyter server extension in a real Jupyter server: session endpoint, embedded service, its protection."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
import socketio

from helpers import JupyterProcess, Player

BASE_URL = "/prefix/user/"  # a non-root base_url, as under JupyterHub


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    server = JupyterProcess(tmp_path_factory.mktemp("server"), "server", BASE_URL).start()
    yield server
    server.stop()


def fetch(jupyter, path: str, *, auth: bool = True, **params):
    request = urllib.request.Request(jupyter.url(path, **params))
    if auth:
        request.add_header("Authorization", f"token {jupyter.token}")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            return err.code, json.loads(body)
        except ValueError:
            return err.code, None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_session_names_the_jupyter_user(jupyter):
    status, body = fetch(jupyter, "jupyter-duel/session")
    assert status == 200
    assert body["name"] == body["user"] and body["guest"] is False
    assert body["guests_allowed"] is True  # single-user server with the embedded service
    assert body["socketio_url"] == "" and body["socketio_path"] == BASE_URL + "duel/socket.io"
    assert body["api_url"] == BASE_URL + "duel/api/"
    assert body["token"]


def test_session_guest_names(jupyter):
    status, body = fetch(jupyter, "jupyter-duel/session", name="Ada L")
    assert status == 200 and body["name"] == "Ada L" and body["guest"] is True
    status, body = fetch(jupyter, "jupyter-duel/session", name="<bad>")
    assert status == 400 and body["error"]["code"] == "invalid_name"


def test_embedded_api_is_behind_jupyter_auth(jupyter):
    status, body = fetch(jupyter, "duel/api/health")
    assert status == 200 and body["status"] == "ok"
    status, body = fetch(jupyter, "duel/api/challenges")
    assert status == 200 and len(body["challenges"]) >= 5
    for path in ("duel/api/health", "duel/api/challenges", "duel/api/leaderboard", "jupyter-duel/session"):
        status, _ = fetch(jupyter, path, auth=False)
        assert status in (302, 403), (path, status)


async def test_embedded_socketio_takes_tokens_not_names(jupyter):
    url = f"http://127.0.0.1:{jupyter.port}"
    player = Player(url)
    await player.client.connect(url, socketio_path=BASE_URL + "duel/socket.io", transports=["websocket"])
    await player.refused("register_user", {"display_name": "intruder"}, "guests_disabled")
    await player.refused("join_queue", {}, "not_registered")
    _, body = fetch(jupyter, "jupyter-duel/session", name="Grace")
    ack = await player.call("register_user", {"token": body["token"]})
    assert ack == {"ok": True, "name": "Grace"}
    assert (await player.expect("registered"))["user"]["guest"] is True
    await player.close()


async def test_embedded_socketio_refuses_other_origins(jupyter):
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            f"http://127.0.0.1:{jupyter.port}",
            socketio_path=BASE_URL + "duel/socket.io",
            headers={"Origin": "http://evil.example"},
            transports=["polling"],
        )


def test_extensions_are_installed_and_enabled():
    """What `pip install` gives: the prebuilt labextension and the server extension, both enabled."""
    labext = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True, text=True, check=True
    )
    out = labext.stdout + labext.stderr
    assert any("jupyter-duel" in line and "enabled" in line and "OK" in line for line in out.splitlines()), out
    serverext = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"], capture_output=True, text=True, check=True
    )
    out = serverext.stdout + serverext.stderr
    assert any("jupyter_duel" in line and "enabled" in line for line in out.splitlines()), out
