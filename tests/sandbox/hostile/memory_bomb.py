# expect: MLE
def f(x):
    chunks = []
    while True:
        chunks.append(bytearray(16 << 20))
