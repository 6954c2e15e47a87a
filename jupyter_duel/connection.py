"""How code in a user's kernel reaches the duel service and proves who it is.

The rules are the browser panel's (``docs/protocol.md`` § Identity, decisions 1, 10 and 16); a kernel runs as its
user, so it may hold only what that user already holds:

- ``embedded``: the kernel's own Jupyter server runs the service at ``{base_url}duel/``. REST and Socket.IO carry
  that server's token (``Authorization: token …``), found in the server's runtime file
  (``jupyter_server.serverapp.list_running_servers``: the server whose pid is the kernel's ``JPY_PARENT_PID``);
  ``register_user`` carries a fresh identity token from ``GET {base_url}jupyter-duel/session``, as the panel's.
- ``hub``: under JupyterHub with the class's service ``/services/<name>/``: every request carries the user's own
  ``JUPYTERHUB_API_TOKEN``, which the service checks with the hub; ``register_user {}``. The service's address is
  ``JUPYTER_DUEL_SERVICE_URL``, else the hub's ``JUPYTERHUB_PUBLIC_URL`` and the service's prefix, else what the
  hub's API says of the service (the token needs ``read:services!service=<name>``).
- ``standalone``: a service started with ``jupyter duel serve`` at an explicit URL: a guest
  (``register_user {"display_name", "guest_key"}``), or, with a token, a hub service's bearer (``register_user {}``).

:func:`connect` picks one: an explicit ``url`` (a Jupyter server with this extension, or a service), else
``JUPYTER_DUEL_SERVICE_URL``, else the kernel's Jupyter server, which says (its session endpoint) whether the
service is embedded, the hub's or external, exactly as it tells the browser.
"""

from __future__ import annotations

import getpass
import json
import os
from http.cookies import CookieError, SimpleCookie
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

from jupyter_server.utils import url_path_join

#: Seconds a discovery request may take (the kernel's own server, or the service's health endpoint).
HTTP_TIMEOUT_S = 10.0


class ConnectionSetupError(RuntimeError):
    """No service could be found, or it refused this kernel's credentials: ``code`` says which, machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class ServiceConnection:
    """Where the service is and how this kernel proves who it is.

    ``base_url`` is the service's root, ending with ``/`` (REST under ``api/``, Socket.IO at ``socketio_path``)."""

    mode: str  # "embedded", "hub" or "standalone"
    base_url: str
    socketio_path: str
    #: What authenticates every HTTP request and the Socket.IO handshake (a Jupyter or hub token), or None.
    auth_token: str | None = None
    #: embedded: the Jupyter server's root URL, whose session endpoint signs identity tokens.
    server_url: str | None = None
    #: A guest's chosen name (embedded with guests allowed, or standalone); None: the authenticated user.
    guest_name: str | None = None
    #: The key ``registered`` gave this kernel for its guest name; sent again with every ``register_user``.
    guest_key: str | None = None
    hub_service: str | None = None
    #: embedded: the Jupyter server's login cookie. Jupyter names a token-authenticated client by its login
    #: cookie (without one, every request is a new anonymous user), so it goes with every request, as a
    #: browser's does.
    cookies: dict[str, str] = field(default_factory=dict)
    #: Where ``cookies`` are kept between kernels (the Jupyter runtime directory), or None.
    cookie_file: str | None = None
    #: Who the Jupyter server says this kernel is (embedded), or None.
    user: str | None = None

    @property
    def api_url(self) -> str:
        return self.base_url + "api/"

    @property
    def origin(self) -> str:
        """``scheme://host[:port]``: what the Socket.IO client connects to (with ``socketio_path``)."""
        parts = urllib.parse.urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def headers(self) -> dict[str, str]:
        """Headers for a REST request (and the Socket.IO handshake)."""
        headers = {"Authorization": f"token {self.auth_token}"} if self.auth_token else {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def socketio_connect_kwargs(self) -> dict:
        """Keyword arguments for ``socketio.AsyncClient.connect``. Websocket only: python-socketio sends
        ``headers`` with the handshake alone, and a websocket is one request, so every byte is authenticated."""
        return {"url": self.origin, "socketio_path": self.socketio_path, "headers": self.headers(),
                "transports": ["websocket"]}

    def remember(self, registered: dict) -> None:
        """Keep what a ``registered`` event gives this kernel for later registrations (a guest's key)."""
        if registered.get("guest_key"):
            self.guest_key = registered["guest_key"]

    def _with_key(self, payload: dict) -> dict:
        return {**payload, "guest_key": self.guest_key} if self.guest_key else payload

    def session_url(self) -> str:
        url = url_path_join(self.server_url or "", "jupyter-duel/session")
        if self.guest_name:
            url += "?" + urllib.parse.urlencode({"name": self.guest_name})
        return url

    def register_payload(self) -> dict:
        """The ``register_user`` payload (blocking: a request to the Jupyter server when embedded). Identity
        tokens are short-lived: build it for each registration, never keep it."""
        if self.mode == "embedded":
            status, body = http_json(self.session_url(), self.headers(), self.cookies)
            return self._session_token(status, body)
        return self._static_payload()

    #: The same: what the Socket.IO connection sends with ``register_user`` to say who it is.
    socketio_auth = register_payload

    async def register_payload_async(self, http_session=None) -> dict:
        """:meth:`register_payload` on the running event loop (aiohttp), for a client that must not block it."""
        if self.mode != "embedded":
            return self._static_payload()
        import aiohttp

        own = http_session is None
        session = http_session or aiohttp.ClientSession()
        try:
            async with session.get(self.session_url(), headers=self.headers(),
                                   timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_S)) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                return self._session_token(response.status, body)
        except aiohttp.ClientError as exc:
            raise ConnectionSetupError("service_unreachable", f"cannot reach the Jupyter server: {exc}") from exc
        finally:
            if own:
                await session.close()

    def _session_token(self, status: int, body) -> dict:
        if status != 200 or not isinstance(body, dict) or not body.get("token"):
            error = (body or {}).get("error") if isinstance(body, dict) else None
            raise ConnectionSetupError(
                (error or {}).get("code", "auth_failed"),
                f"the Jupyter server gave no identity token (HTTP {status}): "
                f"{(error or {}).get('message', 'is the jupyter_duel server extension enabled?')}",
            )
        return self._with_key({"token": body["token"]})

    def _static_payload(self) -> dict:
        if self.mode == "standalone" and not self.auth_token:
            return self._with_key({"display_name": self.guest_name or default_guest_name()})
        return {}  # the hub's token on the connection's request says who this is

    def __repr__(self) -> str:  # never the tokens
        return (f"ServiceConnection(mode={self.mode!r}, base_url={self.base_url!r}, "
                f"guest_name={self.guest_name!r})")


