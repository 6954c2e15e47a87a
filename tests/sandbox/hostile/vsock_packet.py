# returns: contained
# AF_VSOCK is not confined by a network namespace on a VM: only seccomp stops it. AF_PACKET neither.
import socket


def f(x):
    for family, kind in ((40, socket.SOCK_STREAM), (17, socket.SOCK_RAW), (2, socket.SOCK_RAW), (10, socket.SOCK_DGRAM)):
        try:
            s = socket.socket(family, kind)
            return f"opened family {family}"
        except OSError:
            pass
    return "contained"
