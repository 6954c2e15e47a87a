"""``jupyter duel serve``: the central service on its own Tornado server."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from urllib.parse import urlparse

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
        try:
            import uvloop  # a faster event loop where available; the service runs the same without it
        except ImportError:
            asyncio.run(self._serve())
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(self._serve())

    async def _serve(self):
        service = DuelService(parent=self, log=self.log)
        await service.start()
        app = tornado.web.Application(service.handlers(), **service.tornado_settings())
        server = app.listen(self.port, address=self.ip, max_body_size=2 * 1024 * 1024)
        port = next(iter(server._sockets.values())).getsockname()[1]
        # A line scripts (tests, benchmarks) wait for before connecting.
        print(f"jupyter-duel service listening on http://{self.ip}:{port}{service.base_path}", flush=True)
        if self.tune_gc:
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 50, 100)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.stop()
        await service.close()


main = DuelServeApp.launch_instance
