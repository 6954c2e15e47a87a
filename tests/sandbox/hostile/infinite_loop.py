# expect: TLE
def f(x):
    while True:
        pass
