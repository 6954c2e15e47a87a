# returns: contained
import os

from jupyter_duel_server.sandbox.namespaces import BASE_ENV

# Every process visible inside (PID 1 is a fork of the fork server: its environ is the fork server's exec-time
# environment) has exactly the fixed base environment, nothing of the judge's.


def f(x):
    seen = []
    for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                env = fh.read()
        except OSError:
            continue
        for entry in env.split(b"\0"):
            if not entry:
                continue
            name, _, value = entry.decode("utf-8", "replace").partition("=")
            if BASE_ENV.get(name) != value:
                seen.append(f"{pid}: {name}")
    return "contained" if not seen else "saw " + ", ".join(seen)
