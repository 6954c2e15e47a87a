"""What the hub tests do as a browser or a student's code would: log in to the duel service through the hub,
open its Socket.IO connection through the proxy, run code in a student's own notebook kernel."""

from __future__ import annotations

import asyncio
import json
import uuid

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from helpers import Player


def service_login(hub, session: requests.Session) -> dict:
    """``GET api/me`` as a page navigation would: through the hub's OAuth, back with the service's cookie."""
    response = session.get(hub.service_url + "api/me", timeout=30)
    assert response.status_code == 200, (response.status_code, response.url, response.text[:300])
    return response.json()


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies if c.path.startswith("/services/"))


async def hub_player(hub, session: requests.Session | None = None, headers: dict | None = None) -> Player:
    """A Socket.IO client on the duel service through the hub's proxy, as a JupyterLab page of the hub's origin
    opens it (a websocket with the page's Origin), with the session's service cookie."""
    player = Player(hub.url)
    sent = {"Origin": hub.url, **({"Cookie": cookie_header(session)} if session is not None else {}), **(headers or {})}
    await player.client.connect(hub.url, socketio_path="/services/duel/socket.io", transports=["websocket"],
                                headers=sent)
    return player


async def run_in_kernel(hub, user, session: requests.Session, code: str, timeout: float = 60) -> str:
    """Run ``code`` in a new notebook kernel of ``user``'s own server (as a notebook cell would) and return what
    it printed."""
    base = f"{hub.url}/user/{user.name}/"
    xsrf = next(c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith(f"/user/{user.name}"))
    created = session.post(base + "api/kernels", json={"name": "python3"}, headers={"X-XSRFToken": xsrf}, timeout=60)
    assert created.status_code == 201, created.text
    kernel_id = created.json()["id"]
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies if c.path.startswith(f"/user/{user.name}"))
    ws_url = base.replace("http", "ws", 1) + f"api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
    conn = await websocket_connect(HTTPRequest(ws_url, headers={"Cookie": cookies, "Origin": hub.url}))
    msg_id = uuid.uuid4().hex
    await conn.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": user.name, "session": "t",
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    out: list[str] = []
    try:
        while True:
            raw = await asyncio.wait_for(conn.read_message(), timeout)
            assert raw is not None, "the kernel's websocket closed"
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(out)
    finally:
        conn.close()
        session.delete(base + f"api/kernels/{kernel_id}", headers={"X-XSRFToken": xsrf}, timeout=30)
