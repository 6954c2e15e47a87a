"""Origins against a real service: a page of the service's own origin connects behind a proxy that forwards the
websocket upgrade as ``X-Forwarded-Proto: ws`` (as JupyterHub's proxy does); another site's page never does."""

from __future__ import annotations

import pytest
import socketio

from helpers import ServiceProcess


@pytest.fixture(scope="module")
def lone_service(tmp_path_factory):
    svc = ServiceProcess(tmp_path_factory.mktemp("origins"), "--unsandboxed").start()
    yield svc
    svc.stop()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_own_origin_behind_a_proxy_connects(lone_service, transport):
    client = socketio.AsyncClient(reconnection=False)
    host = lone_service.url.split("//", 1)[1]
    await client.connect(lone_service.url, transports=[transport],
                         headers={"Origin": f"http://{host}", "X-Forwarded-Proto": "ws" if transport == "websocket"
                                  else "http"})
    assert client.connected
    await client.disconnect()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_another_sites_page_is_refused(lone_service, transport):
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(lone_service.url, transports=[transport],
                             headers={"Origin": "http://evil.example", "X-Forwarded-Proto": "ws"})
