"""The Jupyter server extension: where the front end finds its central service, and the embedded service.

``{base_url}jupyter-duel/session`` tells the front end which service to use and how to prove who it is:

- ``hub``: under JupyterHub, the class's service ``/services/<hub_service>/`` (found by name; default ``duel``).
  The browser logs in to it through the hub's OAuth; this server hands out nothing that names a user.
- ``embedded`` (the default, and the fallback under a hub that has no such service): the central service runs
  inside this Jupyter server, mounted at ``{base_url}duel/`` behind Jupyter's own authentication (the REST API and
  the Socket.IO endpoint, both of its transports). The session hands the front end an identity token, signed with
  the embedded service's in-memory secret, for the signed-in Jupyter user (who runs this service, so an
  instructor of it) or, where guests are allowed, for the name the browser tab chose.
- ``external``: a standalone service at ``service_url``; the browser plays there as a guest. No identity token is
  signed for it: a secret shared with a student's own server would let any code they run act as anybody.
"""

from __future__ import annotations

import os

from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Bool, Unicode, default

from ._version import __version__


class SessionHandler(APIHandler):
    """GET: who the browser is, where the service is, and a fresh identity token."""

    def initialize(self, extension: "DuelExtension") -> None:
        self.extension = extension

    @web.authenticated
    def get(self):
        ext = self.extension
        user = self.current_user.username
        if ext.mode == "external":
            return self.finish({
                "mode": "external", "user": user, "name": user, "guest": True, "guests_allowed": True,
                "token": None, "socketio_url": ext.service_origin, "socketio_path": ext.service_socketio_path,
                "api_url": url_path_join(ext.service_url, "api/"), "version": __version__,
            })
        embedded = self._embedded(ext, user)
        if embedded is None:
            return
        if ext.mode == "hub":
            prefix = url_path_join(os.environ.get("JUPYTERHUB_BASE_URL", "/"), "services", ext.hub_service)
            return self.finish({
                "mode": "hub", "user": user, "name": user, "guest": False, "guests_allowed": False, "token": None,
                "socketio_url": "", "socketio_path": url_path_join(prefix, "socket.io"),
                "api_url": url_path_join(prefix, "api/"), "login_url": url_path_join(prefix, "api/me"),
                "version": __version__, "fallback": embedded,
            })
        self.finish(embedded)

    def _embedded(self, ext: "DuelExtension", user: str) -> dict | None:
        """The session for the embedded service, or None after answering with an error."""
        requested = (self.get_argument("name", "") or "").strip()
        name, guest = user, False
        if requested and requested != user:
            if not ext.allow_guests:
                return self._fail(403, "guests_disabled", "this server does not allow guest names")
            from jupyter_duel_server.auth import AuthError, check_guest_name

            try:
                name, guest = check_guest_name(requested), True
            except AuthError as exc:
                return self._fail(400, exc.code, str(exc))
        base = self.base_url
        return {
            "mode": "embedded",
            "user": user,
            "name": name,
            "guest": guest,
            "guests_allowed": ext.allow_guests,
            # The Jupyter user runs this service: its instructor. A guest name chosen in a tab never is.
            "token": ext.signer.issue(_identity(name, guest, instructor=not guest)),
            "socketio_url": "",
            "socketio_path": url_path_join(base, "duel", "socket.io"),
            "api_url": url_path_join(base, "duel", "api/"),
            "version": __version__,
        }

    def _fail(self, status: int, code: str, message: str) -> None:
        self.set_status(status)
        self.finish({"error": {"code": code, "message": message}})


def _identity(name: str, guest: bool, instructor: bool):
    from jupyter_duel_server.auth import Identity

    return Identity(name, guest, instructor=instructor)


def _protected(handler_cls):
    """The service's REST handler behind Jupyter's authentication: Jupyter's APIHandler first in the MRO
    (identity, origin and xsrf checks) and every method marked ``web.authenticated``, since Jupyter Server
    lets unmarked handlers through by default (``ServerApp.allow_unauthenticated_access``)."""
    methods = {
        name: web.authenticated(getattr(handler_cls, name))
        for name in ("get", "post", "put", "patch", "delete")
        if name in vars(handler_cls)
    }
    # Behind Jupyter's authentication, every caller is this server's user, who runs the service.
    methods["trusted_owner"] = True
    return type("Jupyter" + handler_cls.__name__, (APIHandler, handler_cls), methods)


