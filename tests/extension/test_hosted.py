"""A standalone central service apart from the Jupyter servers, the extension pointing at it: the Jupyter server
signs nothing for it (a secret shared with a student's own server would let any code they run act as anybody),
so its users play there as guests, each name bound to its browser."""

from __future__ import annotations

import json
import urllib.request

import pytest

from helpers import JupyterProcess, Player, ServiceProcess, get_json

PREFIX = "/duel/"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hosted")
    service = ServiceProcess(tmp, f"--base-path={PREFIX}", "--unsandboxed", "--allow-guests").start()
    root = service.url.split(PREFIX.rstrip("/"))[0]
    jupyter = JupyterProcess(tmp, "server", extra=(f"--DuelExtension.service_url={root}{PREFIX}",)).start()
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


async def test_extension_points_at_the_service_and_signs_nothing(hosted):
    service, jupyter, root = hosted
    status, body = session(jupyter)
    assert status == 200 and body["mode"] == "external"
    assert body["socketio_url"] == f"{root}{PREFIX}" and body["socketio_path"] == PREFIX + "socket.io"
    assert body["api_url"] == f"{root}{PREFIX}api/"
    assert body["token"] is None and body["guests_allowed"] is True
    assert "token" not in json.dumps(session(jupyter, name="someone-else")[1]).replace('"token": null', "")

    assert get_json(f"{root}{PREFIX}api/health")[1]["status"] == "ok"
    player = Player(root)
    await player.client.connect(root, socketio_path=PREFIX + "socket.io", transports=["websocket"])
    registered = await player.register({"display_name": "ada"})
    assert registered["user"]["name"] == "guest:ada" and registered["user"]["guest"] is True
    assert registered["instructor"] is False
    await player.close()
