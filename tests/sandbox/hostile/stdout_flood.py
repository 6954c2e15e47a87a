# expect: OLE
def f(x):
    while True:
        print("x" * 4096)
