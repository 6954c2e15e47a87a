# returns: contained
import os


def f(x):
    wrote = []
    for path in ("/usr/lib/pwned", "/pwned", "/etc/pwned", "/root/.pyenv/pwned", "/dev/pwned"):
        try:
            with open(path, "w") as fh:
                fh.write("x")
            wrote.append(path)
        except OSError:
            pass
    try:
        os.chmod("/tmp", 0o777)
    except OSError:
        pass
    return "contained" if not wrote else "wrote " + ", ".join(wrote)
