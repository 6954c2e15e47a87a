"""The seccomp filter: a hand-built classic BPF program, built once by the trusted side, installed in the sandbox.

Why hand-built: it needs no compiler at run time (installing it is one ``prctl``), it can inspect arguments
(socket domains, clone flags) exactly as wanted, and it is small enough to audit. Syscall numbers come from
libseccomp (``seccomp_syscall_resolve_name``, present in the base image) when available, else from the table
below for x86_64; any other case is refused (never silently unsafe).

Policy (default allow, deny-list of kernel attack surface the submission never needs):

- wrong architecture (e.g. a 32-bit ``int 0x80`` entry) or the x32 ABI: kill the process;
- ``socket``/``socketpair`` with any family other than AF_UNIX (ZMQ over Unix sockets) and AF_NETLINK (libzmq's
  getifaddrs aborts without it): EAFNOSUPPORT. That covers AF_INET/AF_INET6 (already useless in the empty net
  namespace), AF_PACKET and AF_VSOCK (which a network namespace does *not* confine on a VM);
- ``clone`` with any namespace flag, ``clone3`` (its flags are behind a pointer; ENOSYS makes libc fall back to
  ``clone``), ``unshare``, ``setns``: no nested namespaces;
- ptrace, process_vm_*, mount family, pivot_root, chroot, keyctl family, bpf, io_uring, perf_event_open,
  userfaultfd, kexec, modules, swap, reboot, syslog, clock setting, ioperm/iopl, ...: EPERM;
- ``ioctl(TIOCSTI)``: EPERM.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import platform
import struct

from .errors import SandboxUnavailable

DENIED = (
    "ptrace process_vm_readv process_vm_writev kcmp pidfd_getfd "
    "mount umount2 pivot_root chroot mount_setattr fsopen fsmount fsconfig fspick move_mount open_tree "
    "unshare setns "
    "keyctl add_key request_key bpf perf_event_open userfaultfd "
    "io_uring_setup io_uring_enter io_uring_register "
    "kexec_load kexec_file_load init_module finit_module delete_module create_module query_module get_kernel_syms "
    "swapon swapoff reboot syslog acct quotactl quotactl_fd nfsservctl _sysctl uselib vhangup "
    "open_by_handle_at name_to_handle_at lookup_dcookie fanotify_init "
    "settimeofday clock_settime clock_adjtime adjtimex iopl ioperm sethostname setdomainname memfd_secret"
).split()

#: x86_64 numbers, used when libseccomp is not available (and cross-checked against it by the tests).
X86_64 = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "pidfd_getfd": 438,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "mount_setattr": 442, "fsopen": 430,
    "fsmount": 432, "fsconfig": 431, "fspick": 433, "move_mount": 429, "open_tree": 428, "unshare": 272,
    "setns": 308, "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "create_module": 174, "query_module": 178, "get_kernel_syms": 177, "swapon": 167, "swapoff": 168,
    "reboot": 169, "syslog": 103, "acct": 163, "quotactl": 179, "quotactl_fd": 443, "nfsservctl": 180,
    "_sysctl": 156, "uselib": 134, "vhangup": 153, "open_by_handle_at": 304, "name_to_handle_at": 303,
    "lookup_dcookie": 212, "fanotify_init": 300, "settimeofday": 164, "clock_settime": 227,
    "clock_adjtime": 305, "adjtimex": 159, "iopl": 172, "ioperm": 173, "sethostname": 170,
    "setdomainname": 171, "memfd_secret": 447,
    "socket": 41, "socketpair": 53, "clone": 56, "clone3": 435, "ioctl": 16,
}

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_SYSCALL_BIT = 0x40000000

AF_UNIX = 1
AF_NETLINK = 16
ALLOWED_FAMILIES = (AF_UNIX, AF_NETLINK)
TIOCSTI = 0x5412
CLONE_NS_FLAGS = 0x10000000 | 0x00020000 | 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x02000000 | 0x80

# BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000

_OFF_NR, _OFF_ARCH = 0, 4


def _arg_lo(i: int) -> int:
    return 16 + 8 * i  # low 32 bits of args[i] (little-endian)


def _stmt(code: int, k: int) -> tuple:
    return (code, 0, 0, k)


def _jump(code: int, k: int, jt: int, jf: int) -> tuple:
    return (code, jt, jf, k)


def _resolver():
    lib = ctypes.util.find_library("seccomp")
    if lib:
        try:
            so = ctypes.CDLL(lib)
            so.seccomp_syscall_resolve_name.restype = ctypes.c_int
            so.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
            return lambda name: so.seccomp_syscall_resolve_name(name.encode())
        except (OSError, AttributeError):
            pass
    if platform.machine() == "x86_64":
        return lambda name: X86_64.get(name, -1)
    return None


def syscall_numbers(names) -> dict[str, int]:
    """Native numbers for ``names`` (a name unknown on this architecture is left out)."""
    resolve = _resolver()
    if resolve is None:
        raise SandboxUnavailable([f"syscall numbers for {platform.machine()} (install libseccomp2)"])
    out = {}
    for name in names:
        nr = resolve(name)
        if nr is not None and nr >= 0:
            out[name] = nr
    return out


def build_filter() -> bytes:
    """The BPF program as bytes (an array of ``struct sock_filter``)."""
    machine = platform.machine()
    if machine not in AUDIT_ARCH:
        raise SandboxUnavailable([f"a seccomp policy for the {machine} architecture"])
    nrs = syscall_numbers(DENIED + ["socket", "socketpair", "clone", "clone3", "ioctl"])
    for needed in ("socket", "clone", "unshare", "setns", "ptrace", "mount", "bpf"):
        if needed not in nrs:
            raise SandboxUnavailable([f"the syscall number of {needed}"])
    denied = sorted({nrs[n] for n in DENIED if n in nrs})

    # Blocks are appended in order; jumps are relative, so each block returns or falls through.
    prog: list[tuple] = []
    eperm = RET_ERRNO | errno.EPERM
    prog.append(_stmt(_LD_W_ABS, _OFF_ARCH))
    prog.append(_jump(_JEQ_K, AUDIT_ARCH[machine], 1, 0))
    prog.append(_stmt(_RET_K, RET_KILL_PROCESS))
    prog.append(_stmt(_LD_W_ABS, _OFF_NR))
    if machine == "x86_64":
        prog.append(_jump(_JGE_K, X32_SYSCALL_BIT, 0, 1))
        prog.append(_stmt(_RET_K, RET_KILL_PROCESS))
    for nr in denied:
        prog.append(_jump(_JEQ_K, nr, 0, 1))
        prog.append(_stmt(_RET_K, eperm))
    if "clone3" in nrs:
        prog.append(_jump(_JEQ_K, nrs["clone3"], 0, 1))
        prog.append(_stmt(_RET_K, RET_ERRNO | errno.ENOSYS))
    # socket / socketpair: family in arg 0
    for name in ("socket", "socketpair"):
        if name not in nrs:
            continue
        block = [_stmt(_LD_W_ABS, _arg_lo(0))]
        for i, fam in enumerate(ALLOWED_FAMILIES):
            remaining = len(ALLOWED_FAMILIES) - i - 1
            block.append(_jump(_JEQ_K, fam, remaining + 1, 0))  # -> ALLOW
        block.append(_stmt(_RET_K, RET_ERRNO | errno.EAFNOSUPPORT))
        block.append(_stmt(_RET_K, RET_ALLOW))
        prog.append(_jump(_JEQ_K, nrs[name], 0, len(block)))
        prog.extend(block)
    # clone: namespace flags in arg 0 (x86_64 and aarch64 both pass flags first)
    block = [
        _stmt(_LD_W_ABS, _arg_lo(0)),
        _jump(_JSET_K, CLONE_NS_FLAGS, 0, 1),
        _stmt(_RET_K, eperm),
        _stmt(_RET_K, RET_ALLOW),
    ]
    prog.append(_jump(_JEQ_K, nrs["clone"], 0, len(block)))
    prog.extend(block)
    if "ioctl" in nrs:
        block = [
            _stmt(_LD_W_ABS, _arg_lo(1)),
            _jump(_JEQ_K, TIOCSTI, 0, 1),
            _stmt(_RET_K, eperm),
            _stmt(_RET_K, RET_ALLOW),
        ]
        prog.append(_jump(_JEQ_K, nrs["ioctl"], 0, len(block)))
        prog.extend(block)
    prog.append(_stmt(_RET_K, RET_ALLOW))
    for code, jt, jf, k in prog:
        assert 0 <= jt < 256 and 0 <= jf < 256, "BPF jump out of range"
    return b"".join(struct.pack("HBBI", code, jt, jf, k) for code, jt, jf, k in prog)
