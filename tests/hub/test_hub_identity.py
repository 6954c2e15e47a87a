"""Who is who on a class's hub: students and instructors are who the hub says, through its proxy, and nothing a
student's own server or kernel can reach lets them act as anybody else."""

from __future__ import annotations

import json

import pytest
import requests
import socketio

from duel_clients import hub_player, run_in_kernel, service_login
from jupyter_duel_server.auth import Identity, IdentitySigner

#: A notebook cell of a hostile student: everything it can find that might prove an identity.
HARVEST = r'''
import glob, json, os, re
found = {}
def keep(where, text):  # anything shaped like a token, a signed value or a secret
    for m in re.findall(r"[A-Za-z0-9_\-\.]{32,}", text):
        found.setdefault(m, where)
for k, v in os.environ.items():
    keep("env:" + k, v)
for path in glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/cmdline"):
    try:
        keep(path, open(path, "rb").read().decode("utf-8", "replace"))
    except OSError:
        pass
roots = [os.path.expanduser("~"), "/etc/jupyter", "/usr/local/etc/jupyter", os.path.join(os.sys.prefix, "etc"),
         os.path.join(os.sys.prefix, "share", "jupyter"), "/srv", "/tmp", "/home", "/root", "/var/tmp"]
for root in roots:
    for dirpath, _dirs, files in os.walk(root):
        if "site-packages" in dirpath or "node_modules" in dirpath:
            continue
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                if os.path.getsize(path) < 200_000 and re.search(r"(secret|token|config|cookie|env|\.json|\.sqlite)",
                                                                 name):
                    keep(path, open(path, "rb").read().decode("utf-8", "replace"))
            except OSError:
                pass
with open(os.path.expanduser("~/harvest.json"), "w") as out:  # too much to print
    json.dump({"found": found, "uid": os.getuid()}, out)
print("harvested", len(found))
'''


def test_students_and_instructors_are_who_the_hub_says(hub):
    for user in hub.users.values():
        me = service_login(hub, hub.session(user, lab=False))
        assert me["name"] == user.name
        assert me["instructor"] is (user.role in ("instructor", "admin")), (user, me)


async def test_the_socket_registers_the_hub_user_and_nothing_else(hub):
    student = hub.students[0]
    session = hub.session(student, lab=False)
    service_login(hub, session)
    player = await hub_player(hub, session)
    try:
        await player.refused("register_user", {"display_name": "someone"}, "auth_failed")
        forged = IdentitySigner("guess").issue(Identity(hub.students[1].name, False, instructor=True))
        await player.refused("register_user", {"token": forged}, "auth_failed")
        registered = await player.register({})
        assert registered["user"]["name"] == student.name and registered["instructor"] is False
        await player.refused("watch_room", {}, "not_instructor")
    finally:
        await player.close()


async def test_no_login_no_socket_and_no_api(hub):
    with pytest.raises(socketio.exceptions.ConnectionError):
        await hub_player(hub)
    response = requests.get(hub.service_url + "api/leaderboard", timeout=10)
    assert response.status_code == 403 and response.json()["error"]["code"] == "auth_failed"
    assert requests.get(hub.service_url + "api/health", timeout=10).status_code == 200  # health stays open


async def test_a_token_without_the_service_scope_is_refused(hub):
    student = hub.students[0]
    narrow = hub.api("POST", f"/users/{student.name}/tokens",
                     json={"note": "no duel", "expires_in": 300, "scopes": ["read:users:name!user"]})
    assert narrow.status_code == 201, narrow.text
    token = narrow.json()["token"]
    response = requests.get(hub.service_url + "api/leaderboard", headers={"Authorization": f"token {token}"},
                            timeout=10)
    assert response.status_code == 403
    with pytest.raises(socketio.exceptions.ConnectionError):
        await hub_player(hub, headers={"Authorization": f"token {token}"})


async def test_a_students_kernel_finds_nothing_to_act_as_anyone_else(hub):
    student, other = hub.students
    hub.start_server(other)  # the other student's server runs, with its own secrets, on the same machine
    session = hub.session(student)
    out = await run_in_kernel(hub, student, session, HARVEST)
    assert "harvested" in out, out[-2000:]
    harvest = json.loads((student.home / "harvest.json").read_text())
    assert harvest["uid"] == student.uid != 0
    found = harvest["found"]
    assert any(where.startswith("env:JUPYTERHUB_API_TOKEN") for where in found.values())  # its own, as expected
    assert not any(other.name in where for where in found.values())  # nothing from the other student's files

    # Every string found, tried every way the service takes a proof: none names anybody but the student.
    acted_as = set()
    for candidate in found:
        for headers in ({"Authorization": f"token {candidate}"}, {"Cookie": f"service-duel={candidate}"}):
            response = requests.get(hub.service_url + "api/me", headers=headers, timeout=10, allow_redirects=False)
            if response.status_code == 200:
                acted_as.add(response.json()["name"])
    assert acted_as <= {student.name}, acted_as
    browser = hub.session(student, lab=False)
    service_login(hub, browser)
    player = await hub_player(hub, browser)
    try:
        # As a token on the socket (within the session rate limit): what its own environment and processes hold.
        near = [c for c, where in found.items() if where.startswith(("env:", "/proc/"))][:15]
        assert near
        for candidate in near:
            ack = await player.call("register_user", {"token": candidate})
            assert ack["ok"] is False and ack["error"]["code"] == "auth_failed", ack
        assert (await player.register({}))["user"]["name"] == student.name
    finally:
        await player.close()
