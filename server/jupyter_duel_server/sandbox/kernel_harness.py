"""Runs one submission inside the sandboxed kernel. Untrusted side: it never sees expected results.

The judge sends one ``execute_request`` whose code calls :func:`run` with the path of a Unix socket the judge
listens on, in the sandbox's io directory. The harness connects to it and speaks the line protocol of the
subprocess harness (:func:`jupyter_duel_server.harness.serve`): the set-up (code, function, limits), then **one
test's input at a time**, each sent by the judge only once the previous test's result has arrived, so that
module-level code and earlier tests cannot read later tests' inputs: they are not in the kernel yet. A result is
a small header line, then the encoded value as a line of JSON text, which the judge bounds before parsing.

Why a socket of its own rather than the kernel's zmq channels: each test now costs a round trip, and a plain
stream between two blocked processes makes it ~40 us where zmq's I/O threads made it ~0.5 ms (benchmarks/judge.py).
The kernel stays an ordinary Jupyter kernel, started and addressed through its connection file.

Nothing here is trusted by the judge: the submission runs in this same process and may replace any of it. The
judge parses every message defensively and within bounds, and treats anything malformed as a runtime error.
"""

import socket

from jupyter_duel_server import codec
from jupyter_duel_server.harness import serve


def run(channel_path):
    channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    channel.connect(channel_path)
    with channel, channel.makefile("rb") as commands, channel.makefile("wb") as results:
        serve(codec, commands, results)
