#!/usr/bin/env python3
"""Mirror-latency benchmark: how long a player's code edit takes to reach the opponent through the service.

Starts ``jupyter duel serve`` (fresh temporary SQLite database, guests allowed) in a subprocess, runs the Node.js
load generator ``benchmarks/loadgen/mirror.mjs`` against it (N Socket.IO clients in N/2 casual battles, each client
sending a ~60-byte ``sync_code`` delta every interval; the opponent's client measures sender->receiver latency
from a timestamp in the delta), samples the service process's CPU during the measured window and prints one
result block (or one JSON line with ``--json``).

    python benchmarks/mirror_latency.py --clients 1000 --duration 30

Against the floor: ``--server floor`` measures a bare ``websockets`` relay (``floor_relay.py``) with the same load
generator, and ``--server both --sweep 1000,1500,2000,...`` runs both at each count and prints how many users each
holds at p99 <= ``--target-p99`` ms with nothing lost, and the service's share of the floor.

Several processes: ``--workers 2`` starts a redis-server of the run's own and two workers on one database; the two
clients of each pair connect to the same worker, which then runs their battle (CPU is the workers' sum).

Exit status: 0 on success; 1 when the service or the load generator failed, nothing was relayed, or more than
1 % of the messages sent in the measured window were lost; 2 on bad arguments; 130 when interrupted.
Only 127.0.0.1 traffic. The service and node are always stopped at the end (also on Ctrl-C).
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

try:
    import resource
except ImportError:  # not on Windows
    resource = None

try:
    import psutil
except ImportError:
    psutil = None

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LOADGEN = HERE / "loadgen"
LISTENING = re.compile(r"jupyter-duel service listening on (http://(\S+?):(\d+)(/\S*))")
FLOOR_LISTENING = re.compile(r"floor relay listening on (ws://127\.0\.0\.1:(\d+)/)")
MAX_LOST_FRACTION = 0.01


class BenchmarkFailed(Exception):
    pass


# ---------------------------------------------------------------- arguments


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Measure sender->opponent latency of code mirroring through the jupyter-duel service.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--clients", type=int, default=200, help="simulated players (even: they duel in pairs)")
    p.add_argument("--duration", type=float, default=30.0, help="measured window, seconds")
    p.add_argument("--interval-ms", type=float, default=300.0, help="each client sends one edit per interval")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of sending before measuring")
    p.add_argument("--json", action="store_true", help="print the result as one JSON line instead of a block")
    p.add_argument("--timeline", action="store_true", help="also print p50/p99/max per second of the window")
    p.add_argument(
        "--python",
        default=None,
        help="interpreter that runs the service (default: the checkout's .venv/bin/python if present, "
        "else this interpreter)",
    )
    p.add_argument(
        "--source",
        type=Path,
        default=REPO,
        help="checkout whose service code is measured (put first on the service's PYTHONPATH)",
    )
    p.add_argument(
        "--service-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for 'jupyter duel serve', e.g. --service-arg=--DuelServeApp.tune_gc=False (repeatable)",
    )
    p.add_argument("--workers", type=int, default=1,
                   help="service processes (workers joined by a redis-server started for the run; pairs of clients "
                   "share a worker)")
    p.add_argument("--redis-server", default="redis-server", help="the redis-server executable for --workers > 1")
    p.add_argument("--startup-timeout", type=float, default=60.0, help="seconds to wait for the service")
    p.add_argument("--setup-timeout", type=float, default=180.0, help="seconds to connect, register and pair all")
    p.add_argument("--quiet", action="store_true", help="do not echo the load generator's progress on stderr")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="FILE",
        help="record the service with py-spy during the measured window (collapsed stacks, for flamegraph.pl "
        "or speedscope); py-spy is looked up with --py-spy",
    )
    p.add_argument("--py-spy", default="py-spy", help="the py-spy executable for --profile")
    p.add_argument("--keep-log", action="store_true", help="keep the service log (path printed at the end)")
    p.add_argument("--server", choices=("service", "floor", "both"), default="service",
                   help="what relays: the jupyter-duel service, the bare websockets floor (floor_relay.py), or both")
    p.add_argument("--sweep", default="", metavar="N,N,...",
                   help="run once per client count (with --server both: each count on both) and print the table")
    p.add_argument("--target-p99", type=float, default=100.0,
                   help="with --sweep: the p99 (ms) under which a count of users counts as held")
    args = p.parse_args(argv)
    try:
        args.sweep = [int(n) for n in args.sweep.split(",") if n.strip()]
    except ValueError:
        p.error("--sweep takes client counts separated by commas")
    if any(n < 2 or n % 2 for n in args.sweep):
        p.error("--sweep: every count must be an even number >= 2")
    if args.server == "both" and not args.sweep:
        args.sweep = [args.clients]
    if args.clients < 2 or args.clients % 2:
        p.error("--clients must be an even number >= 2 (players duel in pairs)")
    if args.duration <= 0 or args.interval_ms < 1 or args.warmup < 0:
        p.error("--duration and --interval-ms must be positive, --warmup not negative")
    return args


# ---------------------------------------------------------------- process helpers


def raise_fd_limit(wanted: int) -> tuple[int, int] | None:
    """Raise this process's open-file limit (inherited by the service and node) towards ``wanted``."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def stop_process(proc: subprocess.Popen | None, sig=signal.SIGINT, grace: float = 10.0) -> int | None:
    """Stop one child we started: a polite signal, then SIGKILL after ``grace`` seconds."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
    return proc.returncode


def ensure_loadgen(node: str, quiet: bool) -> None:
    if (LOADGEN / "node_modules" / "socket.io-client").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BenchmarkFailed("npm not found: install Node.js 20 (node + npm) to run the load generator")
    print(f"installing the load generator's dependencies: npm ci --prefix {LOADGEN}", file=sys.stderr)
    try:
        subprocess.run(
            [npm, "ci", "--prefix", str(LOADGEN), "--no-audit", "--no-fund"],
            check=True,
            timeout=600,
            stdout=subprocess.DEVNULL if quiet else sys.stderr,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise BenchmarkFailed(f"npm ci failed: {exc}") from None


def default_python(source: Path) -> str:
    for candidate in (source / ".venv" / "bin" / "python", REPO / ".venv" / "bin" / "python"):
        if candidate.exists():
            return str(candidate)
    return sys.executable


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text[-lines:])


# ---------------------------------------------------------------- CPU sampling


class CpuMeter:
    """CPU time of one process (all threads), read from psutil or /proc/PID/stat."""

    def __init__(self, pid: int):
        self.pid = pid
        self._proc = psutil.Process(pid) if psutil is not None else None
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def cpu_seconds(self) -> float | None:
        try:
            if self._proc is not None:
                t = self._proc.cpu_times()
                return t.user + t.system
            with open(f"/proc/{self.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self._tick  # utime, stime
        except Exception:
            return None

    def rss_mb(self) -> float | None:
        try:
            if self._proc is not None:
                return self._proc.memory_info().rss / 2**20
            with open(f"/proc/{self.pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except Exception:
            return None


class MachineMeter:
    """Busy CPU time of the whole machine (all cores, all processes), from /proc/stat or psutil."""

    pid = None

    def __init__(self):
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def cpu_seconds(self) -> float | None:
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
            # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
            return (sum(fields[:8]) - fields[3] - fields[4]) / self._tick
        except Exception:
            pass
        if psutil is not None:
            t = psutil.cpu_times()
            return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)
        return None

    def rss_mb(self) -> float | None:
        return None


class CpuSampler(threading.Thread):
    """Once a second, the CPU % of each watched process (100 % = one core fully busy)."""

    def __init__(self, meters: dict[str, CpuMeter]):
        super().__init__(daemon=True)
        self.meters = meters
        self.samples: dict[str, list[float]] = {k: [] for k in meters}
        self.start_cpu: dict[str, float | None] = {}
        self.end_cpu: dict[str, float | None] = {}
        self.rss: dict[str, float | None] = {}
        self._halt = threading.Event()
        self.t0 = self.t1 = 0.0

    def run(self):
        self.t0 = time.monotonic()
        self.start_cpu = {k: m.cpu_seconds() for k, m in self.meters.items()}
        last_t, last = self.t0, dict(self.start_cpu)
        while not self._halt.wait(1.0):
            now = time.monotonic()
            for k, m in self.meters.items():
                c = m.cpu_seconds()
                if c is not None and last[k] is not None and now > last_t:
                    self.samples[k].append(100.0 * (c - last[k]) / (now - last_t))
                last[k] = c
            last_t = now

    def finish(self) -> dict:
        self._halt.set()
        self.join(timeout=5)
        self.t1 = time.monotonic()
        self.end_cpu = {k: m.cpu_seconds() for k, m in self.meters.items()}
        self.rss = {k: m.rss_mb() for k, m in self.meters.items()}
        out = {}
        for k in self.meters:
            a, b = self.start_cpu.get(k), self.end_cpu.get(k)
            avg = 100.0 * (b - a) / (self.t1 - self.t0) if a is not None and b is not None and self.t1 > self.t0 else None
            out[k] = {
                "cpu_avg_pct": round(avg, 1) if avg is not None else None,
                "cpu_max_pct": round(max(self.samples[k]), 1) if self.samples[k] else None,
                "rss_mb": round(self.rss[k], 1) if self.rss.get(k) is not None else None,
            }
        return out


# ---------------------------------------------------------------- the run


def start_redis(args, tmp: Path) -> tuple[subprocess.Popen, str]:
    """A redis-server of the run's own on a free port, nothing saved to disk."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([args.redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    raise BenchmarkFailed("redis-server did not start")


