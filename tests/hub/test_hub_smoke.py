"""The hub a class runs: it starts with its proxy and the duel service, students log in and get their own JupyterLab,
running as themselves."""

from __future__ import annotations

import psutil
import requests
from playwright.sync_api import expect

from helpers import ARTIFACTS


def test_hub_proxy_and_service_are_up(hub):
    info = requests.get(f"{hub.url}/hub/api/", timeout=10)
    assert info.status_code == 200 and info.json()["version"] == "6.1.1"
    health = requests.get(f"{hub.service_url}api/health", timeout=10)  # through the proxy, without logging in
    assert health.status_code == 200
    assert health.headers["Content-Type"].startswith("application/json")
    assert health.json()["status"] == "ok"
    services = hub.api("GET", "/services").json()
    assert services["duel"]["url"] == f"http://127.0.0.1:{hub.service_port}"


def test_student_logs_in_and_gets_jupyterlab(hub):
    student = hub.students[0]
    session = hub.session(student)
    lab = session.get(hub.lab_url(student), timeout=30)
    assert lab.status_code == 200
    assert lab.url == hub.lab_url(student)  # no detour back to the login page
    assert "jupyter-config-data" in lab.text
    # The hub's login cookie and the server's own, each on its path.
    assert {c.name for c in session.cookies} >= {"jupyterhub-hub-login", f"jupyterhub-user-{student.name}"}
    # Another student's server is not theirs to open.
    other = hub.students[1]
    foreign = session.get(hub.lab_url(other), timeout=30, allow_redirects=False)
    assert foreign.status_code in (302, 403, 404, 424, 503)
    assert not foreign.headers.get("Location", "").startswith(f"/user/{other.name}/lab")


def test_each_server_runs_as_its_own_unix_user(hub):
    uids = set()
    for student in hub.students:
        hub.start_server(student)
        server = psutil.Process(hub.server_pid(student))
        assert server.uids().real == server.uids().effective == student.uid != 0
        assert "jupyterhub-singleuser" in " ".join(server.cmdline())
        assert server.cwd() == str(student.home)
        uids.add(server.uids().real)
    assert len(uids) == len(hub.students)


def test_roles_make_instructors_and_admins_duel_admins(hub):
    """What a token of each user may do, as the hub says (the scopes the service finds in its user model)."""
    for user in hub.users.values():
        created = hub.api("POST", f"/users/{user.name}/tokens", json={"note": "smoke", "expires_in": 300})
        assert created.status_code == 201, created.text
        me = requests.get(f"{hub.url}/hub/api/user", timeout=10,
                          headers={"Authorization": f"token {created.json()['token']}"}).json()
        assert me["name"] == user.name and me["admin"] == (user.role == "admin")
        assert {"access:services!service=duel", "access:services"} & set(me["scopes"])  # admins: every service
        assert ("custom:duel:admin" in me["scopes"]) == (user.role in ("instructor", "admin")), (user, me["scopes"])
    assert hub.user_model(hub.instructor)["groups"] == ["instructors"]


def test_student_sees_jupyterlab_in_chromium(hub, chromium):
    student = hub.students[1]
    page = chromium.new_context(viewport={"width": 1280, "height": 800}).new_page()
    hub.login(page, student)
    assert page.url.startswith(hub.lab_url(student))
    expect(page.locator(".jp-LabShell")).to_be_visible()
    expect(page.locator("#jp-MainLogo")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "hub-student-lab.png"))


def test_logs_are_kept(hub):
    assert "JupyterHub is now running" in hub.hub_log.read_text()
    assert hub.proxy_log.read_text().strip()  # the proxy's own output
    assert hub.service_log.read_text().strip()
