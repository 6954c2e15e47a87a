# returns: contained
import os

# The whole visible filesystem holds no challenge file and no database, wherever the judge's interpreter and
# its packs are installed (a pack in {sys.prefix}/share/jupyter/duel/challenges included). The system library
# directories are left out here only to stay within the default CPU limit; tests/install walks them too.
NAMES = {"challenge.toml", "tests.json", "statement.md", "pack.toml"}
SKIP = ("/proc", "/sys", "/dev", "/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32", "/lib", "/lib64")


def f(x):
    found = []
    stack = ["/"]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            path = e.path if d != "/" else "/" + e.name
            if path in SKIP:
                continue
            try:
                is_dir = e.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                stack.append(path)
            elif e.name in NAMES or e.name.endswith((".sqlite", ".sqlite3")):
                found.append(path)
    return "contained" if not found else f"found {len(found)}: " + ", ".join(sorted(found)[:10])
