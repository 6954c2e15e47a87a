# A hostile submission (the tests put the hidden expected values they planted, and secrets of the judge's
# environment, into NEEDLES_HEX, hex-encoded so that this source, which travels in the judge's request, never
# contains them): walk the sandbox's whole visible filesystem, /proc, /sys and /dev aside, for any challenge file
# and any file holding one of those values; read the environment and command line of every visible process.
# Returns "clean", or what it found (the judge shows it as the value returned by the first sample test).
import os
import stat

NEEDLES_HEX = []
CHALLENGE_FILES = {"challenge.toml", "tests.json", "statement.md", "pack.toml"}
# Only with a challenge file next to it (some libraries ship a reference.py of their own).
COMPANION_FILES = {"reference.py", "brute_force.py", "checker.py"}
SKIP = {"/proc", "/sys", "/dev"}
MAX_READ = 2 << 20

_found = None


def _walk():
    needles = [bytes.fromhex(h) for h in NEEDLES_HEX]
    hits = []
    files = dirs = scanned = 0
    stack = ["/"]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        dirs += 1
        names = {e.name for e in entries}
        for e in entries:
            path = os.path.join(d, e.name)
            if path in SKIP:
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(path)
                continue
            files += 1
            if e.name in CHALLENGE_FILES or e.name.endswith((".sqlite", ".sqlite3")) or (
                    e.name in COMPANION_FILES and names & CHALLENGE_FILES):
                hits.append("file " + path)
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_READ or not needles:
                continue
            try:
                with open(path, "rb") as fh:
                    data = fh.read(MAX_READ)
            except OSError:
                continue
            scanned += 1
            if any(n in data for n in needles):
                hits.append("hidden value in " + path)
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        for name in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if any(n in data for n in needles):
                hits.append(f"hidden value in /proc/{pid}/{name}")
    if not hits:
        return f"clean ({dirs} directories, {files} files, {scanned} read)"
    # Hidden values first, then challenge files grouped by directory (the judge shows ~1000 characters).
    values = sorted(h for h in hits if h.startswith("hidden"))
    by_dir = {}
    for h in hits:
        if h.startswith("file "):
            by_dir.setdefault(os.path.dirname(h[5:]), []).append(os.path.basename(h))
    listed = values + [f"{d}/{{{','.join(sorted(n))}}}" for d, n in sorted(by_dir.items())]
    return (f"found {len(hits)}: " + " | ".join(listed))[:950]


def probe(*args):
    global _found
    if _found is None:
        _found = _walk()
    return _found


add = probe  # the bundled add-two