class GroupMeter:
    """CPU time of several processes together (the workers)."""

    def __init__(self, pids: list[int]):
        self.meters = [CpuMeter(pid) for pid in pids]
        self.pid = pids[0]

    def cpu_seconds(self) -> float | None:
        parts = [m.cpu_seconds() for m in self.meters]
        return None if any(p is None for p in parts) else sum(parts)

    def rss_mb(self) -> float | None:
        parts = [m.rss_mb() for m in self.meters]
        return None if any(p is None for p in parts) else sum(parts)


def start_workers(args, tmp: Path, log_path: Path) -> tuple[list[subprocess.Popen], subprocess.Popen, str, str]:
    """``--workers`` service processes on one database and a redis-server: (processes, redis, urls, path)."""
    redis_proc, redis_url = start_redis(args, tmp)
    os.environ.setdefault("JUPYTER_DUEL_SECRET", secrets.token_hex(16))  # one for every worker
    procs, urls, path = [], [], ""
    try:
        for i in range(args.workers):
            extra = [f"--DuelService.redis_url={redis_url}", f"--DuelService.worker_id={i}",
                     "--DuelService.redis_max_connections=256"]
            proc, url, path = start_service(args, tmp, log_path.with_name(f"service-{i}.log"), extra)
            procs.append(proc)
            urls.append(url)
    except BaseException:
        for proc in procs:
            stop_process(proc, signal.SIGINT, grace=10)
        stop_process(redis_proc, signal.SIGTERM, grace=5)
        raise
    return procs, redis_proc, ",".join(urls), path


