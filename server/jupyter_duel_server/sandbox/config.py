"""The sandbox's limits and layout, as a traitlets ``Configurable`` (``c.SandboxConfig.memory_mb = 256``...).

One object describes a sandbox; it is serialised to a plain dict (``SandboxConfig.plan()``) and handed to the
process that builds the sandbox (the launcher or the fork server), so the same settings apply whichever way the
kernel is started.

What a sandbox sees of the host is an **allow-list** (:func:`needed_paths`): the interpreter binary, libpython,
the standard library (with lib-dynload), the site-packages the running interpreter imports from, and the system's
shared-library directories, bound read-only at their host paths. Never a prefix as a whole, so never its
``share/`` or ``etc/`` (where Jupyter data, hence challenge packs, are installed). On top of it a **deny-list**
(:func:`sensitive_paths` plus ``SandboxConfig.hidden_paths``): any sensitive directory (every challenge
directory the judge knows, the Jupyter data/config/runtime directories, homes, ``share``/``etc``, an unused
``site-packages``, the database's directory) that still falls inside a bound path is masked by an empty
read-only tmpfs (``plan()["mask_paths"]``, computed by :func:`mask_paths`).
"""

from __future__ import annotations

import glob
import os
import site
import sys
import sysconfig

from traitlets import Bool, Float, Int, List, Unicode
from traitlets.config import Configurable

#: Directories of the system's shared libraries (bound whole when they exist and are not symlinks).
SYSTEM_LIB_DIRS = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32", "/usr/local/lib", "/lib", "/lib64")


def _inside(path: str, parent: str) -> bool:
    """``path`` is ``parent`` or below it (both absolute, normalised)."""
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _mapped_shared_libraries() -> list[str]:
    """Shared libraries (``lib*.so*``) this process has mapped: libpython wherever the binary's RUNPATH finds it,
    and the libraries of relocatable prefixes (conda-like ``{prefix}/lib``)."""
    out = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) < 6:
                    continue
                path = parts[5].strip()
                name = os.path.basename(path)
                if path.startswith("/") and name.startswith("lib") and ".so" in name and os.path.isfile(path):
                    out.append(path)
    except OSError:
        pass
    return out


def site_packages() -> list[str]:
    """The site-packages directories the running interpreter (or its venv) imports from: sysconfig's
    purelib/platlib and ``site.getsitepackages()`` (which include the base interpreter's only for a venv made
    with ``--system-site-packages``). Never other ``sys.path`` entries (a checkout, a pytest rootdir)."""
    paths = [sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]
    try:
        paths += site.getsitepackages()
    except AttributeError:  # pragma: no cover - an interpreter without site.getsitepackages
        pass
    return [os.path.realpath(p) for p in dict.fromkeys(paths) if p and os.path.isdir(p)]


def needed_paths() -> list[str]:
    """What a kernel needs to run, the sandbox's default allow-list (absolute, most of them real paths; a path
    already inside another one of the list is left out, see :func:`all_needed_paths`)."""
    return _drop_nested(all_needed_paths())