def default_guest_name() -> str:
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def http_json(url: str, headers: dict | None = None, cookies: dict | None = None) -> tuple[int, object]:
    """GET ``url``: (status, decoded JSON or None). Redirects are not followed (a login page is a refusal).
    ``cookies``, if given, takes the cookies the response sets (and loses those it clears)."""
    request = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=HTTP_TIMEOUT_S) as response:
            status, raw, answer = response.status, response.read(), response.headers
    except urllib.error.HTTPError as err:
        status, raw, answer = err.code, err.read(), err.headers
    except (OSError, ValueError) as exc:
        raise ConnectionSetupError("service_unreachable", f"cannot reach {url}: {exc}") from exc
    if cookies is not None:
        _take_cookies(cookies, answer.get_all("Set-Cookie") or [])
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, None


def _take_cookies(jar: dict, set_cookies: list[str]) -> None:
    for header in set_cookies:
        parsed = SimpleCookie()
        try:
            parsed.load(header)
        except CookieError:
            continue
        for name, morsel in parsed.items():
            if morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"]) or not morsel.value:
                jar.pop(name, None)
            else:
                jar[name] = morsel.value


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


# -- finding the kernel's Jupyter server --------------------------------------------------------------------------


def kernel_server() -> dict | None:
    """The running Jupyter server that started this kernel (its ``jpserver-*.json``), or None.

    The server whose pid is ``JPY_PARENT_PID`` (jupyter_client sets it to the launching process); without it
    (a kernel not launched by a server), the only server running, if there is exactly one."""
    from jupyter_server.serverapp import list_running_servers

    servers = [info for info in list_running_servers() if not info.get("sock")]
    parent = os.environ.get("JPY_PARENT_PID")
    for info in servers:
        if parent and str(info.get("pid")) == parent:
            return info
    return servers[0] if len(servers) == 1 else None


def _server_token(info: dict | None) -> str | None:
    """The credential for the kernel's server: its own token, else (a hub's single-user server, which takes the
    user's hub token) ``JUPYTERHUB_API_TOKEN``."""
    return (info or {}).get("token") or os.environ.get("JUPYTERHUB_API_TOKEN") or None


# -- connect --------------------------------------------------------------------------------------------------------


