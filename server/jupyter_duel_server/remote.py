"""``GatewayPoolRunner``: judging on sandboxed kernels of other hosts, through Jupyter Kernel Gateway.

Each host runs ``jupyter kernelgateway`` with the duel sandbox kernelspec ("duel-sandbox": the provisioner and
launcher build the same locked-down sandbox as the local path, decisions 0003 and 0006). The runner keeps a list of
gateways, checks their health in the background, and runs each submission on one healthy host, in a fresh kernel
used once (a few are started ahead per host, the harness already running in them and waiting for its set-up: a
kernel holds nothing of a submission before it is used).

What crosses the network is what a local sandbox gets, nothing more (decision 0007): one ``execute_request``
whose cell holds the harness's public source (``harness.py`` and ``codec.py``, sent rather than imported so that
the remote host needs no judge code inside its sandbox and cannot run an older harness), then, on the kernel's
stdin channel, the set-up line and **one test's input at a time**, each as the ``input_reply`` to the harness's
``input_request`` that carries the previous test's result. Expected results stay on the service: ``Judge``
compares them there (``result_check``). Results are parsed with the local runners' bounds (``read_message``).

A run's results are handed to the judge only once the run has ended on one host. A host that fails mid-run (its
connection drops, its WebSocket stops answering pings, a timed-out test whose host no longer answers) is marked
down and the run starts again from the first test on another host, so no verdict ever comes from a half run. When
no host is left, :class:`JudgeUnavailable` is raised: the service reports ``judge_unavailable`` and counts nothing.

The path is authenticated (Kernel Gateway's token, ``Authorization: token ...``) and, for ``https://`` gateways,
encrypted and pinned: ``ca_file`` is the only trust anchor (a self-signed certificate of the gateways), never the
system's CAs. Plain ``http://`` is refused unless ``allow_plain_http`` (a host-only network).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import logging
import os
import ssl
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Sequence
from urllib.parse import urlparse

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClosedError, websocket_connect
from traitlets import Bool, Float, Int, List, Unicode, default
from traitlets.config import Configurable

from .judge import (HEADER_LIMIT, OUTPUT_LINE_LIMIT, RawResult, Runner, capture_chars, input_message, parse_result,
                    read_message)

log = logging.getLogger("jupyter_duel.remote")

HERE = Path(__file__).resolve().parent
#: The kernel side, run in the remote kernel's cell: builds the harness from the sources sent with it and speaks
#: its line protocol over the stdin channel (the kernel's ``input()``: its prompt carries what the harness wrote
#: since the last read, its reply is the next line the judge sends). Nothing here is trusted by the judge.
DRIVER = '''
def __duel_remote(codec_source, harness_source):
    import builtins, types
    ask = builtins.input  # the kernel's: an input_request on the stdin channel, answered by the judge

    def load(name, source):
        module = types.ModuleType(name)
        exec(compile(source, name, "exec", dont_inherit=True), module.__dict__)
        return module

    class Results:
        pending = b""

        def write(self, data):
            self.pending += data

        def flush(self):
            pass

    results = Results()

    class Commands:
        def readline(self):
            prompt, results.pending = results.pending.decode("ascii"), b""
            try:
                line = ask(prompt)
            except EOFError:
                return b""
            return line.encode("utf-8", "surrogatepass") + b"\\n" if line else b""

    harness = load("_duel_harness", harness_source)
    harness.serve(load("_duel_codec", codec_source), Commands(), results)


import base64 as __b, zlib as __z
__duel_remote(*__z.decompress(__b.b64decode({sources!r})).decode().split("\\0"))
'''


class JudgeUnavailable(RuntimeError):
    """No judging host could run the submission (all down, or each one failed during the run)."""


class HostFailed(Exception):
    """The host (not the submission) failed: the run is void and starts again elsewhere."""


@dataclass
class _Host:
    url: str
    healthy: bool = True
    inflight: int = 0
    error: str | None = None
    pool: collections.deque = field(default_factory=collections.deque)
    filling: int = 0
    #: Runs waiting for a kernel that is already starting (first come, first served).
    waiters: collections.deque = field(default_factory=collections.deque)
    #: Kernels left running there while it could not be reached: shut down when it answers again.
    orphans: set = field(default_factory=set)

    @property
    def ws_base(self) -> str:
        return "wss" + self.url[5:] if self.url.startswith("https") else "ws" + self.url[4:]


class _Kernel:
    """A kernel started on a gateway, its channels' WebSocket open, the harness waiting for its set-up."""

    def __init__(self, kernel_id: str):
        self.id = kernel_id
        self.ws = None
        self.session = uuid.uuid4().hex
        self.execute_id: str | None = None
        #: The harness's first input_request (waiting for the set-up line).
        self.request: dict | None = None
        #: (code, reason) when this side closed the connection.
        self.closed_here: tuple | None = None

    def watch_close(self) -> None:
        """Record why *this side* closes the connection: tornado closes it with 1009 when the kernel sends a
        message over the size limit (the submission's doing: RE), and on an unanswered ping (the host's)."""
        protocol = self.ws.protocol
        close = protocol.close

        def recording_close(code=None, reason=None):
            if self.closed_here is None:
                self.closed_here = (code, reason)
            return close(code, reason)

        protocol.close = recording_close

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()


