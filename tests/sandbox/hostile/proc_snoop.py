# returns: contained
import os


def f(x):
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    found = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        if b"jupyter_duel_server.app" in cmd or b"pytest" in cmd or b"forkserver" in cmd and pid != 1:
            found.append(pid)
    with open("/proc/self/cgroup") as fh:
        cg = fh.read()
    if any(line.split(":", 2)[2] not in ("/", "") for line in cg.splitlines()):
        found.append("cgroup path " + cg)
    try:
        with open("/proc/1/environ", "rb") as fh:
            env = fh.read()
        if b"SECRET" in env or b"TOKEN" in env:
            found.append("environ")
    except OSError:
        pass
    if max(pids) > 64:
        found.append(f"pid {max(pids)}")
    return "contained" if not found else f"saw {found}"