def start_service(args, tmp: Path, log_path: Path, extra: list[str] = (), port: int = 0
                  ) -> tuple[subprocess.Popen, str, str]:
    python = args.python or default_python(args.source)
    source = args.source.resolve()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(source), str(source / "server")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env.setdefault("JUPYTER_DUEL_SECRET", secrets.token_hex(16))
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "config")  # no user jupyter_duel_config.* leaks into the figures
    env["PYTHONUNBUFFERED"] = "1"
    cmd = [
        python,
        "-m",
        "jupyter_duel",
        "serve",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--allow-guests",
        f"--db=sqlite:///{tmp / 'bench.sqlite'}",
        *args.service_arg,
        *extra,
    ]
    log_file = open(log_path, "wb")
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=str(tmp),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the service ourselves
        )
    finally:
        log_file.close()
    deadline = time.monotonic() + args.startup_timeout
    while time.monotonic() < deadline:
        try:
            text = log_path.read_text(errors="replace")
        except OSError:
            text = ""
        m = LISTENING.search(text)
        if m:
            ip, port, base = m.group(2), m.group(3), m.group(4)
            if ip not in ("127.0.0.1", "localhost"):
                raise BenchmarkFailed(f"the service listens on {ip}, expected 127.0.0.1")
            return proc, f"http://127.0.0.1:{port}", (base if base.endswith("/") else base + "/") + "socket.io/"
        if proc.poll() is not None:
            raise BenchmarkFailed(
                f"the service exited with status {proc.returncode} before listening:\n{log_tail(log_path)}"
            )
        time.sleep(0.05)
    raise BenchmarkFailed(f"the service did not print its listening line within {args.startup_timeout:.0f} s")


