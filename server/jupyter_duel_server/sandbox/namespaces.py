"""Building one sandbox: the process tree, the namespaces, the filesystem and the privilege drop.

``spawn()`` is called in a trusted, single-threaded process P (the launcher, or the fork server) and returns
the pid of A, the supervisor. The tree::

    P (root, host namespaces; owns the cgroup)
    └── A  supervisor: joins the cgroup, builds the new root as real root in a mount namespace of its own (a
        │  tmpfs with the plan's ``ro_paths`` bound read-only, its ``mask_paths`` hidden under empty read-only
        │  tmpfs mounts, /dev nodes, a size-capped /tmp), becomes the sandbox uid, unshares
        │  user+mount+pid+net+ipc+uts+cgroup namespaces, maps its uid, then drains B's fds 1/2 (capped) and
        │  waits; exit status reports why B ended
        └── B  PID 1 of the new pid namespace, in a session and process group of its own (nothing it can signal
               is outside its pid namespace): /proc, pivot_root; rlimits; drops every capability;
               no_new_privs; seccomp; then runs ``target`` (exec of a kernel with a fixed environment, or a
               kernel initialised in-process by the fork server, itself started with that environment).

When B (PID 1) dies the kernel kills everything else in its pid namespace, so no descendant can outlive it.
A and B die with their parent (PR_SET_PDEATHSIG, re-armed after every credential change). The host uid is
unprivileged and used by nothing else; inside, only ``inner_uid`` is mapped.
"""

from __future__ import annotations

import errno
import os
import resource
import select
import signal
import socket
import sys
import time
from typing import Callable

from . import _libc

#: A's exit status when B was killed for writing too much to its file descriptors 1/2.
EXIT_OUTPUT_LIMIT = 213
#: A's / B's exit status when building the sandbox failed (the reason is written to A's stderr).
EXIT_SETUP_FAILED = 210

NS_FLAGS = (
    _libc.CLONE_NEWUSER | _libc.CLONE_NEWNS | _libc.CLONE_NEWPID | _libc.CLONE_NEWNET | _libc.CLONE_NEWIPC
    | _libc.CLONE_NEWUTS | _libc.CLONE_NEWCGROUP
)
DEV_NODES = ("null", "zero", "full", "random", "urandom")

#: The whole environment of every process of a sandbox, and of the fork server they are forked from (whose
#: exec-time environment is what ``/proc/1/environ`` shows inside): nothing of the host's (no PATH, PYTHONPATH,
#: secrets or service settings). The launcher adds only the kernelspec's own ``env`` and JUPYTER_RUNTIME_DIR.
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "IPYTHONDIR": "/tmp/.ipython",
    "JUPYTER_CONFIG_DIR": "/tmp/.jupyter",
    "JUPYTER_DATA_DIR": "/tmp/.jupyter-data",
    "MPLCONFIGDIR": "/tmp/.mpl",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
}


def _write(path: str, data: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)


def _locked_flags(path: str) -> int:
    """Mount flags a bind remount inside a user namespace must keep (the kernel refuses to clear them)."""
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in ((os.ST_NOSUID, _libc.MS_NOSUID), (os.ST_NODEV, _libc.MS_NODEV), (os.ST_NOEXEC, _libc.MS_NOEXEC),
                   (os.ST_NOATIME, _libc.MS_NOATIME), (os.ST_NODIRATIME, _libc.MS_NODIRATIME),
                   (os.ST_RELATIME, _libc.MS_RELATIME)):
        if f & st:
            out |= ms
    return out


def _bind(src: str, dst: str, *, readonly: bool, extra: int = 0) -> None:
    _libc.mount(src, dst, None, _libc.MS_BIND | _libc.MS_REC)
    flags = _libc.MS_REMOUNT | _libc.MS_BIND | _locked_flags(src) | _libc.MS_NOSUID | extra
    if readonly:
        flags |= _libc.MS_RDONLY
    _libc.mount(None, dst, None, flags)


