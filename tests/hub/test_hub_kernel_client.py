"""A student's notebook kernel plays on the class's hub service: ``connect()`` and ``DuelClient()`` with nothing
given find the service and prove the student's identity with the student's own hub token, nothing else."""

from __future__ import annotations

import json

from duel_clients import run_in_kernel

CONNECT = """
import asyncio, json, socketio
from jupyter_duel.connection import connect
c = connect()
sio = socketio.AsyncClient(reconnection=False)
got = []
sio.on("registered", lambda data: got.append(data))
await sio.connect(**c.socketio_connect_kwargs())
ack = await sio.call("register_user", c.register_payload(), timeout=10)
refused = await sio.call("register_user", {"display_name": "somebody"}, timeout=10)
await asyncio.sleep(0.5)
await sio.disconnect()
print(json.dumps({"mode": c.mode, "base_url": c.base_url, "ack": ack, "refused": refused,
                  "user": got[0]["user"]["name"], "instructor": got[0]["instructor"]}))
"""

WIDGET = """
import asyncio
from jupyter_duel import DuelClient
w = DuelClient()
for _ in range(100):
    if w.user:
        break
    await asyncio.sleep(0.2)
print(w.connection.mode, w.user and w.user["name"], w.phase, "|", w.who.value)
w.close()
"""


async def test_a_students_kernel_plays_as_the_student(hub):
    student = hub.students[0]
    session = hub.session(student)
    out = json.loads(await run_in_kernel(hub, student, session, CONNECT))
    assert out["mode"] == "hub" and out["base_url"].endswith("/services/duel/")
    assert out["ack"] == {"ok": True, "name": student.name}
    assert out["user"] == student.name and out["instructor"] is False
    assert out["refused"]["ok"] is False  # a chosen name is no identity on the hub's service
    mode, name, phase, _, who = (await run_in_kernel(hub, student, session, WIDGET)).split(maxsplit=4)
    assert (mode, name, phase) == ("hub", student.name, "idle") and student.name in who


async def test_an_instructors_kernel_is_an_instructor(hub):
    teacher = hub.instructor
    out = json.loads(await run_in_kernel(hub, teacher, hub.session(teacher), CONNECT))
    assert out["user"] == teacher.name and out["instructor"] is True


async def test_a_token_that_may_not_find_the_service_is_a_clear_message(hub):
    """A class whose users' tokens lack read:services for the duel service: no silent fallback to the embedded
    service, but a machine-readable error naming what to configure; the widget says it, no traceback."""
    student = hub.students[1]
    narrow = hub.api("POST", f"/users/{student.name}/tokens", json={
        "note": "no read:services", "expires_in": 300,
        "scopes": ["access:services!service=duel", f"access:servers!server={student.name}/"]})
    assert narrow.status_code == 201, narrow.text
    code = f"""
import os
from jupyter_duel import DuelClient
from jupyter_duel.connection import ConnectionSetupError, connect
os.environ["JUPYTERHUB_API_TOKEN"] = {narrow.json()["token"]!r}
try:
    connect()
except ConnectionSetupError as exc:
    print(exc.code, "|", exc)
w = DuelClient()
print(w.phase, "|", w.status.value)
"""
    first, second = (await run_in_kernel(hub, student, hub.session(student), code)).strip().splitlines()
    code_, message = first.split(" | ", 1)
    assert code_ == "no_service" and "read:services!service=duel" in message
    phase, status = second.split(" | ", 1)
    assert phase == "offline" and "Cannot reach the duel service (no_service)" in status
