"""The sandbox's limits and layout, as a traitlets ``Configurable`` (``c.SandboxConfig.memory_mb = 256``...).

One object describes a sandbox; it is serialised to a plain dict (``SandboxConfig.plan()``) and handed to the
process that builds the sandbox (the launcher or the fork server), so the same settings apply whichever way the
kernel is started.
"""

from __future__ import annotations

import os
import sys

from traitlets import Bool, Float, Int, List, Unicode
from traitlets.config import Configurable


def _default_ro_paths() -> list[str]:
    paths = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(p + os.sep) for p in paths):
        paths.add(os.path.dirname(exe))
    for lib in ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32", "/usr/local/lib", "/lib", "/lib64"):
        if os.path.isdir(lib) and not os.path.islink(lib):
            paths.add(lib)
    return sorted(paths)


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
    ro_paths = List(Unicode(), help="Host paths bound read-only at the same place inside the sandbox (the "
                                    "interpreter and the libraries it needs; never data, homes or the service's "
                                    "files).").tag(config=True)
    extra_ro_paths = List(Unicode(), help="More read-only paths, added to ro_paths.").tag(config=True)
    cgroup_parent = Unicode("jupyter-duel-sandbox", help="Parent cgroup of the sandboxes: a relative path is "
                            "created under this process's own cgroup (per controller on cgroup v1), an absolute "
                            "one under the hierarchy root.").tag(config=True)
    cgroup_version = Unicode("auto", help="'auto', 'v1' or 'v2'.").tag(config=True)
    runtime_dir = Unicode("", help="Where per-sandbox directories (sockets, connection file) are created; "
                                   "default: the system temp dir.").tag(config=True)
    seccomp = Bool(True, help="Install the seccomp filter (turning it off is for debugging only).").tag(config=True)

    def _ro_paths_default(self) -> list[str]:
        return _default_ro_paths()

    def plan(self) -> dict:
        """A JSON-able description handed to the process that builds the sandbox."""
        ro = list(self.ro_paths) or _default_ro_paths()
        ro += [p for p in self.extra_ro_paths if p not in ro]
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
            "seccomp": self.seccomp,
        }