def _protected_socketio(handler_cls):
    """The service's Socket.IO handler (a Tornado ``WebSocketHandler``) behind Jupyter's authentication, for the
    websocket and the long-polling transport alike: ``JupyterHandler.prepare`` resolves the user (token or login
    cookie) and every method answers 403 without one, before Engine.IO sees the request.

    Jupyter's XSRF check is left out, as for Jupyter's own websockets: the Socket.IO client does not send the XSRF
    token with its polling requests, and a cross-site page cannot act on a session anyway: Engine.IO refuses
    requests from other origins, and posting to a session takes its id, which only the handshake's response (not
    readable across origins) carries."""
    methods = {name: ws_authenticated(getattr(handler_cls, name)) for name in ("get", "post", "options")}

    def check_xsrf_cookie(self):
        return None

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish({"error": {"code": f"http_{status_code}", "message": self._reason}})

    methods.update(check_xsrf_cookie=check_xsrf_cookie, write_error=write_error)
    return type("Jupyter" + handler_cls.__name__, (handler_cls, JupyterHandler), methods)


class DuelExtension(ExtensionApp):
    """Configure with ``c.DuelExtension.*`` in ``jupyter_server_config.py``; the embedded service with
    ``c.DuelService.*`` (see ``jupyter duel serve --help-all``)."""

    name = "jupyter_duel"

    hub_service = Unicode(
        help="Under JupyterHub: the name of the class's jupyter-duel service (/services/<name>/). Default: "
        "JUPYTER_DUEL_HUB_SERVICE, else 'duel'. Empty: use the embedded service even under a hub."
    ).tag(config=True)

    @default("hub_service")
    def _default_hub_service(self):
        return os.environ.get("JUPYTER_DUEL_HUB_SERVICE", "duel")

    service_url = Unicode(
        "",
        help="URL of a standalone central service (jupyter duel serve) where this server's users play as guests. "
        "Empty: the hub's service under JupyterHub, else the embedded one.",
    ).tag(config=True)

    service_socketio_path = Unicode(
        "", help="Socket.IO path of the standalone service (default: /socket.io under its URL)."
    ).tag(config=True)

    allow_guests = Bool(
        help="Let each browser tab choose a guest name. Default: on for a single-user Jupyter server with the "
        "embedded service, off under JupyterHub or with an external service."
    ).tag(config=True)

    @default("allow_guests")
    def _default_allow_guests(self):
        return self.mode == "embedded" and "JUPYTERHUB_API_TOKEN" not in os.environ

    @property
    def mode(self) -> str:
        """``external``, ``hub`` or ``embedded``: see the module's docstring."""
        if self.service_url:
            return "external"
        if self.hub_service and os.environ.get("JUPYTERHUB_API_URL") and os.environ.get("JUPYTERHUB_BASE_URL"):
            return "hub"
        return "embedded"

    def initialize_settings(self):
        self.service = None
        self.service_origin = ""
        if self.service_url:
            if not self.service_socketio_path:
                from urllib.parse import urlparse

                self.service_socketio_path = url_path_join(urlparse(self.service_url).path or "/", "socket.io")
            if self.service_url.startswith("/"):
                # A path on this origin (behind the same proxy): the browser connects to its own origin.
                self.service_origin = ""
            else:
                self.service_origin = self.service_url
        else:
            from jupyter_duel_server.service import DuelService

            base_url = self.serverapp.base_url
            self.service = DuelService(
                parent=self.serverapp,
                log=self.log,
                base_path=url_path_join(base_url, "duel/"),
                # Guests get signed tokens from the (authenticated) session endpoint; the socket itself never
                # accepts a bare display name here, so nobody reaches the service without Jupyter's auth.
                allow_guests=False,
            )
            self.signer = self.service.signer
        self.log.info("jupyter-duel %s: %s", __version__, {"external": self.service_url, "hub": f"the hub's service "
                      f"{self.hub_service!r}", "embedded": "embedded central service"}[self.mode])

    def initialize_handlers(self):
        self.handlers.append(("jupyter-duel/session", SessionHandler, {"extension": self}))
        if self.service is not None:
            # The service's routes already carry base_url; add them directly rather than through
            # self.handlers, which would prefix base_url a second time.
            routes = []
            for pattern, handler, *rest in self.service.handlers():
                protect = _protected_socketio if pattern.endswith("/socket.io/") else _protected
                routes.append((pattern, protect(handler), *rest))
            self.serverapp.web_app.add_handlers(".*$", routes)

    async def _start_jupyter_server_extension(self, serverapp):
        if self.service is not None:
            await self.service.start()

    async def stop_extension(self):
        if self.service is not None:
            await self.service.close()