def start_floor(args, tmp: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    """The bare websockets relay, with the same interpreter as the service would get."""
    python = args.python or default_python(args.source)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [python, str(HERE / "floor_relay.py"), "--port", "0"], cwd=str(tmp), env=env, stdin=subprocess.DEVNULL,
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + args.startup_timeout
    while time.monotonic() < deadline:
        m = FLOOR_LISTENING.search(log_path.read_text(errors="replace"))
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            raise BenchmarkFailed(f"the floor relay exited with status {proc.returncode}:\n{log_tail(log_path)}")
        time.sleep(0.05)
    raise BenchmarkFailed(f"the floor relay did not start within {args.startup_timeout:.0f} s")


def start_profiler(args, pid: int) -> subprocess.Popen:
    """py-spy on the service for the measured window (it ends by itself after --duration seconds)."""
    exe = shutil.which(args.py_spy) or args.py_spy
    cmd = [
        exe, "record", "--pid", str(pid), "--duration", str(max(1, int(args.duration))), "--rate", "200",
        "--nonblocking", "--format", "raw", "--output", str(args.profile),
    ]  # fmt: skip
    try:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as exc:
        raise BenchmarkFailed(f"cannot start py-spy ({exe}): {exc}; install it with pip install py-spy") from None


def pump(stream, q: queue.Queue) -> None:
    for raw in iter(stream.readline, b""):
        q.put(raw.decode("utf-8", "replace").rstrip("\n"))
    q.put(None)


def run(args) -> tuple[dict, int]:
    node = shutil.which("node")
    if node is None:
        raise BenchmarkFailed("node not found: install Node.js 20 to run the load generator")
    ensure_loadgen(node, args.quiet)
    fd_limit = raise_fd_limit(args.clients * 2 + 1024)

    tmp = Path(tempfile.mkdtemp(prefix="duel-bench-"))
    log_path = tmp / "service.log"
    service = loadgen = profiler = redis_proc = None
    services: list[subprocess.Popen] = []
    result: dict = {}
    failures: list[str] = []
    try:
        floor = args.server == "floor"
        if floor:
            service, url = start_floor(args, tmp, log_path)
            sio_path = "/"
        elif args.workers > 1:
            services, redis_proc, url, sio_path = start_workers(args, tmp, log_path)
            service = services[0]
        else:
            service, url, sio_path = start_service(args, tmp, log_path)
        services = services or [service]
        cmd = [
            node,
            str(LOADGEN / "mirror.mjs"),
            "--url", url,
            "--path", sio_path,
            "--floor", "1" if floor else "0",
            "--clients", str(args.clients),
            "--duration", str(args.duration),
            "--interval-ms", str(args.interval_ms),
            "--warmup-s", str(args.warmup),
            "--setup-timeout-s", str(args.setup_timeout),
            "--run-id", secrets.token_hex(3),
        ]  # fmt: skip
        loadgen = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if args.quiet else None,
            start_new_session=True,
        )
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=pump, args=(loadgen.stdout, lines), daemon=True).start()
        meters = {"service": GroupMeter([p.pid for p in services]), "loadgen": CpuMeter(loadgen.pid), "machine": MachineMeter()}
        sampler = None
        cpu: dict = {}
        nodes_result = None
        deadline = time.monotonic() + args.setup_timeout + args.warmup + args.duration + 60
        while True:
            if time.monotonic() > deadline:
                failures.append("the load generator did not finish in time")
                break
            dead = [p for p in services if p.poll() is not None]
            if dead:
                failures.append(f"the service exited with status {dead[0].returncode} during the run")
                break
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            if line == "PHASE measure-start":
                sampler = CpuSampler(meters)
                sampler.start()
                if args.profile is not None:
                    profiler = start_profiler(args, service.pid)
            elif line == "PHASE measure-end" and sampler is not None:
                cpu = sampler.finish()
                sampler = None
            elif line.startswith("RESULT "):
                nodes_result = json.loads(line[len("RESULT ") :])
            elif line.startswith("PHASE ready") and not args.quiet:
                print(f"[bench] all {args.clients} clients paired; warming up", file=sys.stderr)
        if sampler is not None:
            cpu = sampler.finish()
        if profiler is not None:
            try:
                profiler.wait(timeout=30)
            except subprocess.TimeoutExpired:
                stop_process(profiler, signal.SIGINT, grace=10)
            if not args.profile.exists():
                failures.append(f"py-spy wrote no profile (exit status {profiler.returncode})")
        loadgen_rc = stop_process(loadgen, signal.SIGTERM, grace=10)
        if nodes_result is None:
            failures.append(f"the load generator gave no result (exit status {loadgen_rc})")
            nodes_result = {}
        elif nodes_result.get("fatal"):
            failures.append(f"load generator: {nodes_result['fatal']}")
        dead = [p for p in services if p.poll() is not None]
        if dead and not any("service exited" in f for f in failures):
            failures.append(f"the service exited with status {dead[0].returncode} during the run")
        result = dict(nodes_result)
        result["server"] = cpu.get("service", {})
        result["loadgen"] = cpu.get("loadgen", {})
        machine = cpu.get("machine", {}).get("cpu_avg_pct")
        if machine is not None:
            own = sum((cpu.get(k, {}).get("cpu_avg_pct") or 0.0) for k in ("service", "loadgen"))
            result["other_processes_cpu_pct"] = round(max(0.0, machine - own), 1)
        result["cores"] = os.cpu_count()
        server_cpu = result["server"].get("cpu_avg_pct")
        if server_cpu is not None and result.get("msgs_per_s"):
            # CPU cost per relayed message: robust against other load, unlike the latency figures.
            result["server_cpu_ms_per_msg"] = round(server_cpu * 10.0 / result["msgs_per_s"], 3)
        result["fd_limit"] = fd_limit[0] if fd_limit else None
        result["service_cmd_args"] = args.service_arg
        if profiler is not None:
            result["profile"] = str(args.profile)
        result["source"] = str(args.source.resolve())
        result["relay"] = args.server
        result["workers"] = len(services)
        logs = [log_path] if len(services) == 1 else [log_path.with_name(f"service-{i}.log") for i in range(len(services))]
        service_errors = [
            line for path in logs for line in path.read_text(errors="replace").splitlines()
            if "Traceback" in line or " E " in line
        ]
        result["service_log_errors"] = len(service_errors)
    except KeyboardInterrupt:
        failures.append("interrupted")
        raise
    finally:
        stop_process(profiler, signal.SIGINT, grace=5)
        stop_process(loadgen, signal.SIGTERM, grace=5)
        codes = [stop_process(proc, signal.SIGINT, grace=10) for proc in services or [service]]
        rc = codes[0] if codes else None
        stop_process(redis_proc, signal.SIGTERM, grace=5)
        if service is not None and failures and not args.quiet:
            print(f"[bench] service log (last lines):\n{log_tail(log_path)}", file=sys.stderr)
        if args.keep_log or (failures and service is not None):
            kept = Path(tempfile.gettempdir()) / f"duel-bench-service-{os.getpid()}.log"
            try:
                shutil.copyfile(log_path, kept)
                result["service_log"] = str(kept)
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)

    sent = result.get("sent") or 0
    lost = result.get("lost") or 0
    if not failures:
        if not result.get("received"):
            failures.append("no message was relayed")
        elif sent and lost / sent > MAX_LOST_FRACTION:
            failures.append(f"{lost} of {sent} messages lost (> {MAX_LOST_FRACTION:.0%})")
    result["service_exit_status"] = rc
    result["failures"] = failures
    result["ok"] = not failures
    return result, (1 if failures else 0)


