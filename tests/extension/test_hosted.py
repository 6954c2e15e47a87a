"""Hosted mode: a central service apart from the Jupyter servers (as a JupyterHub service would run it), the
extension pointing at it, identity proven by tokens signed with the shared secret."""

from __future__ import annotations

import json
import urllib.request

import pytest

from helpers import JupyterProcess, Player, ServiceProcess, get_json

PREFIX = "/services/duel/"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hosted")
    service = ServiceProcess(tmp, f"--base-path={PREFIX}", "--unsandboxed").start()  # no guests; secret shared
    root = service.url.split(PREFIX.rstrip("/"))[0]
    jupyter = JupyterProcess(
        tmp,
        "server",
        extra=(
            f"--DuelExtension.service_url={root}{PREFIX}",
            "--DuelExtension.service_secret=test-secret",
        ),
    ).start()
    yield service, jupyter, root
    jupyter.stop()
    service.stop()


def session(jupyter, **params):
    request = urllib.request.Request(jupyter.url("jupyter-duel/session", **params))
    request.add_header("Authorization", f"token {jupyter.token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


async def test_extension_points_at_the_service_and_signs_identity(hosted):
    service, jupyter, root = hosted
    status, body = session(jupyter)
    assert status == 200
    assert body["socketio_url"] == f"{root}{PREFIX}" and body["socketio_path"] == PREFIX + "socket.io"
    assert body["api_url"] == f"{root}{PREFIX}api/"
    assert body["guests_allowed"] is False  # a hosted service: everyone is who their Jupyter server says
    status, refused = session(jupyter, name="someone-else")
    assert status == 403 and refused["error"]["code"] == "guests_disabled"

    assert get_json(f"{root}{PREFIX}api/health")[1]["status"] == "ok"
    player = Player(root)
    await player.client.connect(root, socketio_path=PREFIX + "socket.io", transports=["websocket"])
    await player.refused("register_user", {"display_name": body["user"]}, "guests_disabled")
    ack = await player.call("register_user", {"token": body["token"]})
    assert ack == {"ok": True, "name": body["user"]}
    registered = await player.expect("registered")
    assert registered["user"]["guest"] is False
    await player.close()
