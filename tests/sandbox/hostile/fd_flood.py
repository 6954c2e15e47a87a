# expect: OLE
# Writes below Python's sys.stdout, straight to file descriptor 1 (as a child process would).
import os


def f(x):
    block = b"y" * 65536
    while True:
        os.write(1, block)
