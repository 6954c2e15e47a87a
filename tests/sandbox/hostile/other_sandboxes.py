# returns: contained
# Other submissions' sandboxes: their directories, processes and sockets must be invisible.
import os


def f(x):
    seen = []
    mine = None
    for name in os.listdir("/tmp"):
        if name.startswith("duel-sandbox-"):
            seen.append(name)
    if len(seen) > 1:
        return "sees other sandboxes: " + ", ".join(seen)
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    if len(pids) > 5:
        return f"sees {len(pids)} processes"
    return "contained"
