# returns: still here
import os
import signal

# Every way to name a group of processes from inside: our own process group (kill(0), killpg(getpgrp()), which
# is 0, i.e. also ours, when the group's leader is outside the pid namespace), and every process we may signal
# (kill(-1)). The supervisor outside shares our uid: were it reachable, it would die and take us with it
# (its death kills PID 1 of the sandbox), so getting our own result back proves nothing outside was hit.


def f(x):
    for send in (lambda: os.kill(0, signal.SIGKILL), lambda: os.kill(-1, signal.SIGKILL),
                 lambda: os.killpg(os.getpgrp(), signal.SIGKILL), lambda: os.killpg(0, signal.SIGKILL),
                 lambda: os.kill(0, signal.SIGSTOP), lambda: os.kill(-1, signal.SIGSTOP)):
        try:
            send()
        except OSError:
            pass
    return "still here"
