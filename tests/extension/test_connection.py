"""jupyter_duel.connection: how a kernel reaches the service, against a real Jupyter server and a real service."""

from __future__ import annotations

import json

import pytest
import socketio

from helpers import RATED_GUESTS, JupyterProcess, ServiceProcess, free_port
from jupyter_duel.connection import ConnectionSetupError, connect, http_json
from kernels import ServerKernel

BASE_URL = "/prefix/user/"


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    server = JupyterProcess(tmp_path_factory.mktemp("server"), "server", BASE_URL).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    svc = ServiceProcess(tmp_path_factory.mktemp("svc"), *RATED_GUESTS).start()
    yield svc
    svc.stop()


@pytest.fixture(autouse=True)
def runtime_dir(tmp_path, monkeypatch):
    """This process's Jupyter runtime directory (where connections keep login cookies): the test's own."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    return tmp_path / "runtime"


async def registered_with(conn, payload: dict) -> tuple[dict, dict]:
    """A real Socket.IO client connects as ``conn`` says and registers with ``payload``: (ack, registered)."""
    client = socketio.AsyncClient(reconnection=False)
    events = []
    client.on("registered", lambda data: events.append(data))
    await client.connect(**conn.socketio_connect_kwargs())
    try:
        ack = await client.call("register_user", payload, timeout=10)
        await client.sleep(0.3)
        return ack, (events[0] if events else {})
    finally:
        await client.disconnect()


async def test_embedded_by_url(jupyter, runtime_dir):
    conn = connect(jupyter.root, jupyter.token)
    assert conn.mode == "embedded" and conn.user
    assert connect(jupyter.root, jupyter.token).user == conn.user  # its login cookie is kept
    assert conn.cookie_file == str(runtime_dir / "jupyter-duel-kernel-cookies.json")
    assert conn.base_url == f"http://127.0.0.1:{jupyter.port}{BASE_URL}duel/"
    assert conn.socketio_path == BASE_URL + "duel/socket.io"
    assert "token" not in repr(conn).lower().replace("guest_name", "")  # no credential in a repr
    status, body = http_json(conn.api_url + "health", conn.headers())
    assert status == 200 and body["status"] == "ok"
    assert http_json(conn.api_url + "health")[0] in (302, 403)  # the headers are what lets it in
    payload = conn.register_payload()
    assert set(payload) == {"token"}
    ack, registered = await registered_with(conn, payload)
    assert ack["ok"] and registered["user"]["guest"] is False
    assert registered["instructor"] is True  # the Jupyter user runs the embedded service
    # The same from the event loop, as the widget does it.
    payload = await conn.register_payload_async()
    assert (await registered_with(conn, payload))[0]["ok"]


async def test_embedded_guest_name_keeps_its_key(jupyter):
    conn = connect(jupyter.root, jupyter.token, name="Ada K")
    assert conn.mode == "embedded" and conn.guest_name == "Ada K"
    ack, registered = await registered_with(conn, conn.register_payload())
    assert ack == {"ok": True, "name": "guest:Ada K"} and registered["instructor"] is False
    conn.remember(registered)
    assert conn.guest_key
    # Registering the name again takes the key this kernel was given.
    assert (await registered_with(conn, conn.register_payload()))[0]["ok"]
    stranger = connect(jupyter.root, jupyter.token, name="Ada K")
    ack, _ = await registered_with(stranger, stranger.register_payload())
    assert ack["ok"] is False and ack["error"]["code"] == "name_taken"


def test_embedded_refusals(jupyter):
    with pytest.raises(ConnectionSetupError) as refused:
        connect(jupyter.root, "not-the-token")
    assert refused.value.code == "auth_failed"
    with pytest.raises(ConnectionSetupError) as refused:
        connect(jupyter.root, jupyter.token, name="<bad>")
    assert refused.value.code == "invalid_name"


async def test_a_kernel_of_the_server_finds_it(jupyter):
    """A real kernel started by the server: ``connect()`` with nothing given finds its own server (pid), the
    embedded service, and a working identity; every kernel of the server is the same user (Jupyter names a
    token-authenticated client by its login cookie, which the kernels keep in the runtime directory)."""
    code = (
        "import json, os, stat\n"
        "from jupyter_duel.connection import connect, http_json\n"
        "c = connect()\n"
        "again = connect()\n"
        "print(json.dumps([c.mode, c.base_url, http_json(c.api_url + 'health', c.headers())[0],\n"
        "                  sorted(c.register_payload()), c.user, again.user,\n"
        "                  oct(stat.S_IMODE(os.stat(c.cookie_file).st_mode))]))\n"
    )
    async with ServerKernel(jupyter) as kernel:
        out = await kernel.execute(code)
        assert not out["errors"], out
        mode, base, health, payload, user, again, file_mode = json.loads(out["stdout"])
    assert (mode, base, health, payload) == (
        "embedded", f"http://127.0.0.1:{jupyter.port}{BASE_URL}duel/", 200, ["token"])
    assert user and again == user and file_mode == "0o600"
    async with ServerKernel(jupyter) as other:
        out = await other.execute(code)
        assert not out["errors"], out
        assert json.loads(out["stdout"])[4] == user
    # Another runtime directory (another person's kernels): not the same user.
    assert connect(jupyter.root, jupyter.token).user != user


async def test_standalone_guest(standalone):
    conn = connect(standalone.url, name="Lin")
    assert conn.mode == "standalone" and conn.base_url == standalone.url + "/"
    assert conn.socketio_path == "/socket.io" and conn.headers() == {}
    assert conn.register_payload() == {"display_name": "Lin"}
    ack, registered = await registered_with(conn, conn.register_payload())
    assert ack == {"ok": True, "name": "guest:Lin"}
    conn.remember(registered)
    assert conn.register_payload() == {"display_name": "Lin", "guest_key": registered["guest_key"]}
    assert (await registered_with(conn, conn.register_payload()))[0]["ok"]


def test_standalone_from_the_environment(standalone, monkeypatch):
    monkeypatch.setenv("JUPYTER_DUEL_SERVICE_URL", standalone.url)
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    conn = connect(name="Mo")
    assert conn.mode == "standalone" and conn.base_url == standalone.url + "/"


def test_nothing_to_connect_to(tmp_path, monkeypatch):
    for var in ("JUPYTER_DUEL_SERVICE_URL", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JPY_PARENT_PID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))  # no server runs here
    with pytest.raises(ConnectionSetupError) as refused:
        connect()
    assert refused.value.code == "no_service"
    with pytest.raises(ConnectionSetupError) as refused:
        connect(f"http://127.0.0.1:{free_port()}/")
    assert refused.value.code == "service_unreachable"
