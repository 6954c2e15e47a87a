"""The JupyterHub front door: who a request is when the service runs as a JupyterHub service.

Students reach the service through the hub's proxy at ``/services/<name>/``. A browser proves who it is with
the service's own OAuth cookie (``jupyterhub.services.auth.HubOAuth``): ``GET {prefix}api/me`` without it
redirects through the hub's OAuth flow (no confirmation page for a hub-managed service with
``oauth_no_confirm``) and comes back with it set. The front end loads it as a navigation (a hidden frame), since
the hub authenticates a page script's requests by cookie only with the XSRF token ``api/me`` answers with;
the Socket.IO connection is a websocket, which needs none. Every Socket.IO and REST request is then checked with the
hub. A token or cookie names its owner only, as the hub says: nothing a student's own server or kernel holds
lets them act as anybody else.

Instructors are users whose token carries ``DuelService.hub_instructor_scope`` (``custom:duel:admin``, given by
a role in the hub's configuration) and, with ``hub_admins_are_instructors``, hub admins (looked up with the
service's own token, which needs ``read:users``).

JupyterHub's client library is the ``hub`` extra (``pip install jupyter-duel[hub]``); this module is imported
only by a service started with ``--hub``.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .auth import Identity

if TYPE_CHECKING:
    from .service import DuelService

ADMIN_CACHE_S = 60.0


class HubFrontDoor:
    """Hub identity for one service (built from JupyterHub's ``JUPYTERHUB_*`` environment)."""

    def __init__(self, service: "DuelService"):
        self.service = service
        # The one HubOAuth of the process: the OAuth callback handler uses it (its login states live in it).
        self.auth = HubOAuth.instance(cache_max_age=60)
        self._admins: dict[str, tuple[float, bool]] = {}  # name -> (checked at, admin)

    async def identity(self, handler: web.RequestHandler) -> Identity | None:
        """The hub user behind ``handler``'s request (its OAuth cookie or token), if allowed to use the service."""
        model = await self.auth.get_user(handler, sync=False)
        if not model or model.get("kind", "user") != "user":
            return None
        if self.auth.access_scopes and not self.auth.check_scopes(self.auth.access_scopes, model):
            return None
        name = model["name"]
        instructor = self.service.hub_instructor_scope in model.get("scopes", ())
        if not instructor and self.service.hub_admins_are_instructors:
            instructor = await self._is_admin(name)
        return Identity(name, False, instructor=instructor)

    async def _is_admin(self, name: str) -> bool:
        now = time.monotonic()
        cached = self._admins.get(name)
        if cached and now - cached[0] < ADMIN_CACHE_S:
            return cached[1]
        request = HTTPRequest(
            f"{self.auth.api_url}/users/{name}", headers={"Authorization": f"token {self.auth.api_token}"}
        )
        try:
            response = await AsyncHTTPClient().fetch(request)
            admin = bool(json.loads(response.body).get("admin"))
        except Exception as exc:  # no read:users for the service, or the hub is away: not an admin for now
            self.service.log.warning("jupyter-duel: cannot ask the hub whether %s is an admin: %s", name, exc)
            admin = False
        self._admins[name] = (now, admin)
        return admin

    def handlers(self, prefix: str) -> list[tuple]:
        """The OAuth callback and ``api/me``, the URL a browser loads to log in."""
        return [
            (prefix + "oauth_callback", HubOAuthCallbackHandler),
            (prefix + "api/me", MeHandler, {"door": self}),
        ]


class MeHandler(HubOAuthenticated, web.RequestHandler):
    """GET: who the browser is, logging it in through the hub's OAuth first when it has no cookie yet."""

    def initialize(self, door: HubFrontDoor) -> None:
        self.door = door
        self.hub_auth = door.auth

    @web.authenticated
    async def get(self):
        identity = await self.door.identity(self)
        if identity is None:
            raise web.HTTPError(403)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Cache-Control", "no-store")
        # The XSRF token goes with every REST call a page script makes (header X-XSRFToken): the hub's cookie
        # authenticates such requests only with it. Websockets need none.
        self.finish(json.dumps({"name": identity.name, "display_name": identity.name,
                                "instructor": identity.instructor, "xsrf_token": self.xsrf_token.decode()}))


def hub_protected(handler_cls, door: HubFrontDoor, *, open_paths: tuple[str, ...] = ()):
    """``handler_cls`` with every request checked with the hub first: no hub user, 403 (JSON), before the
    handler runs; the identity is then ``handler.duel_identity`` (the Socket.IO namespace reads it from the
    connection's first request). Requests whose path ends with one of ``open_paths`` pass without a user."""

    class HubProtected(handler_cls):
        duel_identity: Identity | None = None

        async def prepare(self):
            if not (open_paths and self.request.path.endswith(open_paths)):
                self.duel_identity = await door.identity(self)
                if self.duel_identity is None:
                    self.set_status(403)
                    self.set_header("Content-Type", "application/json; charset=UTF-8")
                    self.finish(json.dumps({"error": {"code": "auth_failed", "message":
                                                      "log in through the hub first (GET api/me)"}}))
                    return
            result = super().prepare()
            if result is not None:
                await result

    HubProtected.__name__ = "Hub" + handler_cls.__name__
    return HubProtected
