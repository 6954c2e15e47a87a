"""The Jupyter server extension: identity and configuration for the front end, and the embedded service.

With no ``service_url`` configured, the central service runs inside this Jupyter server, mounted at
``{base_url}duel/`` behind Jupyter's own authentication: the REST API and the Socket.IO endpoint (both of its
transports) alike. ``{base_url}jupyter-duel/session`` tells the front end
where the service is and hands it an identity token for the signed-in Jupyter user (or, where guests are
allowed, for the name the browser tab chose).
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
        token = ext.signer.issue(_identity(name, guest))
        base = self.base_url
        self.finish(
            {
                "user": user,
                "name": name,
                "guest": guest,
                "guests_allowed": ext.allow_guests,
                "token": token,
                "socketio_url": ext.service_origin if ext.service_url else "",
                "socketio_path": ext.service_socketio_path or url_path_join(base, "duel", "socket.io"),
                "api_url": url_path_join(ext.service_url or base, "duel", "api/")
                if not ext.service_url
                else url_path_join(ext.service_url, "api/"),
                "version": __version__,
            }
        )

    def _fail(self, status: int, code: str, message: str) -> None:
        self.set_status(status)
        self.finish({"error": {"code": code, "message": message}})


def _identity(name: str, guest: bool):
    from jupyter_duel_server.auth import Identity

    return Identity(name, guest)


def _protected(handler_cls):
    """The service's REST handler behind Jupyter's authentication: Jupyter's APIHandler first in the MRO
    (identity, origin and xsrf checks) and every method marked ``web.authenticated``, since Jupyter Server
    lets unmarked handlers through by default (``ServerApp.allow_unauthenticated_access``)."""
    methods = {
        name: web.authenticated(getattr(handler_cls, name))
        for name in ("get", "post", "put", "patch", "delete")
        if name in vars(handler_cls)
    }
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

    service_url = Unicode(
        "",
        help="URL of an external central service (e.g. a JupyterHub service). Empty: run it in this server.",
    ).tag(config=True)

    service_socketio_path = Unicode(
        "", help="Socket.IO path of the external service (default: /socket.io under its URL)."
    ).tag(config=True)

    service_secret = Unicode(
        "", help="Secret shared with the external service to sign identity tokens (or JUPYTER_DUEL_SECRET)."
    ).tag(config=True)

    allow_guests = Bool(
        help="Let each browser tab choose a guest name. Default: on for a single-user Jupyter server with the "
        "embedded service, off under JupyterHub or with an external service."
    ).tag(config=True)

    @default("allow_guests")
    def _default_allow_guests(self):
        return not self.service_url and "JUPYTERHUB_API_TOKEN" not in os.environ

    def initialize_settings(self):
        self.service = None
        self.service_origin = ""
        if self.service_url:
            from jupyter_duel_server.auth import IdentitySigner

            secret = self.service_secret or os.environ.get("JUPYTER_DUEL_SECRET", "")
            if not secret:
                raise ValueError("DuelExtension.service_secret is required with an external service_url")
            self.signer = IdentitySigner(secret)
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
        self.log.info("jupyter-duel %s: %s", __version__, self.service_url or "embedded central service")

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
