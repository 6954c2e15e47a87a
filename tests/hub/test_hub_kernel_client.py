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