# ---------------------------------------------------------------- output


def fmt(x, unit="", digits=1) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}{unit}"


def print_block(r: dict, timeline: bool) -> None:
    lat = r.get("latency_ms") or {}
    server = r.get("server") or {}
    loadgen = r.get("loadgen") or {}
    loop = r.get("loadgen_event_loop_delay_ms") or {}
    sent = r.get("sent") or 0
    lost = r.get("lost") or 0
    errors_by_code = ", ".join(f"{k}: {v}" for k, v in sorted((r.get("errors_by_code") or {}).items()))
    rows = [
        ("clients", f"{r.get('clients')} ({r.get('paired', 0) // 2} battles), one edit / {fmt(r.get('interval_ms'), ' ms', 0)} each"),
        ("measured window", f"{fmt(r.get('duration_s'), ' s', 0)} after {fmt(r.get('warmup_s'), ' s', 0)} warm-up"
         f" (setup {fmt(r.get('setup_s'), ' s')})"),
        ("messages relayed", f"{r.get('received', 0)} of {sent} sent  ({fmt(r.get('msgs_per_s'), ' msgs/s')})"),
        ("latency p50", fmt(lat.get("p50"), " ms", 2)),
        ("latency p90", fmt(lat.get("p90"), " ms", 2)),
        ("latency p99", fmt(lat.get("p99"), " ms", 2)),
        ("latency p99.9", fmt(lat.get("p999"), " ms", 2)),
        ("latency max", fmt(lat.get("max"), " ms", 2)),
        ("over 100 ms", f"{r.get('over_100ms', 0)} messages"),
        ("errors", f"{r.get('errors', 0)}" + (f" ({errors_by_code})" if errors_by_code else "")
         + f", disconnects {r.get('disconnects', 0)}"),
        ("lost", f"{lost} ({(100.0 * lost / sent) if sent else 0:.2f} %)"),
        ("server CPU", f"{fmt(server.get('cpu_avg_pct'), ' %')} avg, {fmt(server.get('cpu_max_pct'), ' %')} max"
         f" of one core; {fmt(r.get('server_cpu_ms_per_msg'), ' ms', 3)} per message; "
         f"RSS {fmt(server.get('rss_mb'), ' MB')}"),
        ("load generator", f"CPU {fmt(loadgen.get('cpu_avg_pct'), ' %')} avg; event-loop delay p99 "
         f"{fmt(loop.get('p99'), ' ms')}, max {fmt(loop.get('max'), ' ms')}"),
    ]  # fmt: skip
    other = r.get("other_processes_cpu_pct")
    if other is not None:
        note = "  <- the machine was busy: figures are pessimistic" if other >= 20 else ""
        rows.append(("other processes", f"CPU {other:.1f} % (of one core; {r.get('cores')} cores){note}"))
    width = max(len(k) for k, _ in rows)
    print("jupyter-duel mirror latency (sender -> opponent through the service)")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    if timeline and r.get("per_second"):
        print("  per second of the window (t: n p50/p99/max ms):")
        for s in r["per_second"]:
            print(f"    {s['t']:>3}: {s['n']:>6} {s['p50']:>8}/{s['p99']:>8}/{s['max']:>8}")
    if r.get("service_log"):
        print(f"  service log: {r['service_log']}")
    print("  result: " + ("OK" if r.get("ok") else "FAILED: " + "; ".join(r.get("failures") or [])))