class GatewayPoolRunner(Runner, Configurable):
    """Runs each submission in the duel sandbox kernel of one of several remote Kernel Gateways."""

    gateways = List(Unicode(), help="Base URLs of the Kernel Gateways (https://host:port), each serving the "
                                    "'duel-sandbox' kernelspec.").tag(config=True)
    auth_token = Unicode(help="The gateways' token (their KG_AUTH_TOKEN), sent as 'Authorization: token ...'. "
                              "Default: the JUPYTER_DUEL_GATEWAY_TOKEN environment variable.").tag(config=True)
    ca_file = Unicode(help="PEM file of the gateways' (self-signed) certificate(s): the only trust anchor for "
                           "https gateways (pinned; the system's CAs are not used).").tag(config=True)
    check_hostname = Bool(True, help="Check that a gateway's certificate names its host (set False only when "
                                     "the pinned certificate is the gateway's and names no address).").tag(config=True)
    allow_plain_http = Bool(False, help="Accept http:// gateways (no encryption, the token and code in clear): "
                                        "only on a host-only network.").tag(config=True)
    kernel_name = Unicode("duel-sandbox", help="The gateways' sandbox kernelspec.").tag(config=True)
    pool_size = Int(1, help="Kernels started ahead on each healthy host (each serves one submission).").tag(
        config=True)
    request_timeout_s = Float(10.0, help="Time allowed for one HTTP request to a gateway.").tag(config=True)
    startup_timeout_s = Float(30.0, help="Time allowed for a gateway to start a kernel.").tag(config=True)
    setup_grace_s = Float(2.0, help="Time allowed for the harness to start and module-level code to run, on top "
                                    "of the per-test time limit.").tag(config=True)
    latency_allowance_s = Float(0.25, help="Wall time a test may take on top of its time limit for the network "
                                           "round trip before it counts as TLE.").tag(config=True)
    ping_interval_s = Float(5.0, help="WebSocket ping interval: a kernel's connection whose ping got no pong within "
                                      "one interval is closed (a host off the network; a gateway busy starting "
                                      "kernels can take over a second to answer).").tag(config=True)
    death_grace_s = Float(0.5, help="After a test's time limit, how long to wait for the gateway to report the "
                                    "kernel's death (a crash is RE, not TLE): keep the gateways' "
                                    "KernelRestarter.time_to_dead below it.").tag(config=True)
    health_interval_s = Float(5.0, help="How often each gateway's health is checked (GET /api/kernelspecs).").tag(
        config=True)
    output_limit_bytes = Int(1 << 20, help="Most bytes a test may print.").tag(config=True)
    result_limit_bytes = Int(1 << 20, help="Largest encoded result accepted per test (JSON bytes).").tag(config=True)
    code_limit_bytes = Int(50_000, help="Longest accepted code, in UTF-8 bytes.").tag(config=True)

    @default("auth_token")
    def _default_token(self) -> str:
        return os.environ.get("JUPYTER_DUEL_GATEWAY_TOKEN", "")

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        #: Called with (gateway URL, what, payload) for every request body and WebSocket message this runner
        #: sends, before it is sent (an audit point: tests record what crosses the network).
        self.sent_tap: Callable[[str, str, Any], None] | None = None
        self._hosts: list[_Host] = []
        self._ssl: ssl.SSLContext | None = None
        self._http: AsyncHTTPClient | None = None
        self._health: asyncio.Task | None = None
        self._background: set[asyncio.Task] = set()
        self._cell: str | None = None
        self._closed = False

    # --- lifecycle -----------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Check the configuration, probe every gateway once and start the health checks and kernel pools.
        Hosts that are down now are not an error (they are probed again); a bad configuration is."""
        if self._health is not None:
            return
        if not self.gateways:
            raise JudgeUnavailable("GatewayPoolRunner.gateways is empty")
        for url in self.gateways:
            scheme = urlparse(url).scheme
            if scheme not in ("https", "http") or (scheme == "http" and not self.allow_plain_http):
                raise JudgeUnavailable(f"gateway {url!r}: only https:// URLs (http:// needs allow_plain_http)")
        if any(u.startswith("https") for u in self.gateways):
            if not self.ca_file:
                raise JudgeUnavailable("https gateways need GatewayPoolRunner.ca_file (their pinned certificate)")
            ctx = ssl.create_default_context(cafile=self.ca_file)  # only this file: no system CA is trusted
            ctx.check_hostname = self.check_hostname
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            self._ssl = ctx
        self._hosts = [_Host(u.rstrip("/")) for u in self.gateways]
        self._http = AsyncHTTPClient(force_instance=True)
        # Compressed: the kernel parses (and IPython transforms) a short cell rather than ~30 KB of source.
        sources = "\0".join((HERE / f"{name}.py").read_text() for name in ("codec", "harness"))
        self._cell = DRIVER.format(sources=base64.b64encode(zlib.compress(sources.encode(), 9)).decode())
        await asyncio.gather(*(self._check(h) for h in self._hosts))
        self._health = asyncio.ensure_future(self._health_loop())

    async def close(self) -> None:
        self._closed = True
        if self._health is not None:
            self._health.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        deletes = []
        for host in self._hosts:
            while host.waiters:
                waiter = host.waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(HostFailed("the runner closed"))
            while host.pool:
                kernel = host.pool.popleft()
                kernel.close()
                deletes.append(self._delete(host, kernel.id, quick=True))
        await asyncio.gather(*deletes, return_exceptions=True)
        if self._http is not None:
            self._http.close()
            self._http = None

    def available(self) -> bool:
        """Whether some gateway answered its last health check (before start: not known yet, so True)."""
        return not self._hosts or any(h.healthy for h in self._hosts)

    def status(self) -> list[dict]:
        """Each gateway's health as last seen (for logs and tests)."""
        return [{"url": h.url, "healthy": h.healthy, "inflight": h.inflight, "pooled": len(h.pool),
                 "error": h.error} for h in self._hosts]

    # --- HTTP ----------------------------------------------------------------------------------------------
    def _request(self, url: str, method: str = "GET", body: bytes | None = None, timeout: float | None = None
                 ) -> HTTPRequest:
        headers = {"Content-Type": "application/json"}
        if self.auth_token:
            headers["Authorization"] = f"token {self.auth_token}"
        t = self.request_timeout_s if timeout is None else timeout
        return HTTPRequest(url, method=method, body=body, headers=headers, connect_timeout=t, request_timeout=t,
                           ssl_options=self._ssl, follow_redirects=False)

    def _tap(self, host: _Host, what: str, payload: Any) -> None:
        if self.sent_tap is not None:
            self.sent_tap(host.url, what, payload)

    async def _fetch(self, host: _Host, path: str, method: str = "GET", body: dict | None = None,
                     timeout: float | None = None) -> Any:
        """JSON of a gateway's answer; HostFailed on anything but a 2xx."""
        data = None if body is None else json.dumps(body).encode()
        if data is not None or method != "GET":
            self._tap(host, f"{method} {path}", data)
        try:
            response = await self._http.fetch(self._request(host.url + path, method, data, timeout))
        except HTTPClientError as e:
            raise HostFailed(f"{host.url}: {method} {path}: HTTP {e.code}") from None
        except (OSError, ssl.SSLError, asyncio.TimeoutError) as e:
            raise HostFailed(f"{host.url}: {method} {path}: {e}") from None
        try:
            return json.loads(response.body) if response.body else None
        except ValueError:
            raise HostFailed(f"{host.url}: {method} {path}: not JSON") from None

    async def _check(self, host: _Host) -> bool:
        try:
            specs = await self._fetch(host, "/api/kernelspecs")
            if not isinstance(specs, dict) or self.kernel_name not in (specs.get("kernelspecs") or {}):
                raise HostFailed(f"{host.url}: no {self.kernel_name!r} kernelspec")
        except HostFailed as e:
            self._down(host, str(e))
            return False
        if not host.healthy:
            log.info("jupyter-duel: judging host %s is back", host.url)
        host.healthy, host.error = True, None
        while host.orphans and not self._closed:
            self._spawn_bg(self._delete(host, host.orphans.pop()))
        self._refill(host)
        return True

    def _down(self, host: _Host, why: str) -> None:
        if host.healthy:
            log.warning("jupyter-duel: judging host %s is down: %s", host.url, why)
        host.healthy, host.error = False, why
        while host.pool:  # kernels started there are unreachable or suspect: shut down once it answers again
            kernel = host.pool.popleft()
            kernel.close()
            host.orphans.add(kernel.id)
        while host.waiters:
            waiter = host.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(HostFailed(why))

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.health_interval_s)
            await asyncio.gather(*(self._check(h) for h in self._hosts))

    # --- kernels -------------------------------------------------------------------------------------------
    async def _start_kernel(self, host: _Host) -> _Kernel:
        """Start a kernel, open its channels and wait for its ``kernel_info_reply`` (a pooled kernel is ready)."""
        reply = await self._fetch(host, "/api/kernels", "POST", {"name": self.kernel_name},
                                  timeout=self.startup_timeout_s)
        if not isinstance(reply, dict) or not isinstance(reply.get("id"), str):
            raise HostFailed(f"{host.url}: the kernel start answered without an id")
        kernel = _Kernel(reply["id"])
        try:
            request = self._request(f"{host.ws_base}/api/kernels/{kernel.id}/channels?session_id={kernel.session}",
                                    timeout=self.startup_timeout_s)
            try:
                kernel.ws = await websocket_connect(
                    request, ping_interval=self.ping_interval_s, ping_timeout=self.ping_interval_s,
                    max_message_size=self._max_message_bytes())
            except (HTTPClientError, OSError, ssl.SSLError, asyncio.TimeoutError) as e:
                raise HostFailed(f"{host.url}: kernel channels: {e}") from None
            kernel.watch_close()
            # The harness starts now, before any submission exists, and waits for its set-up line (the kernel
            # holds nothing but public code meanwhile): a run then starts with the set-up, not with the ~60 ms
            # the kernel takes to run the cell.
            kernel.execute_id = self._send(host, kernel, "shell", "execute_request", {
                "code": self._cell, "silent": True, "store_history": False, "user_expressions": {},
                "allow_stdin": True, "stop_on_error": True})
            deadline = time.monotonic() + self.startup_timeout_s
            while True:
                try:
                    raw = await asyncio.wait_for(kernel.ws.read_message(), max(0.0, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    raise HostFailed(f"{host.url}: a kernel did not start within {self.startup_timeout_s:g} s"
                                     ) from None
                if raw is None:
                    raise HostFailed(f"{host.url}: the kernel's connection closed while it started")
                with contextlib.suppress(ValueError, TypeError, KeyError, AttributeError):
                    msg = json.loads(raw)
                    if msg["parent_header"]["msg_id"] != kernel.execute_id:
                        continue
                    msg_type = msg["header"]["msg_type"]
                    if msg_type == "input_request" and msg["content"]["prompt"] == "":
                        kernel.request = msg["header"]
                        return kernel
                    if msg_type == "execute_reply":
                        raise HostFailed(f"{host.url}: the harness did not start in a new kernel")
        except BaseException:
            kernel.close()
            self._spawn_bg(self._delete(host, kernel.id, quick=True))
            raise

    def _max_message_bytes(self) -> int:
        """The largest message a harness legitimately sends: an input_request whose prompt holds a result header,
        value and printed output, each ASCII, at most doubled by the message's own JSON escaping."""
        return 2 * (HEADER_LIMIT + self.result_limit_bytes + OUTPUT_LINE_LIMIT) + (1 << 16)

    def _send(self, host: _Host, kernel: _Kernel, channel: str, msg_type: str, content: dict,
              parent: dict | None = None) -> str:
        """Send one Jupyter message on the kernel's channels; returns its id."""
        msg_id = uuid.uuid4().hex
        msg = {"header": {"msg_id": msg_id, "msg_type": msg_type, "username": "judge", "session": kernel.session,
                          "date": datetime.now(timezone.utc).isoformat(), "version": "5.3"},
               "parent_header": parent or {}, "metadata": {}, "content": content, "channel": channel,
               "buffers": []}
        text = json.dumps(msg, ensure_ascii=True, allow_nan=False)
        self._tap(host, "ws", text)
        try:
            sent = kernel.ws.write_message(text)
        except WebSocketClosedError:
            return msg_id  # reading reports the closed connection
        sent.add_done_callback(lambda f: f.cancelled() or f.exception())  # (idem, when it closes meanwhile)
        return msg_id

    async def _delete(self, host: _Host, kernel_id: str, quick: bool = False) -> None:
        try:
            await self._fetch(host, f"/api/kernels/{kernel_id}", "DELETE", timeout=2.0 if quick else None)
        except HostFailed as e:
            if "HTTP 404" not in str(e):  # (a gateway that restarted has no such kernel any more)
                host.orphans.add(kernel_id)

    def _spawn_bg(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _refill(self, host: _Host) -> None:
        while host.healthy and not self._closed and len(host.pool) + host.filling < self.pool_size:
            host.filling += 1
            self._spawn_bg(self._fill_one(host))

    async def _fill_one(self, host: _Host) -> None:
        try:
            kernel = await self._start_kernel(host)
        except HostFailed as e:
            self._down(host, str(e))
            return
        finally:
            host.filling -= 1
        while host.waiters and host.healthy and not self._closed:
            waiter = host.waiters.popleft()
            if not waiter.done():
                waiter.set_result(kernel)
                return
        if host.healthy and not self._closed:
            host.pool.append(kernel)
        else:
            kernel.close()
            await self._delete(host, kernel.id, quick=True)

    # --- a run ---------------------------------------------------------------------------------------------
    def _pick(self, tried: set[str]) -> _Host | None:
        candidates = [h for h in self._hosts if h.healthy and h.url not in tried]
        if not candidates:
            return None
        # The least busy host; among equals the one with a kernel ready, then the configured order.
        return min(candidates, key=lambda h: (h.inflight, not h.pool))

    async def run(self, code: str, function: str, inputs: list[list], time_limit_s: float,
                  output_chars: Sequence[int] | None = None) -> AsyncIterator[RawResult]:
        n = len(inputs)
        if len(code.encode("utf-8", "surrogatepass")) > self.code_limit_bytes:
            refusal = f"the code is longer than the {self.code_limit_bytes}-byte limit"
            for i in range(n):
                yield RawResult(i, "error", None, refusal, 0.0)
            return
        await self.start()
        tried: set[str] = set()
        failures: list[str] = []
        while True:
            host = self._pick(tried)
            if host is None:
                # Hosts marked down may be back: probe the untried ones once before giving up.
                await asyncio.gather(*(self._check(h) for h in self._hosts if h.url not in tried))
                host = self._pick(tried)
            if host is None:
                # The details (host addresses) go to the log, not to the player.
                log.error("jupyter-duel: no judging host could run a submission: %s",
                          "; ".join(failures) or "every host is down")
                raise JudgeUnavailable("no judging host is available; the submission was not judged")
            tried.add(host.url)
            host.inflight += 1
            try:
                results = await self._run_on(host, code, function, inputs, time_limit_s, output_chars)
            except HostFailed as e:
                failures.append(str(e))
                self._down(host, str(e))
                continue
            finally:
                host.inflight -= 1
            break
        for r in results:  # only now: the run ended on one host
            yield r

    async def _run_on(self, host: _Host, code: str, function: str, inputs: list[list], time_limit_s: float,
                      output_chars: Sequence[int] | None) -> list[RawResult]:
        kernel = None
        while host.pool and kernel is None:
            kernel = host.pool.popleft()
            if kernel.ws.protocol is None:  # its connection closed while it waited: not used, not a host failure
                self._spawn_bg(self._delete(host, kernel.id, quick=True))
                kernel = None
        if kernel is None and host.filling > len(host.waiters):
            # Wait for a kernel already starting rather than start one more: on a busy host every start slows
            # the others down.
            waiter = asyncio.get_running_loop().create_future()
            host.waiters.append(waiter)
            try:
                kernel = await asyncio.wait_for(waiter, self.startup_timeout_s)
            except asyncio.TimeoutError:
                raise HostFailed(f"{host.url}: no kernel started within {self.startup_timeout_s:g} s") from None
            finally:
                if waiter in host.waiters:
                    host.waiters.remove(waiter)
            if kernel.ws.protocol is None:
                self._spawn_bg(self._delete(host, kernel.id, quick=True))
                kernel = None
        if kernel is None:
            kernel = await self._start_kernel(host)
        try:
            return await self._drive(host, kernel, code, function, inputs, time_limit_s, output_chars)
        finally:
            kernel.close()
            self._spawn_bg(self._delete(host, kernel.id))
            # Only now: a kernel starting on the host would take CPU from the run.
            self._refill(host)

    async def _drive(self, host: _Host, kernel: _Kernel, code: str, function: str, inputs: list[list],
                     time_limit_s: float, output_chars: Sequence[int] | None) -> list[RawResult]:
        n = len(inputs)
        loop = asyncio.get_running_loop()
        ws = kernel.ws

        def send(channel: str, msg_type: str, content: dict, parent: dict | None = None) -> str:
            return self._send(host, kernel, channel, msg_type, content, parent)

        def reply(parent: dict, line: dict | None) -> float:
            send("stdin", "input_reply", {"value": "" if line is None else json.dumps(
                line, ensure_ascii=True, allow_nan=False)}, parent)
            return loop.time()

        async def next_message(deadline: float) -> tuple[str, Any]:
            """``("request", (parent header, prompt))``, ``("ended", why)`` (the cell or the kernel ended: the
            submission's doing) or ``("timeout", None)``. HostFailed when the host stops answering."""
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return "timeout", None
                try:
                    raw = await asyncio.wait_for(ws.read_message(), remaining)
                except asyncio.TimeoutError:
                    return "timeout", None
                if raw is None:
                    if kernel.closed_here is not None and kernel.closed_here[0] == 1009:
                        return "ended", (f"the kernel sent the judge a message larger than "
                                         f"{self._max_message_bytes()} bytes")
                    raise HostFailed(f"{host.url}: the kernel's connection closed during the run ("
                                     f"{kernel.closed_here or (ws.close_code, ws.close_reason)})")
                if isinstance(raw, bytes) or (len(raw) > (1 << 16) and '"input_request"' not in raw):
                    continue  # a large message the run has no use for: not parsed on the event loop
                try:
                    msg = json.loads(raw)
                    msg_type = msg["msg_type"] if "msg_type" in msg else msg["header"]["msg_type"]
                    parent = msg.get("parent_header") or {}
                    content = msg.get("content") or {}
                except (ValueError, TypeError, KeyError, AttributeError):
                    continue  # (from the kernel, which the submission may have corrupted: never trusted)
                if msg_type == "status" and content.get("execution_state") in ("restarting", "dead",
                                                                                 "autorestarting"):
                    return "ended", "the kernel running the code exited (sys.exit/os._exit, a crash, or a " \
                                    "killed process)"
                if not isinstance(parent, dict) or parent.get("msg_id") != execute_id:
                    continue
                if msg_type == "input_request" and isinstance(content.get("prompt"), str):
                    return "request", (msg.get("header") or {}, content["prompt"])
                if msg_type == "execute_reply":
                    return "ended", "the code ended the run before every test reported a result"

        async def parse(prompt: str):
            data = prompt.encode("ascii", "replace") if prompt.isascii() else b"\xff"
            reader = asyncio.StreamReader(limit=HEADER_LIMIT)
            reader.feed_data(data)
            reader.feed_eof()
            if data == b"\xff":
                return "bad", "a result was not ASCII", None
            return await read_message(reader, self.result_limit_bytes)

        async def failure(index: int, kind: str, why: Any) -> RawResult:
            if kind == "timeout":
                # A silent test: the kernel may have died (the gateway notices within its restarter's
                # time_to_dead: a crash, RE, as locally), or the host may have stopped answering (HostFailed).
                grace = loop.time() + self.death_grace_s
                while True:
                    kind, got = await next_message(grace)
                    if kind == "ended":
                        return RawResult(index, "crash", None, got, 0.0)
                    if kind == "timeout":
                        break
                await self._fetch(host, f"/api/kernels/{kernel.id}", timeout=min(self.request_timeout_s, 5.0))
                return RawResult(index, "timeout", None, f"no result within {time_limit_s:g} s",
                                 time_limit_s * 1000.0)
            return RawResult(index, "crash", None, why if isinstance(why, str) else "malformed result", 0.0)

        results: list[RawResult] = []

        def all_fail(first: RawResult) -> list[RawResult]:
            """The run never reached its first test: every test gets the same failure (as locally)."""
            return [first] + [RawResult(i, first.status, None, first.error, 0.0) for i in range(1, n)]

        def ended_at(first: RawResult) -> list[RawResult]:
            skipped = f"not run: test {first.index + 1} ended the run ({first.error})"
            return results + [first] + [RawResult(j, first.status, None, skipped, 0.0, skipped=True)
                                        for j in range(first.index + 1, n)]

        execute_id = kernel.execute_id
        reply(kernel.request, {"code": code, "function": function, "output_limit": self.output_limit_bytes,
                               "result_limit": self.result_limit_bytes, "memory_limit": 0,
                               "capture_chars": capture_chars(output_chars)})
        # module-level code
        deadline = loop.time() + time_limit_s + self.setup_grace_s + self.latency_allowance_s
        kind, got = await next_message(deadline)
        body = None
        if kind == "request":
            parent, prompt = got
            kind, body, _ = await parse(prompt)
            if kind == "message" and body.get("ready") is True and len(body) == 1:
                pass
            elif (kind == "message" and body.get("setup") in ("error", "output_limit", "memory_limit")
                  and isinstance(body.get("error"), str)):
                return [RawResult(i, body["setup"], None, body["error"][:8000], 0.0) for i in range(n)]
            else:
                return all_fail(await failure(0, "bad", body if kind == "bad" else None))
        else:
            return all_fail(await failure(0, kind, got))
        # One input at a time, each only as the answer to the previous test's result.
        started = reply(parent, input_message(inputs, 0, output_chars)) if n else 0.0
        for index in range(n):
            kind, got = await next_message(started + time_limit_s + self.latency_allowance_s)
            wall_ms = (loop.time() - started) * 1000.0
            result = None
            why = got
            if kind == "request":
                parent, prompt = got
                kind, body, value = await parse(prompt)
                why = body
                result = parse_result(index, body, value, wall_ms) if kind == "message" else None
                kind = "bad" if result is None else kind
            if result is None:
                return ended_at(await failure(index, kind, why))
            results.append(result)
            if index + 1 < n:
                started = reply(parent, input_message(inputs, index + 1, output_chars))
        reply(parent, None)  # end of input: the harness returns
        return results

    # (for tools and benchmarks)
    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until every healthy host's kernel pool is full."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(len(h.pool) >= self.pool_size for h in self._hosts if h.healthy):
                return
            await asyncio.sleep(0.05)
