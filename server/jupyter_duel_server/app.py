"""``jupyter duel serve``: the central service on its own Tornado server."""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import signal
import subprocess
import sys
import time
from urllib.parse import urlparse

import tornado.httpserver
import tornado.netutil
import tornado.web
from jupyter_core.application import JupyterApp
from traitlets import Bool, Int, Unicode, default

from . import __version__
from .judge import Judge, SubprocessRunner
from .matchmaker import Matchmaker
from .rating import EloRating, Glicko2Rating
from .remote import GatewayPoolRunner
from .sandbox.config import SandboxConfig
from .sandbox.runner import KernelSandboxRunner
from .service import DuelService


class DuelServeApp(JupyterApp):
    name = "jupyter-duel-serve"
    version = __version__
    description = "Run the jupyter-duel central service (REST + Socket.IO) on its own port."
    config_file_name = "jupyter_duel_config"
    classes = [
        DuelService, Matchmaker, EloRating, Glicko2Rating, Judge, KernelSandboxRunner, SandboxConfig, SubprocessRunner,
        GatewayPoolRunner,
    ]

    ip = Unicode(help="Interface to listen on. Default: from JUPYTERHUB_SERVICE_URL, else 127.0.0.1.").tag(config=True)
    port = Int(help="Port to listen on (0 picks a free one). Default: from JUPYTERHUB_SERVICE_URL, else 8765.").tag(
        config=True
    )

    @default("ip")
    def _default_ip(self):
        return urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "")).hostname or "127.0.0.1"

    @default("port")
    def _default_port(self):
        return urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "")).port or 8765
    workers = Int(
        1, min=1, help="Service processes to run (docs/hosting.md, Several processes): worker i listens on port + i "
        "with DuelService.worker_id i (worker 0 runs the lobby); a worker that stops is started again. Needs "
        "DuelService.redis_url and a database every worker reaches (PostgreSQL)."
    ).tag(config=True)

    worker_url_template = Unicode(
        "", help="With workers: the address clients reach worker {worker} at, e.g. "
        "'https://duel.example.org/w{worker}/' behind a proxy. Default: the address each worker listens on."
    ).tag(config=True)

    tune_gc = Bool(
        True, help="Freeze start-up objects and raise GC thresholds: full collections stall relayed events."
    ).tag(config=True)

    aliases = {
        "ip": "DuelServeApp.ip",
        "port": "DuelServeApp.port",
        "db": "DuelService.db_url",
        "secret": "DuelService.secret",
        "base-path": "DuelService.base_path",
        "log-level": "Application.log_level",
        "config": "JupyterApp.config_file",
        "workers": "DuelServeApp.workers",
        "redis": "DuelService.redis_url",
    }
    flags = {
        "allow-guests": ({"DuelService": {"allow_guests": True}}, "Accept self-chosen guest names."),
        "hub": (
            {"DuelService": {"hub": True}},
            "Run as a JupyterHub service: users log in through the Hub (see docs/hosting.md).",
        ),
        "unsandboxed": (
            {"DuelService": {"sandbox": False}},
            "UNSAFE: judge in a plain subprocess without the kernel sandbox (for developing the service only).",
        ),
        "debug": ({"Application": {"log_level": 10}}, "Log everything."),
    }

    def start(self):
        if self.workers > 1:
            return self._supervise()
        try:
            import uvloop  # a faster event loop where available; the service runs the same without it
        except ImportError:
            asyncio.run(self._serve())
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(self._serve())

    def _supervise(self):
        """Run ``workers`` service processes and start again any that stops, until SIGINT or SIGTERM."""
        service_config = self.config.get("DuelService", {})
        if not service_config.get("redis_url"):
            self.log.critical("jupyter duel serve --workers needs --redis=redis://host:6379/0")
            sys.exit(2)
        if self.port == 0:
            self.log.critical("jupyter duel serve --workers needs a fixed --port (worker i listens on port + i)")
            sys.exit(2)
        env = dict(os.environ)
        if not env.get("JUPYTER_DUEL_SECRET") and not service_config.get("secret"):
            # Every worker must sign and check the same identity and resume tokens.
            env["JUPYTER_DUEL_SECRET"] = secrets.token_hex(32)
        args, skip = [], False
        for arg in self.argv:  # the same options less the ones each worker gets its own of
            if skip:
                skip = False
            elif arg.split("=", 1)[0] in ("--workers", "--port", "--DuelServeApp.workers", "--DuelServeApp.port"):
                skip = "=" not in arg
            else:
                args.append(arg)

        def spawn(i: int) -> subprocess.Popen:
            extra = [f"--port={self.port + i}", f"--DuelService.worker_id={i}", "--DuelService.lobby_worker=0"]
            if self.worker_url_template:
                extra.append(f"--DuelService.worker_url={self.worker_url_template.format(worker=i)}")
            return subprocess.Popen([sys.executable, "-m", "jupyter_duel", "serve", *args, *extra], env=env)

        stopping = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.append(True))
        procs = [spawn(i) for i in range(self.workers)]
        while not stopping:
            time.sleep(0.5)
            for i, proc in enumerate(procs):
                if proc.poll() is not None and not stopping:
                    self.log.warning("jupyter-duel: worker %d stopped (exit %s): starting it again", i, proc.returncode)
                    procs[i] = spawn(i)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()

    async def _serve(self):
        # Bound before the service starts: a worker's address (DuelService.worker_url) names its port.
        sockets = tornado.netutil.bind_sockets(self.port, address=self.ip)
        port = sockets[0].getsockname()[1]
        service = DuelService(parent=self, log=self.log)
        if not service.worker_url:
            service.worker_url = f"http://{self.ip}:{port}{service.base_path}".rstrip("/")
        await service.start()
        app = tornado.web.Application(service.handlers(), **service.tornado_settings())
        server = tornado.httpserver.HTTPServer(app, max_body_size=2 * 1024 * 1024)
        server.add_sockets(sockets)
        # Before the line below: a script that stops the service as soon as it listens gets a clean stop.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if self.tune_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 50, 100)
        # A line scripts (tests, benchmarks) wait for before connecting.
        print(f"jupyter-duel service listening on http://{self.ip}:{port}{service.base_path}", flush=True)
        await stop.wait()
        server.stop()
        await service.close()


main = DuelServeApp.launch_instance