def _mkdirs(root: str, path: str) -> str:
    target = root + path
    os.makedirs(target, exist_ok=True)
    return target


def build_filesystem(plan: dict, new_root: str, rw_dir: str | None) -> None:
    """In A, still root, in a fresh mount namespace of its own: populate ``new_root``.

    Done as real root (the sandbox uid may not be able to traverse the parents of the interpreter, e.g. under
    /root). The user namespace is created *afterwards*: its copy of this mount namespace then has every one of
    these mounts locked (the sandbox cannot unmount them, nor make a read-only one writable).
    """
    _libc.mount(None, "/", None, _libc.MS_REC | _libc.MS_PRIVATE)
    _libc.mount("tmpfs", new_root, "tmpfs", _libc.MS_NOSUID | _libc.MS_NODEV, "size=1m,nr_inodes=4096,mode=0755")
    # The private /tmp first: an interpreter that lives under /tmp (a virtualenv in a checkout there) is then
    # bound on top of it instead of being hidden by it.
    tmp = _mkdirs(new_root, "/tmp")
    _libc.mount("tmpfs", tmp, "tmpfs", _libc.MS_NOSUID | _libc.MS_NODEV,
                f"size={plan['tmp_size_bytes']},nr_inodes=4096,mode=1777")
    for path in plan["ro_paths"]:
        if not os.path.exists(path):
            continue
        if os.path.isdir(path):
            target = _mkdirs(new_root, path)
        else:
            _mkdirs(new_root, os.path.dirname(path))
            target = new_root + path
            open(target, "a").close()
        _bind(path, target, readonly=True)
    mask_all(plan.get("mask_paths") or (), new_root)
    # Merged-/usr layouts: /lib -> usr/lib and friends, as on the host.
    for link in ("/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin"):
        if os.path.islink(link) and not os.path.lexists(new_root + link):
            os.symlink(os.readlink(link), new_root + link)
    dev = _mkdirs(new_root, "/dev")
    for node in DEV_NODES:
        if os.path.exists("/dev/" + node):
            open(os.path.join(dev, node), "a").close()
            _libc.mount("/dev/" + node, os.path.join(dev, node), None, _libc.MS_BIND)
    for name, target in (("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                         ("fd", "/proc/self/fd")):
        os.symlink(target, os.path.join(dev, name))
    os.symlink("/tmp", os.path.join(dev, "shm"))
    _mkdirs(new_root, "/proc")
    if rw_dir:
        _bind(rw_dir, _mkdirs(new_root, rw_dir), readonly=False, extra=_libc.MS_NODEV | _libc.MS_NOEXEC)
    etc = _mkdirs(new_root, "/etc")
    uid = plan["inner_uid"]
    with open(os.path.join(etc, "passwd"), "w") as f:
        f.write(f"root:x:0:0::/:/bin/false\nsandbox:x:{uid}:{uid}::/tmp:/bin/false\n")
    with open(os.path.join(etc, "group"), "w") as f:
        f.write(f"root:x:0:\nsandbox:x:{uid}:\n")
    with open(os.path.join(etc, "hostname"), "w") as f:
        f.write("sandbox\n")
    _libc.mount(None, new_root, None, _libc.MS_REMOUNT | _libc.MS_BIND | _libc.MS_RDONLY | _libc.MS_NOSUID
                | _libc.MS_NODEV)


def mask_all(paths, new_root: str) -> None:
    """Hide each path (inside a bound one) under an empty read-only tmpfs, or a file under an empty read-only
    file. Done after the binds, before the user namespace exists: the masks are then locked like the binds (the
    sandbox cannot unmount them to reveal what is below)."""
    empty_file = None
    for path in paths:
        if not isinstance(path, str) or not path.startswith("/"):
            continue
        target = new_root + path
        if os.path.islink(target) or not os.path.lexists(target):
            continue  # never follow a link out of the new root; a path that is not there needs no mask
        if os.path.isdir(target):
            _libc.mount("tmpfs", target, "tmpfs",
                        _libc.MS_RDONLY | _libc.MS_NOSUID | _libc.MS_NODEV | _libc.MS_NOEXEC,
                        "size=4k,nr_inodes=1,mode=0555")
        else:
            if empty_file is None:
                empty_file = os.path.join(os.path.dirname(new_root), "empty")
                os.close(os.open(empty_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o444))
            _bind(empty_file, target, readonly=True, extra=_libc.MS_NODEV | _libc.MS_NOEXEC)


def enter_root(new_root: str) -> None:
    """In B (PID 1 of the new pid namespace, capabilities in the new user namespace): /proc, then pivot_root."""
    _libc.mount("proc", new_root + "/proc", "proc", _libc.MS_NOSUID | _libc.MS_NODEV | _libc.MS_NOEXEC)
    os.chdir(new_root)
    try:
        _libc.pivot_root(".", ".")
        _libc.umount2(".", _libc.MNT_DETACH)
    except OSError as e:
        # pivot_root needs the current root to be its mount namespace's root; a host booted through an
        # initramfs (switch_root, as on some VMs) runs chrooted, so fall back to chroot. The old root stays
        # unreachable: no capability is left to chroot again (and seccomp denies chroot), no descriptor to it
        # survives, and no process outside the sandbox is visible in its pid namespace.
        if e.errno != errno.EINVAL:
            raise
        os.chroot(".")
    os.chdir("/")


def set_rlimits(plan: dict) -> None:
    fsize = plan["file_size_bytes"]
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nofile = plan["open_files"]
    resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    # A per-process backstop only: the total CPU cap is the cgroup's accounting, polled by the trusted side.
    cpu = int(plan["cpu_time_s"] * 5) + 30
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def lock_down(plan: dict, seccomp_filter: bytes | None) -> None:
    """Last step before untrusted code: no capabilities, no new privileges, the seccomp filter."""
    _libc.drop_all_capabilities()
    _libc.prctl(_libc.PR_SET_NO_NEW_PRIVS, 1)
    if plan.get("seccomp", True):
        if not seccomp_filter:
            raise RuntimeError("no seccomp filter given")
        _libc.install_seccomp(seccomp_filter)


def spawn(
    plan: dict,
    *,
    cgroup_procs: list[str],
    runtime_dir: str,
    io_dir: str | None,
    target: Callable[[], None],
    seccomp_filter: bytes | None,
    lock_paths: list[str] | None = None,
    stdout_fd: int | None = None,
    close_fds: list[int] | None = None,
) -> int:
    """Fork A (see the module docstring) and return its pid. Call only from a single-threaded process.

    ``runtime_dir`` holds ``root/`` (the mount point of the new root) and ``io_dir`` (bound read-write at the
    same path: sockets and connection file). ``lock_paths``: once all exist (the kernel's sockets), A remounts
    ``io_dir`` read-only inside the sandbox. ``stdout_fd``: where A forwards B's output (up to the cap).
    ``target`` runs in B after the lock-down and must not return (exec, or ``os._exit``).
    """
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = EXIT_SETUP_FAILED
    try:
        try:
            signal.set_wakeup_fd(-1)
        except ValueError:
            pass
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        # Descriptors of the parent that the sandbox must not hold (the fork server's command and event pipes):
        # 0-2 are pointed at /dev/null so that later descriptors cannot take their numbers.
        null = os.open("/dev/null", os.O_RDWR)
        for fd in close_fds or ():
            try:
                if fd <= 2:
                    os.dup2(null, fd)
                else:
                    os.close(fd)
            except OSError:
                pass
        os.close(null)
        code = _supervisor(plan, parent, cgroup_procs, runtime_dir, io_dir, target, seccomp_filter, lock_paths,
                           stdout_fd)
    except BaseException as e:  # noqa: BLE001 - report and exit, never return into the caller's code
        try:
            os.write(2, f"sandbox: {type(e).__name__}: {e}\n".encode())
        except OSError:
            pass
    os._exit(code)


def _supervisor(plan, parent, cgroup_procs, runtime_dir, io_dir, target, seccomp_filter, lock_paths, stdout_fd):
    _libc.set_name("duel-sandbox")
    _libc.set_pdeathsig(signal.SIGKILL)
    if os.getppid() != parent:
        return EXIT_SETUP_FAILED
    os.setsid()
    for procs in cgroup_procs:
        _write(procs, str(os.getpid()))
    uid, gid, inner = plan["uid"], plan["gid"], plan["inner_uid"]
    new_root = os.path.join(runtime_dir, "root")
    _libc.unshare(_libc.CLONE_NEWNS)
    build_filesystem(plan, new_root, io_dir)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _libc.prctl(_libc.PR_SET_DUMPABLE, 1)  # else /proc/self/uid_map stays root's after the uid change
    _libc.set_pdeathsig(signal.SIGKILL)  # cleared by the credential change
    if os.getppid() != parent:
        return EXIT_SETUP_FAILED
    _libc.unshare(NS_FLAGS)
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{inner} {uid} 1\n")
    _write("/proc/self/gid_map", f"{inner} {gid} 1\n")
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        code = EXIT_SETUP_FAILED
        try:
            os.close(r)
            # PID 1 of the new namespace: getppid() is 0 here, A is outside. (If A died before this line, the
            # trusted side still kills B through the cgroup.)
            # A session and process group of its own first: B inherited A's, and A has the same uid, so
            # kill(0, ...) / killpg(getpgrp(), ...) from inside would otherwise reach A. After this, every
            # process group and session a submission can name holds only processes of its pid namespace.
            os.setsid()
            _libc.set_pdeathsig(signal.SIGKILL)
            null = os.open("/dev/null", os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(w, 1)
            os.dup2(w, 2)
            os.close(null)
            os.close(w)
            enter_root(new_root)
            socket.sethostname("sandbox")
            set_rlimits(plan)
            lock_down(plan, seccomp_filter)
            target()
        except BaseException as e:  # noqa: BLE001
            try:
                os.write(2, f"sandbox setup: {type(e).__name__}: {e}\n".encode())
            except OSError:
                pass
        os._exit(code)
    os.close(w)
    return _drain(plan, child, r, io_dir, lock_paths, stdout_fd, new_root)


def _drain(plan, child, r, io_dir, lock_paths, stdout_fd, new_root) -> int:
    """A's loop: forward B's output up to the cap, lock the io dir once the kernel bound, wait for B."""
    limit = plan["fd_output_limit_bytes"]
    used = 0
    exceeded = False
    pending_lock = bool(lock_paths and io_dir)
    deadline = time.monotonic() + 60
    while True:
        timeout = 0.002 if pending_lock else None
        try:
            ready, _, _ = select.select([r], [], [], timeout)
        except InterruptedError:
            continue
        if pending_lock:
            if all(os.path.exists(p) for p in lock_paths) or time.monotonic() > deadline:
                pending_lock = False
                try:
                    target = new_root + io_dir if os.path.ismount(new_root + io_dir) else io_dir
                    _libc.mount(None, target, None, _libc.MS_REMOUNT | _libc.MS_BIND | _libc.MS_RDONLY
                                | _libc.MS_NOSUID | _libc.MS_NODEV | _libc.MS_NOEXEC | _locked_flags(target))
                except OSError as e:
                    os.write(2, f"sandbox: could not lock {io_dir}: {e}\n".encode())
                    os.kill(child, signal.SIGKILL)
        if not ready:
            continue
        try:
            data = os.read(r, 65536)
        except InterruptedError:
            continue
        if not data:
            break
        used += len(data)
        if used > limit:
            if not exceeded:
                exceeded = True
                os.kill(child, signal.SIGKILL)
            continue
        if stdout_fd is not None:
            try:
                os.write(stdout_fd, data)
            except OSError:
                pass
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            status = 0
            break
    if exceeded:
        return EXIT_OUTPUT_LIMIT
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def prepare_runtime_dir(base: str | None, uid: int, gid: int, prefix: str = "duel-sandbox-") -> tuple[str, str]:
    """Create ``<base>/<prefix>XXXX/{root,io}``; ``io`` belongs to the sandbox uid. Returns (dir, io dir)."""
    import tempfile

    d = tempfile.mkdtemp(prefix=prefix, dir=base or None)
    os.chmod(d, 0o711)
    os.mkdir(os.path.join(d, "root"), 0o755)
    io = os.path.join(d, "io")
    os.mkdir(io, 0o700)
    os.chown(io, uid, gid)
    return d, io


def process_start_time(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks after boot), None when there is no such process.
    (pid, start time) names a process unambiguously, even after its pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    try:
        return int(stat.rsplit(b")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def remove_runtime_dir(path: str) -> None:
    import shutil

    for _ in range(3):
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.01)
    shutil.rmtree(path, ignore_errors=True)


def exit_reason(status: int) -> str:
    if status == EXIT_OUTPUT_LIMIT:
        return "output_limit"
    if status == EXIT_SETUP_FAILED:
        return "setup_failed"
    return "exited"


def check_host() -> list[str]:
    """What this host lacks to build the sandbox (empty when everything is there)."""
    missing = []
    if sys.platform != "linux":
        return ["Linux (namespaces, cgroups, seccomp)"]
    if os.geteuid() != 0:
        missing.append("root privileges for the sandbox launcher (to switch to the sandbox uid and manage cgroups)")
    try:
        with open("/proc/sys/user/max_user_namespaces") as f:
            if int(f.read()) <= 0:
                missing.append("user namespaces (user.max_user_namespaces is 0)")
    except OSError:
        missing.append("user namespaces (/proc/sys/user/max_user_namespaces is missing)")
    try:
        with open("/proc/sys/kernel/unprivileged_userns_clone") as f:
            if f.read().strip() == "0":
                missing.append("unprivileged user namespaces (kernel.unprivileged_userns_clone=0)")
    except OSError:
        pass
    if "pivot_root" not in _libc._SYS:
        missing.append(f"support for the {_libc.MACHINE} architecture")
    if not os.path.exists("/proc/self/status"):
        missing.append("/proc")
    else:
        with open("/proc/self/status") as f:
            if "Seccomp:" not in f.read():
                missing.append("seccomp support in the kernel")
    return missing


def probe_userns(plan: dict) -> str | None:
    """Really try the namespaces (fork a child that unshares as the sandbox uid); None when it works."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        msg = b""
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(plan["gid"], plan["gid"], plan["gid"])
            os.setresuid(plan["uid"], plan["uid"], plan["uid"])
            _libc.prctl(_libc.PR_SET_DUMPABLE, 1)
            _libc.unshare(NS_FLAGS)
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{plan['inner_uid']} {plan['uid']} 1\n")
        except BaseException as e:  # noqa: BLE001
            msg = f"{type(e).__name__}: {e}".encode()
        os.write(w, msg)
        os._exit(0)
    os.close(w)
    chunks = []
    while True:
        data = os.read(r, 4096)
        if not data:
            break
        chunks.append(data)
    os.close(r)
    os.waitpid(pid, 0)
    out = b"".join(chunks).decode(errors="replace")
    return out or None


__all__ = ["spawn", "build_filesystem", "lock_down", "prepare_runtime_dir", "remove_runtime_dir", "check_host",
           "process_start_time",
           "probe_userns", "EXIT_OUTPUT_LIMIT", "EXIT_SETUP_FAILED", "BASE_ENV", "errno"]
