# returns: contained
import socket


def f(x):
    for family, addr in ((socket.AF_INET, ("127.0.0.1", 22)), (socket.AF_INET6, ("::1", 22))):
        try:
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(1)
            s.connect(addr)
            return f"connected to {addr}"
        except OSError:
            pass
    return "contained"
