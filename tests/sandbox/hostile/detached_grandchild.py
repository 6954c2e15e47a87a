# returns: contained
# A double-forked, session-leading grandchild meant to outlive the run: it must be gone afterwards.
import os
import time


def f(x):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            while True:
                time.sleep(1)
        os._exit(0)
    os.wait()
    return "contained"
