"""The Jupyter server extension in a real Jupyter server: session endpoint, embedded service, its protection."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import aiohttp
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


def auth_header(jupyter) -> dict:
    return {"Authorization": f"token {jupyter.token}"}


async def test_embedded_socketio_takes_tokens_not_names(jupyter):
    url = f"http://127.0.0.1:{jupyter.port}"
    player = Player(url)
    await player.client.connect(
        url, socketio_path=BASE_URL + "duel/socket.io", transports=["websocket"], headers=auth_header(jupyter)
    )
    await player.refused("register_user", {"display_name": "intruder"}, "guests_disabled")
    await player.refused("join_queue", {}, "not_registered")
    _, body = fetch(jupyter, "jupyter-duel/session", name="Grace")
    ack = await player.call("register_user", {"token": body["token"]})
    assert ack == {"ok": True, "name": "guest:Grace"}
    registered = await player.expect("registered")
    assert registered["user"]["guest"] is True and registered["user"]["display_name"] == "Grace"
    # A token for a guest name proves the Jupyter user, not the browser: only the browser holding the guest key
    # the name was first given to may use it again.
    await player.refused("register_user", {"token": body["token"]}, "name_taken")
    ack = await player.call("register_user", {"token": body["token"], "guest_key": registered["guest_key"]})
    assert ack == {"ok": True, "name": "guest:Grace"}
    assert (await player.expect("registered"))["guest_key"] is None  # issued once
    await player.close()


async def test_embedded_socketio_refuses_other_origins(jupyter):
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            f"http://127.0.0.1:{jupyter.port}",
            socketio_path=BASE_URL + "duel/socket.io",
            headers={"Origin": "http://evil.example", **auth_header(jupyter)},
            transports=["polling"],
        )


SOCKETIO = BASE_URL + "duel/socket.io/"


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_embedded_socketio_requires_jupyter_auth(jupyter, transport):
    """No Jupyter identity, no Socket.IO: 403 before the service sees the request. With Jupyter's token, or with
    its login cookie alone (what a browser has: no token, no XSRF header), the same transport works."""
    root = f"http://127.0.0.1:{jupyter.port}"
    polling, websocket = f"{root}{SOCKETIO}?EIO=4&transport=polling", f"ws://127.0.0.1:{jupyter.port}{SOCKETIO}"
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "token not-the-token"}):
            client = socketio.AsyncClient(reconnection=False, http_session=session)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await client.connect(root, socketio_path=SOCKETIO, transports=[transport], headers=headers)
        if transport == "polling":
            async with session.get(polling) as response:
                assert response.status == 403
                assert not (await response.text()).startswith("0{")  # no Engine.IO session was opened
            # A session id alone does not let anybody post into a session either.
            async with session.post(f"{polling}&sid=x", data="40") as response:
                assert response.status == 403
        else:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"{websocket}?EIO=4&transport=websocket")
            assert refused.value.status == 403

    # Jupyter's token (in the URL: python-socketio sends headers with the handshake only).
    player = Player(root)
    await player.client.connect(f"{root}?token={jupyter.token}", socketio_path=SOCKETIO, transports=[transport])
    _, body = fetch(jupyter, "jupyter-duel/session")
    assert (await player.call("register_user", {"token": body["token"]}))["ok"]
    await player.close()

    # The login cookie alone.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(jupyter.url("api/status", token=jupyter.token)) as response:
            assert response.status == 200  # a token in the URL logs the browser in: the cookie is set
        async with browser.get(jupyter.url("jupyter-duel/session")) as response:
            identity = (await response.json())["token"]
        register = '42["register_user",{"token":"%s"}]' % identity
        received = ""
        if transport == "polling":
            async with browser.get(polling) as response:
                assert response.status == 200
                session_url = f"{polling}&sid={json.loads((await response.text())[1:])['sid']}"
            for payload in ("40", register):
                async with browser.post(session_url, data=payload) as response:
                    assert response.status == 200, await response.text()
            while '"registered"' not in received:
                async with browser.get(session_url) as response:
                    assert response.status == 200
                    received += await response.text()
        else:
            ws = await browser.ws_connect(f"{websocket}?EIO=4&transport=websocket", origin=root)
            assert (await ws.receive_str(timeout=10)).startswith("0{")
            for payload in ("40", register):
                await ws.send_str(payload)
            while '"registered"' not in received:
                received += await ws.receive_str(timeout=10)
            await ws.close()
    assert "Traceback" not in jupyter.log_path.read_text()


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