def connect(url: str | None = None, token: str | None = None, *, name: str | None = None) -> ServiceConnection:
    """The connection to the duel service for code in this kernel.

    ``url``: a Jupyter server running this extension (``token``: its token) or a duel service (``token``: a hub
    token for a hub service; none: play as a guest). Without ``url``: ``JUPYTER_DUEL_SERVICE_URL``, else the
    kernel's own Jupyter server. ``name``: play as this guest name where guests are allowed (embedded with
    guests, or a standalone service); otherwise the authenticated user.

    Raises :class:`ConnectionSetupError` when no service is found or it refuses the credentials."""
    if url:
        return _connect_url(_slash(url), token, name)
    env_url = os.environ.get("JUPYTER_DUEL_SERVICE_URL")
    if env_url:
        return _service(_slash(env_url), token or os.environ.get("JUPYTERHUB_API_TOKEN"), name)
    info = kernel_server()
    if info is None:
        if os.environ.get("JUPYTERHUB_API_TOKEN") and os.environ.get("JUPYTERHUB_API_URL"):
            return _hub(os.environ.get("JUPYTER_DUEL_HUB_SERVICE", "duel"), token)
        raise ConnectionSetupError(
            "no_service",
            "no Jupyter server of this kernel was found (or several): pass url= (a Jupyter server with "
            "jupyter-duel, or a duel service) or set JUPYTER_DUEL_SERVICE_URL",
        )
    server_url = _slash(info["url"])
    token = token or _server_token(info)
    status, conn = _via_server(server_url, token, name)
    if conn is None:
        raise ConnectionSetupError(
            "no_service", f"this kernel's Jupyter server ({server_url}) does not answer jupyter-duel/session "
            f"(HTTP {status}): is the jupyter_duel server extension enabled?")
    return conn


def _via_server(server_url: str, token: str | None, name: str | None) -> tuple[int, ServiceConnection | None]:
    """What the Jupyter server at ``server_url`` says of the service, as it tells its browser; None when it does
    not answer like a server with this extension. Its login cookie is kept (see ``COOKIE_FILE``)."""
    cookie_file = os.path.join(_runtime_dir(), COOKIE_FILE)
    cookies = _load_cookies(cookie_file, server_url)
    status, session = _ask_session(server_url, token, name, cookies)
    if session is None:
        return status, None
    conn = _from_session(server_url, token, session, name, cookies)
    if conn.mode == "embedded":
        conn.cookie_file = cookie_file
        _save_cookies(cookie_file, server_url, cookies)
    return status, conn


#: The login cookies kernels keep for Jupyter servers, in the Jupyter runtime directory (where the servers' own
#: runtime files, tokens included, already are): one identity for all the kernels that reach a server.
COOKIE_FILE = "jupyter-duel-kernel-cookies.json"
#: Servers whose cookies are kept (the most recently used).
COOKIE_SERVERS = 20


def _runtime_dir() -> str:
    from jupyter_core.paths import jupyter_runtime_dir

    return jupyter_runtime_dir()


def _load_cookies(path: str, server_url: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            kept = json.load(f).get(server_url)
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in kept.items()} if isinstance(kept, dict) else {}


def _save_cookies(path: str, server_url: str, cookies: dict) -> None:
    """Keep ``cookies`` for ``server_url`` (an owner-only file), with those of the last few other servers."""
    from jupyter_core.paths import secure_write

    try:
        with open(path, encoding="utf-8") as f:
            kept = json.load(f)
        if not isinstance(kept, dict):
            kept = {}
    except (OSError, ValueError):
        kept = {}
    kept.pop(server_url, None)
    kept = dict(list(kept.items())[-(COOKIE_SERVERS - 1):]) if COOKIE_SERVERS > 1 else {}
    kept[server_url] = cookies
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with secure_write(path) as f:
            json.dump(kept, f)
    except OSError:  # a read-only runtime directory: this kernel keeps its identity in memory only
        pass


def _ask_session(server_url: str, token: str | None, name: str | None,
                 cookies: dict) -> tuple[int, dict | None]:
    url = url_path_join(server_url, "jupyter-duel/session")
    if name:
        url += "?" + urllib.parse.urlencode({"name": name})
    headers = {"Authorization": f"token {token}"} if token else {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    status, body = http_json(url, headers, cookies)
    if status == 200 and isinstance(body, dict) and body.get("mode"):
        return status, body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):  # the extension answered: a refusal
        raise ConnectionSetupError(body["error"].get("code", "auth_failed"), body["error"].get("message", ""))
    if status in (401, 403):  # a Jupyter server that does not take this token
        raise ConnectionSetupError("auth_failed", f"{server_url} refused this token (HTTP {status})")
    return status, None