def holds(row: dict, target: float) -> bool:
    """One run held its users: p99 <= ``target`` ms with nothing lost."""
    p99 = (row.get("latency_ms") or {}).get("p99")
    return bool(row.get("ok")) and not row.get("lost") and p99 is not None and p99 <= target


def held(rows: list[dict], target: float) -> int:
    """The most users of a sweep held at p99 <= ``target`` ms with nothing lost (0: none)."""
    return max((r["clients"] for r in rows if holds(r, target)), default=0)


def sweep(args) -> tuple[dict, int]:
    """Every count of ``--sweep`` on each relay asked for, smallest first, until a relay no longer holds its users;
    the table, and the users each holds."""
    import copy

    servers = ["service", "floor"] if args.server == "both" else [args.server]
    rows: dict[str, list[dict]] = {s: [] for s in servers}
    saturated: set[str] = set()
    for clients in sorted(args.sweep):
        for server in servers:
            if server in saturated:  # it did not hold fewer users: more would only take longer to fail
                continue
            one = copy.copy(args)
            one.server, one.clients = server, clients
            try:
                result, _ = run(one)
            except BenchmarkFailed as exc:
                result = {"ok": False, "failures": [str(exc)]}
            result.setdefault("clients", clients)
            rows[server].append(result)
            if not holds(result, args.target_p99):
                saturated.add(server)
            lat = result.get("latency_ms") or {}
            print(f"[bench] {server:>7} {clients:>5} users: p50 {fmt(lat.get('p50'), ' ms', 2)}, p99 "
                  f"{fmt(lat.get('p99'), ' ms', 2)}, lost {result.get('lost')}, {fmt(result.get('msgs_per_s'), ' msgs/s', 0)}, "
                  f"relay CPU "
                  f"{fmt((result.get('server') or {}).get('cpu_avg_pct'), ' %')}, "
                  f"{fmt(result.get('server_cpu_ms_per_msg'), ' ms/msg', 3)}"
                  + ("" if result.get("ok") else f"  FAILED: {'; '.join(result.get('failures') or [])}"),
                  file=sys.stderr)
    summary = {"target_p99_ms": args.target_p99, "rows": rows,
               "held": {s: held(rows[s], args.target_p99) for s in servers}}
    if len(servers) == 2 and summary["held"]["floor"]:
        summary["service_share_of_floor"] = round(summary["held"]["service"] / summary["held"]["floor"], 2)
    return summary, 0


