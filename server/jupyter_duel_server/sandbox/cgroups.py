"""Per-sandbox cgroups (v1 and v2): memory (+swap), pids and CPU caps, CPU accounting, OOM detection, cleanup.

Layout: ``<hierarchy>/<this process's cgroup>/<cgroup_parent>/<sandbox id>`` for each controller (v1) or once
(v2). The sandbox's first process joins by writing to ``cgroup.procs`` before it drops privileges; everything it
starts stays inside. The trusted side polls CPU usage (RLIMIT_CPU is per process: a chain of forked children
evades it), reads OOM kills, kills everything and removes the directories with retries.
"""

from __future__ import annotations

import errno
import os
import signal
import time

from .errors import SandboxUnavailable

V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
V2_CONTROLLERS = ("memory", "pids", "cpu")


def _read(path: str) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while True:
            data = os.read(fd, 65536)
            if not data:
                return b"".join(chunks).decode()
            chunks.append(data)
    finally:
        os.close(fd)


def _write(path: str, value) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fstype, super options) of the cgroup mounts of this process's mount namespace."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            if len(rfields) >= 3 and rfields[0] in ("cgroup", "cgroup2"):
                out.append((fields[4].replace("\\040", " "), rfields[0], set(rfields[2].split(","))))
    return out


def _own_paths() -> dict[str, str]:
    """controller -> this process's cgroup path ('' key for the v2 unified hierarchy)."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                out[c] = path
    return out


class Cgroup:
    """One sandbox's cgroup (one directory per controller on v1)."""

    def __init__(self, version: str, dirs: dict[str, str]):
        self.version = version
        self.dirs = dirs  # controller -> directory (v2: '' -> directory)
        self._oom_base = 0

    # --- joining -------------------------------------------------------------------------------------------
    @property
    def procs_files(self) -> list[str]:
        return sorted({os.path.join(d, "cgroup.procs") for d in self.dirs.values()})

    def _dir(self, controller: str) -> str:
        return self.dirs[controller] if self.version == "v1" else self.dirs[""]

    # --- limits --------------------------------------------------------------------------------------------
    def set_limits(self, memory_bytes: int, pids_max: int, cpu_cores: float) -> None:
        self.set_memory_limit(memory_bytes)
        period = 100_000
        quota = max(1000, int(period * cpu_cores))
        if self.version == "v1":
            _write(os.path.join(self._dir("pids"), "pids.max"), pids_max)
            # A new cgroup's period is the kernel's default, 100 ms: only the quota needs writing.
            if _read(os.path.join(self._dir("cpu"), "cpu.cfs_period_us")).strip() != str(period):
                _write(os.path.join(self._dir("cpu"), "cpu.cfs_period_us"), period)
            _write(os.path.join(self._dir("cpu"), "cpu.cfs_quota_us"), quota)
        else:
            _write(os.path.join(self._dir("pids"), "pids.max"), pids_max)
            _write(os.path.join(self._dir("cpu"), "cpu.max"), f"{quota} {period}")

    def set_memory_limit(self, memory_bytes: int) -> None:
        d = self._dir("memory")
        if self.version == "v2":
            _write(os.path.join(d, "memory.max"), memory_bytes)
            swap = os.path.join(d, "memory.swap.max")
            if os.path.exists(swap):
                _write(swap, 0)
            return
        limit, memsw = os.path.join(d, "memory.limit_in_bytes"), os.path.join(d, "memory.memsw.limit_in_bytes")
        files = [limit, memsw] if os.path.exists(memsw) else [limit]
        try:
            for f in files:  # lowering: memory first (memsw must stay >= memory)
                _write(f, memory_bytes)
        except OSError as e:
            if e.errno != errno.EINVAL:
                raise
            for f in reversed(files):  # raising: memsw first
                _write(f, memory_bytes)

    # --- accounting ----------------------------------------------------------------------------------------
    def memory_usage(self) -> int:
        d = self._dir("memory")
        name = "memory.current" if self.version == "v2" else "memory.usage_in_bytes"
        return int(_read(os.path.join(d, name)))

    def cpu_usage_s(self) -> float:
        if self.version == "v1":
            return int(_read(os.path.join(self._dir("cpuacct"), "cpuacct.usage"))) / 1e9
        for line in _read(os.path.join(self._dir("cpu"), "cpu.stat")).splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) / 1e6
        return 0.0

    def oom_kills(self) -> int:
        d = self._dir("memory")
        try:
            text = _read(os.path.join(d, "memory.events" if self.version == "v2" else "memory.oom_control"))
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def pids(self) -> list[int]:
        out: set[int] = set()
        for f in self.procs_files:
            try:
                out.update(int(x) for x in _read(f).split())
            except (OSError, ValueError):
                pass
        return sorted(out)

    # --- teardown ------------------------------------------------------------------------------------------
    def kill_all(self) -> None:
        if self.version == "v2":
            kill = os.path.join(self.dirs[""], "cgroup.kill")
            if os.path.exists(kill):
                try:
                    _write(kill, 1)
                except OSError:
                    pass
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def remove(self, timeout: float = 5.0) -> bool:
        """Kill what is left and remove the directories; True when all are gone."""
        deadline = time.monotonic() + timeout
        remaining = sorted(set(self.dirs.values()))
        delay = 0.001
        while remaining:
            self.kill_all()
            still = []
            for d in remaining:
                try:
                    os.rmdir(d)
                except FileNotFoundError:
                    pass
                except OSError:
                    still.append(d)
            remaining = still
            if not remaining or time.monotonic() > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return not remaining