def _from_session(server_url: str, token: str | None, session: dict, name: str | None,
                  cookies: dict) -> ServiceConnection:
    mode = session["mode"]
    if mode == "embedded":
        api = session["api_url"]  # a path on the server: {base_url}duel/api/
        base = urllib.parse.urljoin(server_url, api[: -len("api/")])
        return ServiceConnection("embedded", base, session["socketio_path"], auth_token=token,
                                 server_url=server_url, guest_name=name if session.get("guest") else None,
                                 cookies=cookies, user=session.get("user"))
    if mode == "hub":
        prefix = session["api_url"][: -len("api/")]  # /services/<name>/ on the hub's proxy
        return _hub(prefix.rstrip("/").rsplit("/", 1)[-1], None, fallback=session.get("fallback"),
                    server_url=server_url, server_token=token, name=name, cookies=cookies)
    # external: a standalone service, where this server's users are guests.
    base = urllib.parse.urljoin(server_url, session["api_url"][: -len("api/")])
    return ServiceConnection("standalone", base, session["socketio_path"], guest_name=name or session["user"])


def _connect_url(url: str, token: str | None, name: str | None) -> ServiceConnection:
    """An explicit URL: a Jupyter server with this extension (its session endpoint answers), or a service."""
    status, conn = _via_server(url, token, name)
    if conn is not None:
        return conn
    return _service(url, token, name)


def _service(url: str, token: str | None, name: str | None) -> ServiceConnection:
    """A service at ``url`` (``jupyter duel serve``, or a hub's service addressed directly)."""
    conn = ServiceConnection("standalone", url, urllib.parse.urlsplit(url).path + "socket.io",
                             auth_token=token, guest_name=None if token else name)
    if token and os.environ.get("JUPYTERHUB_API_TOKEN") == token:
        conn.mode = "hub"
    status, body = http_json(conn.api_url + "health", conn.headers())
    if status != 200 or not isinstance(body, dict):
        code = "auth_failed" if status in (401, 403) else "no_service"
        raise ConnectionSetupError(code, f"no duel service answers at {url} (HTTP {status})")
    return conn


def _hub(service_name: str, token: str | None, *, fallback: dict | None = None, server_url: str | None = None,
         server_token: str | None = None, name: str | None = None, cookies: dict | None = None) -> ServiceConnection:
    """The class's hub service, reached with the user's own hub token."""
    hub_token = token or os.environ.get("JUPYTERHUB_API_TOKEN")
    if not hub_token:
        raise ConnectionSetupError("auth_failed", "under JupyterHub, but JUPYTERHUB_API_TOKEN is not set")
    base, status = _hub_service_url(service_name, hub_token)
    if base is None:
        if status == 404 and fallback is not None and server_url:
            # The hub has no such service: the server's embedded one, as the panel falls back to it.
            return _from_session(server_url, server_token, fallback, name, cookies or {})
        raise ConnectionSetupError(
            "no_service",
            f"cannot tell where the hub's service {service_name!r} is from this kernel: set "
            "JUPYTER_DUEL_SERVICE_URL (c.Spawner.environment), JUPYTERHUB_PUBLIC_URL, or give the users' "
            f"servers the scope read:services!service={service_name}",
        )
    conn = ServiceConnection("hub", base, urllib.parse.urlsplit(base).path + "socket.io", auth_token=hub_token,
                             hub_service=service_name)
    return conn


def _hub_service_url(service_name: str, hub_token: str) -> tuple[str | None, int]:
    """Where the hub's service is, as this kernel can reach it, or None with the hub API's answer (404: the hub
    has no such service; 403: this token may not read it)."""
    base_url = os.environ.get("JUPYTERHUB_BASE_URL", "/")
    public = os.environ.get("JUPYTERHUB_PUBLIC_URL")
    if public:
        path = url_path_join(base_url, "services", service_name)
        return _slash(urllib.parse.urljoin(_slash(public), path)), 200
    api = os.environ.get("JUPYTERHUB_API_URL")
    if not api:
        return None, 0
    # The hub's own model of the service: its direct URL (the proxy forwards /services/<name>/ there).
    status, model = http_json(url_path_join(api, "services", service_name), {"Authorization": f"token {hub_token}"})
    if status == 200 and isinstance(model, dict) and model.get("url"):
        path = url_path_join(base_url, "services", service_name).lstrip("/")
        return _slash(urllib.parse.urljoin(_slash(model["url"]), path)), status
    return None, status
