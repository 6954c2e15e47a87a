"""Which web pages may open a Socket.IO connection to the service.

A page of the service's own origin may, and so may the origins the operator lists
(``DuelService.cors_allowed_origins``); never any page (no wildcard). Behind a proxy (JupyterHub's
configurable-http-proxy) the origin a browser sees is the proxy's: its host and scheme come from the
``X-Forwarded-*`` headers, and a websocket upgrade arrives with ``X-Forwarded-Proto: ws`` (or ``wss``) while
its page's scheme is ``http`` (``https``). Engine.IO's own same-origin rule takes ``ws`` as the scheme and
refuses every such connection, so the service checks origins itself, for polling requests (Engine.IO) and
websocket upgrades (Tornado) alike.
"""

from __future__ import annotations

from typing import Callable, Mapping

_PAGE_SCHEME = {"ws": "http", "wss": "https"}


def _first(value: str) -> str:
    return value.split(",")[0].strip()


def page_origin(headers: Mapping[str, str], scheme: str = "http") -> str:
    """The origin of a page served where this request went, as the browser knows it. ``headers`` are WSGI-style
    (``HTTP_HOST``, ``HTTP_X_FORWARDED_PROTO``, ...)."""
    host = _first(headers.get("HTTP_X_FORWARDED_HOST") or headers.get("HTTP_HOST", ""))
    scheme = _first(headers.get("HTTP_X_FORWARDED_PROTO") or scheme).lower()
    return f"{_PAGE_SCHEME.get(scheme, scheme)}://{host}"


def origin_checker(extra: list[str]) -> Callable[[str | None, Mapping[str, str]], bool]:
    """``allowed(origin, environ)`` for Engine.IO's ``cors_allowed_origins``: the service's own origin (as
    ``page_origin`` finds it) and the ``extra`` origins."""
    listed = {o.rstrip("/").lower() for o in extra}

    def allowed(origin: str | None, environ: Mapping[str, str]) -> bool:
        if not origin:  # not a browser's cross-origin request
            return True
        origin = origin.rstrip("/").lower()
        return origin in listed or origin == page_origin(environ, environ.get("wsgi.url_scheme", "http")).lower()

    return allowed


def tornado_environ(request) -> dict[str, str]:
    """The headers ``origin_checker`` reads, from a Tornado request (for the websocket upgrade's check)."""
    environ = {"wsgi.url_scheme": request.protocol}
    for name in ("Host", "X-Forwarded-Host", "X-Forwarded-Proto"):
        value = request.headers.get(name)
        if value is not None:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ
