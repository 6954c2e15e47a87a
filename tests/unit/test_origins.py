"""Which pages may open a Socket.IO connection: the service's own origin (behind a proxy too) and listed ones."""

from __future__ import annotations

from jupyter_duel_server.origins import origin_checker, page_origin


def environ(**headers) -> dict:
    return {"wsgi.url_scheme": "http", **{"HTTP_" + k.upper(): v for k, v in headers.items()}}


def test_the_services_own_origin():
    allowed = origin_checker([])
    assert allowed("http://127.0.0.1:8000", environ(host="127.0.0.1:8000"))
    assert not allowed("http://evil.example", environ(host="127.0.0.1:8000"))
    assert not allowed("https://127.0.0.1:8000", environ(host="127.0.0.1:8000"))
    assert allowed(None, environ(host="127.0.0.1:8000"))  # not a browser's cross-origin request


def test_behind_a_proxy_a_websocket_upgrade_is_from_the_pages_scheme():
    # configurable-http-proxy forwards a websocket upgrade with X-Forwarded-Proto: ws (wss behind TLS).
    allowed = origin_checker([])
    assert page_origin(environ(host="hub.example:8000", x_forwarded_proto="ws")) == "http://hub.example:8000"
    assert allowed("http://hub.example:8000", environ(host="hub.example:8000", x_forwarded_proto="ws"))
    assert allowed("https://hub.example", environ(host="hub.example", x_forwarded_proto="wss, http"))
    assert allowed("https://hub.example", environ(host="10.0.0.5:9000", x_forwarded_host="hub.example",
                                                  x_forwarded_proto="https"))
    assert not allowed("http://hub.example", environ(host="hub.example", x_forwarded_proto="wss"))
    assert not allowed("http://evil.example", environ(host="hub.example", x_forwarded_proto="ws"))


def test_listed_origins_and_never_a_wildcard():
    allowed = origin_checker(["https://jupyter.example.edu/"])
    assert allowed("https://jupyter.example.edu", environ(host="duel.example.edu"))
    assert not allowed("https://other.example.edu", environ(host="duel.example.edu"))
    assert not origin_checker(["*"])("https://other.example.edu", environ(host="duel.example.edu"))
