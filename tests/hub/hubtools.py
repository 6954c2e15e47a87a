"""A real JupyterHub for the tests: its users' Python, its Unix users, the hub process and what a test does with it.

The hub is configured by ``server/deploy/jupyterhub/jupyterhub_config.py`` (what a class would run) with only what a
test must change on top: ports, paths, the authenticator and its users, the single-user command and environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

from helpers import ARTIFACTS, REPO, free_port

EXAMPLE_CONFIG = REPO / "server" / "deploy" / "jupyterhub" / "jupyterhub_config.py"
PROXY = REPO / "tests" / "hub" / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
JUPYTERHUB_VERSION = "6.1.1"
#: The users' Python: a venv from Debian's interpreter (root's own Python may sit where other users cannot
#: read), with jupyter-duel from a wheel of this tree and jupyterhub-singleuser. Kept between runs.
USERS_VENV = Path(os.environ.get("JUPYTER_DUEL_HUB_VENV", "/opt/jupyter-duel-hub-venv"))
SYSTEM_PYTHON = "/usr/bin/python3"
#: Every process of one hub run (hub, proxy, service, users' servers and kernels) carries this variable, with
#: the pid of the pytest that started it: what teardown (and the next run, after a crash) kills.
RUN_MARKER = "JUPYTER_DUEL_HUB_TEST_RUN"
SERVICE_NAME = "duel"
TESTS_SERVICE = "duel-tests"


@dataclass(frozen=True)
class HubUser:
    name: str
    password: str
    role: str  # "student", "instructor" (in the hub's "instructors" group) or "admin" (a hub admin)

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.name).pw_uid

    @property
    def home(self) -> Path:
        return Path(pwd.getpwnam(self.name).pw_dir)


def _name(user: HubUser | str) -> str:
    return user if isinstance(user, str) else user.name


# -- the users' Python ------------------------------------------------------------------------------------------


def _pip_env() -> dict:
    """This process's environment without what points into the tests' own interpreter."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONUSERBASE")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PIP_ROOT_USER_ACTION="ignore")
    return env


def build_wheel(out: Path) -> Path:
    """A wheel of this tree (the JupyterLab extension as already built in ``jupyter_duel/labextension``)."""
    try:
        import hatch_jupyter_builder  # noqa: F401
        import hatchling  # noqa: F401
    except ImportError:
        isolation = []  # pip builds in an isolated environment: slower, same wheel
    else:
        isolation = ["--no-build-isolation"]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", *isolation, "--wheel-dir", str(out), str(REPO)],
        check=True, stdout=subprocess.DEVNULL, env=_pip_env(),
    )
    (wheel,) = out.glob("jupyter_duel-*.whl")
    return wheel


def wheel_key(wheel: Path) -> str:
    """What the wheel holds (its RECORD has every file's hash), whatever the zip's own timestamps."""
    with zipfile.ZipFile(wheel) as zf:
        record = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        digest = hashlib.sha256(zf.read(record))
    digest.update(f"jupyterhub=={JUPYTERHUB_VERSION}".encode())
    return digest.hexdigest()


def ensure_users_venv(log=print) -> Path:
    """Build (or bring up to date) the venv single-user servers run from; returns its ``bin/python``."""
    python = USERS_VENV / "bin" / "python"
    stamp = USERS_VENV / ".jupyter-duel-wheel"
    USERS_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{USERS_VENV}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time
        with tempfile.TemporaryDirectory() as tmp:
            wheel = build_wheel(Path(tmp))
            key = wheel_key(wheel)
            if stamp.exists() and stamp.read_text() == key and _runs(python):
                return python
            log(f"building the users' venv {USERS_VENV} from {wheel.name}")
            old_umask = os.umask(0o022)  # everything in it readable (and its programs runnable) by every user
            try:
                if not _runs(python):
                    shutil.rmtree(USERS_VENV, ignore_errors=True)
                    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(USERS_VENV)], check=True, env=_pip_env())
                pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
                stamp.unlink(missing_ok=True)
                # The same version number may hold other files: replace the package itself, then add what it needs.
                subprocess.run([*pip, "--force-reinstall", "--no-deps", str(wheel)], check=True, env=_pip_env())
                subprocess.run([*pip, str(wheel), f"jupyterhub=={JUPYTERHUB_VERSION}"], check=True, env=_pip_env())
                # No "news" question popping over what the browser tests look at.
                overrides = USERS_VENV / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
                overrides.parent.mkdir(parents=True, exist_ok=True)
                overrides.write_text(json.dumps({"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}))
                subprocess.run(["chmod", "-R", "a+rX", str(USERS_VENV)], check=True)
                stamp.write_text(key)
            finally:
                os.umask(old_umask)
    return python


def _runs(python: Path) -> bool:
    return python.exists() and subprocess.run(
        [str(python), "-c", "import jupyterhub, jupyter_duel"], capture_output=True, env=_pip_env()
    ).returncode == 0


# -- Unix users ---------------------------------------------------------------------------------------------------


def fresh_unix_user(name: str) -> None:
    """A local user ``name`` with an empty home of its own (mode 0700), as a new student of a class has."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
        entry = pwd.getpwnam(name)
    else:  # left by an earlier run: start again from an empty home
        home = Path(entry.pw_dir)
        if home.is_dir() and home != Path("/"):
            shutil.rmtree(home)
        shutil.copytree("/etc/skel", home, symlinks=True)
        subprocess.run(["chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(home)], check=True)
    os.chmod(entry.pw_dir, 0o700)


# -- processes ----------------------------------------------------------------------------------------------------


def marked(value: str | None = None) -> list[psutil.Process]:
    """Processes carrying :data:`RUN_MARKER` (with ``value``, or any)."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            mark = proc.environ().get(RUN_MARKER)
            if mark is not None and (value is None or mark == value):
                found.append(proc)
    return found


def kill_all(procs: list[psutil.Process], grace: float = 5.0) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace)


def kill_orphans_of_dead_runs() -> None:
    """What a run that died without its teardown (a killed pytest) left running."""
    orphans = []
    for proc in marked():
        with contextlib.suppress(psutil.Error):
            owner = int(proc.environ()[RUN_MARKER].split("-", 1)[0])
            if not psutil.pid_exists(owner):
                orphans.append(proc)
    kill_all(orphans)


# -- the hub ------------------------------------------------------------------------------------------------------


def service_command(python: str, db: Path) -> list[str]:
    """How the hub starts the duel service (the one place to change it)."""
    from jupyter_duel_server.app import DuelServeApp

    hub_mode = ["--hub"] if "hub" in DuelServeApp.flags else []  # older services: JUPYTERHUB_* set ip, port, prefix
    return [python, "-m", "jupyter_duel", "serve", *hub_mode, f"--db=sqlite:///{db}"]


@dataclass
class Hub:
    """A running JupyterHub with configurable-http-proxy, the duel service and local users.

    ``url`` is the public URL (the proxy), without a trailing slash; ``api_token`` is an admin-scoped token of a
    service of the tests' own (``duel-tests``) for ``api()``.
    """

    url: str
    users: dict[str, HubUser]
    run_dir: Path
    log_dir: Path
    api_token: str
    service_port: int
    hub_port: int
    proxy_api_port: int
    python: Path  # the users' venv
    proc: subprocess.Popen | None = None
    marker: str = ""
    _log: object = field(default=None, repr=False)

    # who is who
    @property
    def students(self) -> list[HubUser]:
        return [u for u in self.users.values() if u.role == "student"]

    @property
    def instructor(self) -> HubUser:
        return next(u for u in self.users.values() if u.role == "instructor")

    @property
    def admin(self) -> HubUser:
        return next(u for u in self.users.values() if u.role == "admin")

    # where things are
    @property
    def service_url(self) -> str:
        """The duel service through the proxy (as browsers reach it), with a trailing slash."""
        return f"{self.url}/services/{SERVICE_NAME}/"

    @property
    def hub_log(self) -> Path:
        return self.log_dir / "hub.log"

    @property
    def proxy_log(self) -> Path:
        return self.log_dir / "proxy.log"

    @property
    def service_log(self) -> Path:
        return self.log_dir / "service.log"

    def server_log(self, user: HubUser | str) -> Path:
        return self.log_dir / f"singleuser-{_name(user)}.log"

    def lab_url(self, user: HubUser | str) -> str:
        return f"{self.url}/user/{_name(user)}/lab"

    # the hub's REST API, as the tests' service
    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """``api("GET", "/users/duelstudent1")`` against ``/hub/api``."""
        headers = {"Authorization": f"token {self.api_token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}/hub/api{path}", headers=headers, timeout=30, **kwargs)

    def user_model(self, user: HubUser | str) -> dict:
        response = self.api("GET", f"/users/{_name(user)}")
        response.raise_for_status()
        return response.json()

    def start_server(self, user: HubUser | str, timeout: float = 120) -> dict:
        """Start the user's server unless it runs; wait until the hub says it is ready; returns its model."""
        name = _name(user)
        response = self.api("POST", f"/users/{name}/server")
        if response.status_code not in (201, 202, 400):  # 400: already running or pending
            response.raise_for_status()
        deadline = time.monotonic() + timeout
        while True:
            server = self.user_model(name)["servers"].get("")
            if server and server["ready"]:
                return server
            if server is None and response.status_code == 400 and not self._pending(name):
                raise RuntimeError(f"{name}'s server did not start: {response.text}\n{self.tail(self.server_log(name))}")
            if time.monotonic() > deadline or not self.alive():
                raise RuntimeError(f"{name}'s server not ready in {timeout}s\n{self.tail(self.server_log(name))}")
            time.sleep(0.3)

    def _pending(self, name: str) -> bool:
        return bool(self.user_model(name).get("pending"))

    def stop_server(self, user: HubUser | str, timeout: float = 60) -> None:
        name = _name(user)
        response = self.api("DELETE", f"/users/{name}/server")
        if response.status_code not in (202, 204, 400):
            response.raise_for_status()
        deadline = time.monotonic() + timeout
        while self.user_model(name)["servers"] and time.monotonic() < deadline:
            time.sleep(0.3)

    def server_pid(self, user: HubUser | str) -> int:
        """The pid of the user's running server (the spawner's state, readable with ``admin:server_state``)."""
        return int(self.user_model(user)["servers"][""]["state"]["pid"])

    # logging in
    def session(self, user: HubUser | str, *, lab: bool = True) -> requests.Session:
        """A ``requests`` session logged in through the ``/hub/login`` form (cookies as a browser holds them).
        With ``lab``, the user's server is started and ``/user/<name>/lab`` loaded once (the server's own
        OAuth round with the hub leaves its cookie in the session too)."""
        user = self.users[_name(user)]
        s = requests.Session()
        page = s.get(f"{self.url}/hub/login", timeout=30)
        page.raise_for_status()
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
        response = s.post(
            f"{self.url}/hub/login",
            data={"username": user.name, "password": user.password, "_xsrf": xsrf},
            allow_redirects=False, timeout=30,
        )
        if response.status_code != 302:
            raise AssertionError(f"login of {user.name} refused: {response.status_code} {response.text[:500]}")
        if lab:
            self.start_server(user)
            response = s.get(self.lab_url(user), timeout=60)
            response.raise_for_status()
        return s

    def login(self, page, user: HubUser | str, timeout_ms: int = 120_000) -> None:
        """Log ``user`` in with Playwright through the hub's form; returns once their JupyterLab is on screen
        at ``/user/<name>/lab`` (the hub spawns the server if it is not running)."""
        from playwright.sync_api import expect

        user = self.users[_name(user)]
        page.goto(f"{self.url}/hub/login")
        page.fill("#username_input", user.name)
        page.fill("#password_input", user.password)
        page.click("#login_submit")
        page.wait_for_url(re.compile(rf"/user/{re.escape(user.name)}/lab"), timeout=timeout_ms)
        expect(page.locator("#jp-main-dock-panel")).to_be_visible(timeout=timeout_ms)
        # The splash screen goes once the layout is restored.
        expect(page.locator("#jupyterlab-splash")).to_have_count(0, timeout=timeout_ms)

    # the process
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @staticmethod
    def tail(path: Path, lines: int = 60) -> str:
        try:
            text = path.read_text(errors="replace").splitlines()
        except OSError:
            return f"({path}: no log)"
        return f"--- {path} ---\n" + "\n".join(text[-lines:])

    def logs(self) -> str:
        paths = [self.hub_log, self.proxy_log, self.service_log, *sorted(self.log_dir.glob("singleuser-*.log"))]
        return "\n".join(self.tail(p) for p in paths)

    def start(self, timeout: float = 120) -> "Hub":
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "CONFIGPROXY_"))}
        env.update({RUN_MARKER: self.marker, "PYTHONUNBUFFERED": "1"})
        self._log = open(self.hub_log, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(self.run_dir / "jupyterhub_config.py")],
            cwd=self.run_dir, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        for url in (f"{self.url}/hub/api/", f"{self.service_url}api/health"):
            while True:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(url, timeout=5).status_code == 200:
                        break
                if not self.alive() or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the hub did not come up ({url})\n{self.logs()}")
                time.sleep(0.2)
        return self

    def stop(self) -> None:
        """The hub stops its users' servers, its services and its proxy; whatever of this run is left is killed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        kill_all(marked(self.marker))
        if self._log is not None:
            self._log.close()
            self._log = None


USERS = (("duelstudent1", "student"), ("duelstudent2", "student"), ("duelteacher", "instructor"),
         ("dueladmin", "admin"))


def make_hub(run_dir: Path, log_dir: Path | None = None) -> Hub:
    """Prepare everything a hub needs (users, venv, configuration) in ``run_dir``; call ``start()`` on it."""
    if not PROXY.exists():
        raise RuntimeError(
            f"configurable-http-proxy is not installed at {PROXY}: run `bash scripts/test.sh` once, or "
            "`source scripts/lib.sh && ensure_hub_proxy`"
        )
    kill_orphans_of_dead_runs()
    python = ensure_users_venv()
    password = secrets.token_urlsafe(12)
    users = {name: HubUser(name, password, role) for name, role in USERS}
    for name in users:
        fresh_unix_user(name)

    log_dir = log_dir or (ARTIFACTS / "hub")
    shutil.rmtree(log_dir, ignore_errors=True)
    log_dir.mkdir(parents=True)
    os.chmod(log_dir, 0o755)
    for user in users.values():  # each server writes its own log; no one reads another's
        path = log_dir / f"singleuser-{user.name}.log"
        path.touch(mode=0o600)
        os.chown(path, user.uid, pwd.getpwnam(user.name).pw_gid)

    hub = Hub(
        url=f"http://127.0.0.1:{free_port()}", users=users, run_dir=run_dir, log_dir=log_dir,
        api_token=secrets.token_hex(32), service_port=free_port(), hub_port=free_port(),
        proxy_api_port=free_port(), python=python, marker=f"{os.getpid()}-{secrets.token_hex(6)}",
    )
    write_config(hub)
    return hub


def write_config(hub: Hub) -> None:
    """The example configuration, then what the tests change."""
    users = hub.users.values()
    students = [u.name for u in users if u.role == "student"]
    instructors = [u.name for u in users if u.role == "instructor"]
    admins = [u.name for u in users if u.role == "admin"]
    password = next(iter(users)).password
    singleuser = USERS_VENV / "bin" / "jupyterhub-singleuser"
    # Each server's output to its own log (the shell execs the server: same pid for the spawner).
    singleuser_cmd = ["/bin/sh", "-c", f'exec "$@" >>{shlex.quote(str(hub.log_dir))}/singleuser-"$JUPYTERHUB_USER".log 2>&1',
                      "singleuser", str(singleuser)]
    proxy_cmd = ["/bin/sh", "-c", f'exec "$@" >>{shlex.quote(str(hub.proxy_log))} 2>&1', "proxy", str(PROXY)]
    service_cmd = ["/bin/sh", "-c", f'exec "$@" >>{shlex.quote(str(hub.service_log))} 2>&1', "service",
                   *service_command(sys.executable, hub.run_dir / "duel.sqlite")]
    values = dict(
        example=str(EXAMPLE_CONFIG), run_dir=str(hub.run_dir), url=hub.url + "/",
        hub_url=f"http://127.0.0.1:{hub.hub_port}", proxy_api=f"http://127.0.0.1:{hub.proxy_api_port}",
        proxy_cmd=proxy_cmd, service_url=f"http://127.0.0.1:{hub.service_port}", service_cmd=service_cmd,
        singleuser_cmd=singleuser_cmd, path=f"{USERS_VENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        password=password, students=students, instructors=instructors, admins=admins,
        api_token=hub.api_token, marker_name=RUN_MARKER, marker=hub.marker, tests_service=TESTS_SERVICE,
        service=SERVICE_NAME,
    )
    (hub.run_dir / "test-values.json").write_text(json.dumps(values, indent=1))
    (hub.run_dir / "jupyterhub_config.py").write_text(CONFIG)


CONFIG = '''\
# The class's configuration, then what the tests change (written by tests/hub/hubtools.py).
import json
import os

c = get_config()  # noqa: F821
v = json.loads(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "test-values.json")).read())
load_subconfig(v["example"])  # noqa: F821

# Where things run.
c.JupyterHub.bind_url = v["url"]
c.JupyterHub.hub_bind_url = v["hub_url"]
c.ConfigurableHTTPProxy.api_url = v["proxy_api"]
c.ConfigurableHTTPProxy.command = v["proxy_cmd"]
c.ConfigurableHTTPProxy.pid_file = os.path.join(v["run_dir"], "jupyterhub-proxy.pid")
c.JupyterHub.pid_file = os.path.join(v["run_dir"], "jupyterhub.pid")
c.JupyterHub.db_url = "sqlite:///" + os.path.join(v["run_dir"], "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(v["run_dir"], "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# Who logs in.
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = v["password"]
c.Authenticator.allowed_users = set(v["students"] + v["instructors"] + v["admins"])
c.Authenticator.admin_users = set(v["admins"])
c.JupyterHub.load_groups = {"instructors": {"users": v["instructors"]}}
for role in c.JupyterHub.load_roles:
    if role["name"] == "duel-instructor":
        role["users"] = v["admins"]

# The duel service at a port of the tests' own, its output in a log.
for service in c.JupyterHub.services:
    if service["name"] == v["service"]:
        service["url"] = v["service_url"]
        service["command"] = v["service_cmd"]
        service["cwd"] = v["run_dir"]
        service["environment"] = {**service.get("environment", {}), v["marker_name"]: v["marker"]}

# The tests' own access to the hub's API.
c.JupyterHub.services.append({"name": v["tests_service"], "api_token": v["api_token"]})
c.JupyterHub.load_roles.append({
    "name": "duel-tests",
    "scopes": ["admin:users", "admin:servers", "admin:server_state", "admin:groups", "read:roles", "tokens",
               "read:services", "list:services", "access:servers", "access:services"],
    "services": [v["tests_service"]],
})

# Single-user servers from the users' venv, each server's output in its own log.
c.Spawner.cmd = v["singleuser_cmd"]
c.Spawner.args = ["--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
c.Spawner.environment = {**c.Spawner.environment, "PATH": v["path"], v["marker_name"]: v["marker"]}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
'''