class CgroupHierarchy:
    """Where sandbox cgroups are created; ``detect`` refuses (SandboxUnavailable) when a controller is missing."""

    def __init__(self, version: str, bases: dict[str, str]):
        self.version = version
        self.bases = bases

    @classmethod
    def detect(cls, version: str = "auto", parent: str = "jupyter-duel-sandbox") -> "CgroupHierarchy":
        mounts = _mounts()
        own = _own_paths()
        problems = []
        if version in ("auto", "v1"):
            bases = {}
            for c in V1_CONTROLLERS:
                mp = next((m for m, t, opts in mounts if t == "cgroup" and c in opts), None)
                if mp is None:
                    problems.append(f"cgroup v1 controller '{c}'")
                    continue
                bases[c] = cls._base(mp, own.get(c, "/"), parent)
            if not problems:
                try:
                    for b in set(bases.values()):
                        os.makedirs(b, exist_ok=True)
                    return cls("v1", bases)
                except OSError as e:
                    problems.append(f"a writable cgroup v1 hierarchy ({e})")
            if version == "v1":
                raise SandboxUnavailable(problems)
        mp = next((m for m, t, opts in mounts if t == "cgroup2"), None)
        if mp is None:
            raise SandboxUnavailable(problems + ["a cgroup v2 hierarchy"])
        own_dir = os.path.normpath(mp + "/" + own.get("", "/"))
        base = cls._base(mp, own.get("", "/"), parent)
        try:
            available = set(_read(os.path.join(own_dir, "cgroup.controllers")).split())
        except OSError:
            available = set()
        missing = [c for c in V2_CONTROLLERS if c not in available]
        if missing:
            raise SandboxUnavailable(problems + [f"cgroup v2 controllers {missing} delegated to {own_dir}"])
        try:
            enabled = set(_read(os.path.join(own_dir, "cgroup.subtree_control")).split())
            if not set(V2_CONTROLLERS) <= enabled:
                _write(os.path.join(own_dir, "cgroup.subtree_control"), " ".join("+" + c for c in V2_CONTROLLERS))
            os.makedirs(base, exist_ok=True)
            _write(os.path.join(base, "cgroup.subtree_control"), " ".join("+" + c for c in V2_CONTROLLERS))
        except OSError as e:
            raise SandboxUnavailable(problems + [f"cgroup v2 delegation of memory, pids, cpu under {own_dir} ({e})"])
        return cls("v2", {"": base})

    @staticmethod
    def _base(mount_point: str, own: str, parent: str) -> str:
        if parent.startswith("/"):
            return os.path.normpath(mount_point + parent)
        return os.path.normpath(os.path.join(mount_point + own, parent))

    def create(self, name: str, memory_bytes: int, pids_max: int, cpu_cores: float) -> Cgroup:
        made: dict[str, str] = {}
        try:
            for c, base in self.bases.items():
                d = os.path.join(base, name)
                if d not in made.values():
                    os.mkdir(d)
                made[c] = d
            cg = Cgroup(self.version, made)
            cg.set_limits(memory_bytes, pids_max, cpu_cores)
            return cg
        except BaseException:
            Cgroup(self.version, made).remove(1.0)
            raise

    def leftovers(self) -> list[str]:
        """Sandbox cgroup directories that still exist under the parent (for tests and start-up cleanup)."""
        out = []
        for base in set(self.bases.values()):
            try:
                out += [os.path.join(base, n) for n in os.listdir(base) if os.path.isdir(os.path.join(base, n))]
            except OSError:
                pass
        return sorted(out)