def all_needed_paths() -> list[str]:
    """Every path a kernel needs (nested ones included: a site-packages inside the standard library).

    The interpreter binary (and ``sys.executable`` itself, a venv's symlink, bound as a file at its path, with
    the venv's ``pyvenv.cfg``), libpython and the shared libraries next to it, the standard library and
    lib-dynload, the site-packages of :func:`site_packages` and the system's library directories. Nothing of a
    checkout an editable install points to: the judge kernel runs on the modules the fork server imported
    before forking."""
    out: list[str] = []
    if sys.executable and os.path.isfile(sys.executable):  # (empty in an embedded interpreter)
        exe = os.path.abspath(sys.executable)
        out.append(os.path.realpath(exe))
        if exe != out[0]:
            out.append(exe)
    cfg = os.path.join(sys.prefix, "pyvenv.cfg")
    if os.path.isfile(cfg):
        out.append(os.path.realpath(cfg))
    libdirs = {sysconfig.get_config_var("LIBDIR") or "", os.path.join(sys.base_prefix, "lib")}
    for d in sorted(p for p in libdirs if p):
        for lib in sorted(glob.glob(os.path.join(glob.escape(d), "libpython*.so*"))):
            if os.path.isfile(lib):
                out.append(lib)
    out += _mapped_shared_libraries()
    stdlib = os.path.dirname(os.__file__)
    out.append(os.path.realpath(stdlib))
    for entry in sys.path:
        if entry and os.path.basename(entry.rstrip("/")) == "lib-dynload" and os.path.isdir(entry):
            out.append(os.path.realpath(entry))
        elif entry.endswith(".zip") and os.path.isfile(entry) and _inside(entry, os.path.dirname(stdlib)):
            out.append(os.path.realpath(entry))  # the stdlib zip (python3XY.zip), when there is one
    out += site_packages()
    for lib in SYSTEM_LIB_DIRS:
        if os.path.isdir(lib) and not os.path.islink(lib):
            out.append(lib)
    return list(dict.fromkeys(os.path.abspath(p) for p in out))


def _drop_nested(paths: list[str]) -> list[str]:
    """Keep a path only when no other directory of the list already holds it (binding it again is pointless)."""
    dirs = [p for p in paths if os.path.isdir(p)]
    return sorted(p for p in paths if not any(d != p and _inside(p, d) for d in dirs))


def _stdlib_site_dirs() -> list[str]:
    """site-packages/dist-packages directories of standard libraries that may be bound (the interpreter's own,
    and the system Pythons' under the library directories)."""
    roots = [os.path.dirname(os.__file__), sysconfig.get_path("stdlib") or "", sysconfig.get_path("platstdlib") or ""]
    for lib in SYSTEM_LIB_DIRS:
        roots += glob.glob(os.path.join(lib, "python3*"))
    out = []
    for root in roots:
        for name in ("site-packages", "dist-packages"):
            p = os.path.join(root, name)
            if root and os.path.isdir(p):
                out.append(p)
    return out


def sensitive_paths(extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """What a submission must never read, even where it lies inside a bound path: ``extra`` (the configured
    ``hidden_paths``), every challenge directory the judge knows (``ChallengeLibrary.default_dirs()``), the
    Jupyter data/config/runtime directories, ``share``/``etc`` of every prefix, homes, and the unused
    site-packages of the standard libraries (a venv does not import the base interpreter's)."""
    out = [str(p) for p in extra]
    try:
        from ..challenges import ChallengeLibrary

        out += [str(p) for p in ChallengeLibrary.default_dirs()]
    except Exception:  # noqa: BLE001 - the other entries still apply
        pass
    try:
        from jupyter_core import paths as jp

        out += list(jp.jupyter_path()) + list(jp.jupyter_config_path())
        out += [jp.jupyter_data_dir(), jp.jupyter_config_dir(), jp.jupyter_runtime_dir()]
        for name in ("ENV_JUPYTER_PATH", "SYSTEM_JUPYTER_PATH", "ENV_CONFIG_PATH", "SYSTEM_CONFIG_PATH"):
            out += list(getattr(jp, name, []))
    except Exception:  # noqa: BLE001
        pass
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, "/usr",
                                 "/usr/local", "/")):
        out += [os.path.join(prefix, "share"), os.path.join(prefix, "etc")]
    out += [os.path.expanduser("~"), "/root", "/home", "/srv", "/var", "/opt", "/mnt", "/media", "/run"]
    needed = {os.path.realpath(p) for p in site_packages()}
    out += [p for p in _stdlib_site_dirs() if os.path.realpath(p) not in needed]
    return list(dict.fromkeys(p for p in out if p))


