# expect: TLE
# time_limit: 6
# error_contains: CPU time
import threading


def burn():
    while True:
        pass


def f(x):
    for _ in range(8):
        threading.Thread(target=burn, daemon=True).start()
    burn()
