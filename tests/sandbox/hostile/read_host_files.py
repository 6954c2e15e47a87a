# returns: contained
import os
import sys

# The interpreter's own read-only tree is bound in at its host path, so the directories leading to it exist
# (empty but for it) wherever it lives, /tmp or /work included: those are not leaks.
_INTERPRETER = [os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, os.path.dirname(sys.executable))]


def _leads_to_interpreter(path):
    return any(p == path or p.startswith(path.rstrip("/") + "/") for p in _INTERPRETER)


def f(x):
    leaked = []
    for path in ("/etc/shadow", "/etc/passwd.host", "/root/.bash_history", "{REPO}/challenges", "{REPO}/.git",
                 "{REPO}/server", "/work", "/home", "/var/lib", "{TMP}"):
        try:
            if os.path.isdir(path):
                names = [n for n in os.listdir(path) if not _leads_to_interpreter(os.path.join(path, n))]
                if path == "{TMP}":  # the sandbox's own tmpfs: only its own io directory and kernel dotfiles
                    names = [n for n in names if not n.startswith(("duel-sandbox-", "."))]
                if names:
                    leaked.append(path)
            else:
                with open(path, "rb") as fh:
                    fh.read(1)
                leaked.append(path)
        except OSError:
            pass
    for root, dirs, files in os.walk("/"):
        if root.startswith(("/proc", "/usr", "/dev", "/root/.pyenv", "{REPO}/.venv")):
            dirs[:] = []
            continue
        for name in files:
            if name.endswith((".sqlite", ".db", ".yaml", ".toml")) or "challenge" in name:
                leaked.append(os.path.join(root, name))
    return "contained" if not leaked else "leaked: " + ", ".join(leaked)
