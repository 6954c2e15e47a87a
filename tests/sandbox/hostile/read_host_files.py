# returns: contained
import os


def f(x):
    leaked = []
    for path in ("/etc/shadow", "/etc/passwd.host", "/root/.bash_history", "{REPO}/challenges", "{REPO}/.git",
                 "{REPO}/server", "/work", "/home", "/var/lib", "{TMP}"):
        try:
            if os.path.isdir(path):
                names = os.listdir(path)
                if path == "{TMP}":  # the sandbox's own tmpfs: only its own io directory and kernel dotfiles
                    names = [n for n in names if not n.startswith(("duel-sandbox-", "."))]
                if names and path != "/work":
                    leaked.append(path)
                if path == "/work" and set(names) - {"main"}:
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
