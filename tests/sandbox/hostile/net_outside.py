# returns: contained
# 192.0.2.1 is TEST-NET-1: nothing is ever sent anywhere; socket() or connect() must fail at once.
import socket
import time


def f(x):
    start = time.monotonic()
    try:
        s = socket.create_connection(("192.0.2.1", 80), timeout=2)
        return "connected"
    except OSError:
        pass
    if time.monotonic() - start > 0.5:
        return "connect did not fail instantly"
    return "contained"
