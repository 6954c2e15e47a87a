# expect: TLE
# time_limit: 6
# error_contains: CPU time
# A chain of forked children, each burning a little CPU then handing over to a fresh child: per-process
# RLIMIT_CPU never triggers; the cgroup's total CPU accounting does (before the 6 s wall-clock limit).
import os
import time


def chain():
    while True:
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass
        if os.fork() != 0:
            os._exit(0)


def f(x):
    if os.fork() == 0:
        chain()
    time.sleep(60)