def mask_paths(bound: list[str], sensitive: list[str], needed: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The paths to mask so that nothing of ``sensitive`` is visible through the ``bound`` paths.

    A sensitive path inside a bound directory is masked whole, unless a bound path lies inside it: then each
    of its entries is treated the same way (down to the bound paths, which stay), so that everything in it but
    the needed paths is hidden. A sensitive path outside every bound directory is invisible anyway.
    Symbolic links are never masked (a mount would land on their target): a link's target is visible only if
    it is itself inside a bound path, where its own rules apply. ``needed``: more paths that must stay visible
    (nested ones that ``bound`` leaves out because a parent is bound).
    """
    bound = [os.path.abspath(p) for p in bound]
    bound_dirs = [p for p in dict.fromkeys(bound + [os.path.realpath(p) for p in bound]) if os.path.isdir(p)]
    keep = [os.path.abspath(p) for p in (*bound, *needed)]
    real_bound = list(dict.fromkeys(keep + [os.path.realpath(p) for p in keep]))
    out: set[str] = set()

    def visible(p: str) -> bool:
        return any(_inside(p, d) for d in bound_dirs)

    def hide(node: str, top: bool, depth: int = 0) -> None:
        if depth > 64:
            return
        if node in real_bound and not top:
            return  # needed: stays whole
        holds = any(b != node and _inside(b, node) for b in real_bound)
        if not holds:
            if node not in real_bound and visible(node):
                out.add(node)
            elif node in real_bound and os.path.isdir(node):
                # A sensitive path that is itself a bound directory: fail closed, hide what it holds.
                for name in _listdir(node):
                    child = os.path.join(node, name)
                    if not os.path.islink(child):
                        out.add(child)
            return
        for name in _listdir(node):
            child = os.path.join(node, name)
            if not os.path.islink(child):
                hide(child, False, depth + 1)

    for path in sensitive:
        real = os.path.realpath(path)
        if os.path.exists(real):
            hide(real, True)
    # A mask inside another mask is pointless.
    dirs = sorted(out)
    return [p for p in dirs if not any(q != p and _inside(p, q) and os.path.isdir(q) for q in dirs)]


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


class SandboxConfig(Configurable):
    """Limits and layout of one sandbox (defaults: 2 s CPU, 128 MB, 10 MB files, 50 KB code)."""

    cpu_time_s = Float(2.0, help="Total CPU time (all processes and threads) a submission may use, in seconds. "
                                 "Enforced from the cgroup's CPU accounting, polled by the trusted side.").tag(config=True)
    cpu_cores = Float(1.0, help="CPU bandwidth cap of one sandbox, in cores (cgroup cpu quota).").tag(config=True)
    memory_mb = Int(128, help="Memory a submission may use on top of the kernel's own baseline, in MB "
                              "(cgroup memory limit, swap included).").tag(config=True)
    kernel_memory_mb = Int(256, help="Memory cap while the kernel starts, before the submission's limit is set "
                                     "(also the cap of kernels started through the provisioner, which have no "
                                     "submission phase; they get kernel_memory_mb + memory_mb).").tag(config=True)
    pids_max = Int(64, help="Most tasks (processes + threads, the kernel's ~12 threads included) in a sandbox."
                   ).tag(config=True)
    file_size_mb = Int(10, help="Largest file a submission may write (RLIMIT_FSIZE), in MB.").tag(config=True)
    open_files = Int(256, help="Most open file descriptors per process (RLIMIT_NOFILE).").tag(config=True)
    tmp_size_mb = Int(16, help="Size of the private writable /tmp (tmpfs), in MB.").tag(config=True)
    fd_output_limit_bytes = Int(1 << 20, help="Most bytes the sandbox may write to its file descriptors 1 and 2 "
                                              "(a child process printing bypasses the kernel): past it the sandbox "
                                              "is killed and the run is an output-limit verdict.").tag(config=True)
    uid = Int(61000, help="Host uid the sandbox runs as (unprivileged, used by nothing else).").tag(config=True)
    gid = Int(61000, help="Host gid the sandbox runs as.").tag(config=True)
    inner_uid = Int(1000, help="The uid (and gid) the code sees inside its user namespace.").tag(config=True)
    ro_paths = List(Unicode(), help="Host paths bound read-only at the same place inside the sandbox (a "
                                    "directory at its real path). Default "
                                    "(empty): what the kernel needs, an allow-list (the interpreter, libpython, "
                                    "the standard library, the site-packages the interpreter imports from, the "
                                    "system's library directories); never a prefix's share/ or etc/, data, homes "
                                    "or the service's files.").tag(config=True)
    extra_ro_paths = List(Unicode(), help="More read-only paths, added to ro_paths (hidden_paths and the "
                                          "sensitive directories inside them are still masked).").tag(config=True)
    hidden_paths = List(Unicode(), help="Host paths a submission must never see, masked (an empty read-only "
                                        "tmpfs) wherever they fall inside a bound path. Added to the built-in "
                                        "deny-list: every challenge directory the judge knows (the Jupyter data "
                                        "paths' duel/challenges, DuelService.challenge_dirs and "
                                        "JudgeApp.challenge_dirs of the configuration), the Jupyter data, config "
                                        "and runtime directories, share/ and etc/ of every prefix, homes, and "
                                        "the site-packages the kernel does not import from. The service adds its "
                                        "challenge directories and its database's directory.").tag(config=True)
    cgroup_parent = Unicode("jupyter-duel-sandbox", help="Parent cgroup of the sandboxes: a relative path is "
                            "created under this process's own cgroup (per controller on cgroup v1), an absolute "
                            "one under the hierarchy root.").tag(config=True)
    cgroup_version = Unicode("auto", help="'auto', 'v1' or 'v2'.").tag(config=True)
    runtime_dir = Unicode("", help="Where per-sandbox directories (sockets, connection file) are created; "
                                   "default: the system temp dir.").tag(config=True)
    seccomp = Bool(True, help="Install the seccomp filter (turning it off is for debugging only).").tag(config=True)

    def _configured_challenge_dirs(self) -> list[str]:
        """``DuelService.challenge_dirs`` / ``JudgeApp.challenge_dirs`` of the configuration this object sees
        (``jupyter duel judge --challenge-dir``, ``jupyter_duel_config.py``)."""
        out: list[str] = []
        config = self.config
        for section in ("DuelService", "JudgeApp"):
            sub = config.get(section) if hasattr(config, "get") else None
            value = sub.get("challenge_dirs") if hasattr(sub, "get") else None
            if isinstance(value, (list, tuple)):
                out += [str(v) for v in value if isinstance(v, (str, os.PathLike))]
        return out

    def plan(self) -> dict:
        """A JSON-able description handed to the process that builds the sandbox."""
        # Directories are bound at their real path (what the masks are computed on); files at the path given (a
        # venv's python link is bound as a file where the kernel command names it).
        def norm(p: str) -> str:
            return os.path.realpath(p) if os.path.isdir(p) else os.path.abspath(p)

        ro = [norm(p) for p in self.ro_paths] or needed_paths()
        ro += [p for p in map(norm, self.extra_ro_paths) if p not in ro]
        needed = [] if self.ro_paths else all_needed_paths()
        hidden = sensitive_paths([*self.hidden_paths, *self._configured_challenge_dirs()])
        return {
            "cpu_time_s": self.cpu_time_s,
            "cpu_cores": self.cpu_cores,
            "memory_bytes": self.memory_mb << 20,
            "kernel_memory_bytes": self.kernel_memory_mb << 20,
            "pids_max": self.pids_max,
            "file_size_bytes": self.file_size_mb << 20,
            "open_files": self.open_files,
            "tmp_size_bytes": self.tmp_size_mb << 20,
            "fd_output_limit_bytes": self.fd_output_limit_bytes,
            "uid": self.uid,
            "gid": self.gid,
            "inner_uid": self.inner_uid,
            "ro_paths": ro,
            "mask_paths": mask_paths(ro, hidden, needed),
            "seccomp": self.seccomp,
        }