def print_sweep(summary: dict) -> None:
    print(f"mirror latency sweep (users held: p99 <= {summary['target_p99_ms']:g} ms, nothing lost)")
    print(f"  {'relay':<8} {'users':>6} {'p50 ms':>8} {'p99 ms':>8} {'lost':>6} {'msgs/s':>7} {'CPU %':>6} {'ms/msg':>7}")
    for server, rows in summary["rows"].items():
        for r in rows:
            lat = r.get("latency_ms") or {}
            print(f"  {server:<8} {r['clients']:>6} {fmt(lat.get('p50'), '', 2):>8} {fmt(lat.get('p99'), '', 2):>8} "
                  f"{str(r.get('lost')):>6} {fmt(r.get('msgs_per_s'), '', 0):>7} "
                  f"{fmt((r.get('server') or {}).get('cpu_avg_pct')):>6} "
                  f"{fmt(r.get('server_cpu_ms_per_msg'), '', 3):>7}")
    for server, users in summary["held"].items():
        rate = max((r.get("msgs_per_s") or 0 for r in summary["rows"][server] if r.get("clients") == users), default=0)
        print(f"  {server} holds {users} users ({rate:.0f} msgs/s relayed)")
    if "service_share_of_floor" in summary:
        print(f"  the service holds {summary['service_share_of_floor']:.0%} of what the floor holds")


def main(argv=None) -> int:
    args = parse_args(argv)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started with SIGINT ignored (background jobs)
    if args.sweep:
        try:
            summary, status = sweep(args)
        except KeyboardInterrupt:
            print("interrupted; service and load generator stopped", file=sys.stderr)
            return 130
        print(json.dumps(summary) if args.json else "", end="\n" if args.json else "")
        if not args.json:
            print_sweep(summary)
        return status
    try:
        result, status = run(args)
    except BenchmarkFailed as exc:
        result, status = {"ok": False, "failures": [str(exc)]}, 1
    except KeyboardInterrupt:
        print("interrupted; service and load generator stopped", file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(result))
    else:
        print_block(result, args.timeline)
    return status


if __name__ == "__main__":
    sys.exit(main())
