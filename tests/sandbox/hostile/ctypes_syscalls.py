# returns: contained
import ctypes
import errno

libc = ctypes.CDLL(None, use_errno=True)
CALLS = {
    "unshare(NEWUSER)": (272, 0x10000000),
    "unshare(NEWNS)": (272, 0x00020000),
    "setns": (308, 0, 0),
    "mount": (165, b"none", b"/tmp", b"tmpfs", 0, 0),
    "umount2": (166, b"/tmp", 2),
    "ptrace(ATTACH 1)": (101, 16, 1, 0, 0),
    "keyctl": (250, 0, 0),
    "bpf": (321, 0, 0, 0),
    "io_uring_setup": (425, 8, 0),
    "perf_event_open": (298, 0, 0, -1, -1, 0),
    "chroot": (161, b"/tmp"),
    "clone(NEWUSER)": (56, 0x10000000 | 17, 0, 0, 0, 0),
    "reboot": (169, 0, 0, 0, 0),
    "init_module": (175, 0, 0, 0),
    "userfaultfd": (323, 0),
}


def f(x):
    worked = []
    for name, (nr, *args) in CALLS.items():
        ret = libc.syscall(nr, *args)
        if ret >= 0:
            worked.append(name)
            if name.startswith("clone") and ret == 0:
                libc._exit(0)
    if libc.setuid(0) == 0:
        worked.append("setuid(0)")
    return "contained" if not worked else "worked: " + ", ".join(worked)
