# expect: RE
def f(x):
    with open("/tmp/huge", "wb") as out:
        block = b"z" * (1 << 20)
        for _ in range(200):
            out.write(block)
            out.flush()
    return "wrote 200 MB"
