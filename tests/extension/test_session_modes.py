"""The session endpoint in each of its modes, on an in-process Jupyter server (pytest-jupyter's ``jp_serverapp``
and ``jp_fetch``): embedded, under a hub (the class's service found by name, nothing signed), and with a
standalone service (nothing signed either).

The tests are plain functions that run ``jp_fetch`` on pytest-jupyter's own loop (``jp_asyncio_loop``), where its
server runs: this suite's other asynchronous tests run on pytest-asyncio's loops."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

pytest_plugins = ["pytest_jupyter.jupyter_server"]

HUB_ENV = {"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api", "JUPYTERHUB_BASE_URL": "/",
           "JUPYTERHUB_SERVICE_PREFIX": "/user/ada/", "JUPYTERHUB_API_TOKEN": "the-servers-own-token"}


@pytest.fixture
def mode():
    return "embedded"


@pytest.fixture
def jp_server_config(mode, tmp_path, monkeypatch):
    for key in HUB_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("JUPYTER_DUEL_HUB_SERVICE", raising=False)
    extension = {}
    if mode == "hub":
        for key, value in HUB_ENV.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("JUPYTER_DUEL_HUB_SERVICE", "class-duel")
    elif mode == "external":
        extension = {"service_url": "https://duel.example.edu/"}
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_duel": True}},
        "DuelExtension": extension,
        "DuelService": {"db_url": f"sqlite:///{tmp_path / 'duel.sqlite'}", "sandbox": False},
    }


def session(loop, jp_fetch, **params) -> dict:
    response = loop.run_until_complete(jp_fetch("jupyter-duel", "session", params=params))
    return json.loads(response.body)


def test_embedded_signs_for_the_jupyter_user_as_instructor(jp_asyncio_loop, jp_fetch, jp_serverapp):
    body = session(jp_asyncio_loop, jp_fetch)
    assert body["mode"] == "embedded" and body["socketio_path"].endswith("/duel/socket.io")
    signer = jp_serverapp.extension_manager.extension_points["jupyter_duel"].app.signer
    identity = signer.verify(body["token"])
    assert identity.name == body["user"] and identity.instructor is True and identity.guest is False
    guest = session(jp_asyncio_loop, jp_fetch, name="Ada")
    identity = signer.verify(guest["token"])
    assert (identity.name, identity.guest, identity.instructor) == ("Ada", True, False)


@pytest.mark.parametrize("mode", ["hub"])
def test_under_a_hub_the_class_service_is_used_and_nothing_is_signed(jp_asyncio_loop, jp_fetch, jp_serverapp, mode):
    body = session(jp_asyncio_loop, jp_fetch)
    assert body["mode"] == "hub" and body["token"] is None and body["guests_allowed"] is False
    assert body["socketio_path"] == "/services/class-duel/socket.io"
    assert body["api_url"] == "/services/class-duel/api/" and body["login_url"] == "/services/class-duel/api/me"
    # The embedded service stays as a fallback (a hub without a duel service): its token names this user only.
    fallback = body["fallback"]
    assert fallback["mode"] == "embedded" and fallback["token"]
    with pytest.raises(HTTPClientError) as refused:  # no guest names under a hub
        jp_asyncio_loop.run_until_complete(jp_fetch("jupyter-duel", "session", params={"name": "someone-else"}))
    assert refused.value.code == 403


@pytest.mark.parametrize("mode", ["external"])
def test_a_standalone_service_gets_no_token(jp_asyncio_loop, jp_fetch, jp_serverapp, mode):
    body = session(jp_asyncio_loop, jp_fetch)
    assert body["mode"] == "external" and body["token"] is None
    assert body["socketio_url"] == "https://duel.example.edu/" and body["socketio_path"] == "/socket.io"
    assert body["api_url"] == "https://duel.example.edu/api/"
    ext = jp_serverapp.extension_manager.extension_points["jupyter_duel"].app
    assert not hasattr(ext, "signer")  # nothing here could sign a token for it
