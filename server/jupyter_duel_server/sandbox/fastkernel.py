"""``DuelKernel``: a minimal ipykernel kernel (ipykernel's ``Kernel`` protocol machinery, no IPython shell).

Why: the judge needs one ``execute_request`` per kernel and nothing of IPython's interactive shell (magics,
history, display hooks, completion). Creating that shell is ~40 ms of CPU per kernel, the largest single cost of
a sandbox, and the throughput target (>= 20 verdicts/s on 2 cores) leaves ~100 ms of CPU for everything. This
is the "wrapper kernel" pattern ipykernel documents; it still speaks the full Jupyter messaging protocol over
the same sockets, started by the same ``IPKernelApp``. ``KernelSandboxRunner.kernel_class`` selects the full
``ipykernel.ipkernel.IPythonKernel`` instead.
"""

from __future__ import annotations

import sys
import traceback

from ipykernel.kernelbase import Kernel


class DuelKernel(Kernel):
    implementation = "jupyter-duel"
    implementation_version = "1.0"
    banner = "jupyter-duel judge kernel"
    language_info = {
        "name": "python",
        "version": sys.version.split()[0],
        "mimetype": "text/x-python",
        "file_extension": ".py",
    }

    async def do_execute(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False,
                         *, cell_meta=None, cell_id=None):
        namespace = {"__name__": "__main__"}
        try:
            exec(compile(code, "<cell>", "exec"), namespace)
        except BaseException as e:  # noqa: BLE001 - reported to the client, like any kernel
            tb = traceback.format_exception(type(e), e, e.__traceback__)
            content = {"status": "error", "ename": type(e).__name__, "evalue": str(e), "traceback": tb}
            self.send_response(self.iopub_socket, "error", content)
            return {**content, "execution_count": self.execution_count}
        return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}


def serve(connection_file: str, kernel_class: type[Kernel] = DuelKernel) -> None:
    """Run ``kernel_class`` on the shell and iopub channels of ``connection_file``; never returns normally.

    The judge's lean replacement for ``IPKernelApp.initialize()`` + ``start()`` (~25 ms of CPU and 8 threads per
    kernel there: command-line parsing, profile directory, config files, pdb set-up, banner, heartbeat, control,
    shell-channel and iopub threads, the subprocess-output pipe). Here: one zmq context, two sockets, ipykernel's
    own ``Kernel`` message handling on the main thread's event loop, and the ``iopub_welcome`` reply to each
    subscription (the judge's readiness signal). No heartbeat, control or stdin channel: the judge sends exactly
    one ``execute_request`` (the harness then talks to the judge over a socket of its own, see
    ``kernel_harness``) and destroys the sandbox from outside. Nothing is printed.
    """
    import json
    import logging

    import zmq
    from jupyter_client.session import Session
    from tornado import ioloop
    from zmq.eventloop.zmqstream import ZMQStream

    with open(connection_file) as f:
        info = json.load(f)
    session = Session(key=info["key"].encode(), signature_scheme=info.get("signature_scheme", "hmac-sha256"),
                      username="kernel", check_pid=False)
    context = zmq.Context()
    shell = context.socket(zmq.ROUTER)
    iopub = context.socket(zmq.XPUB)
    base = f"{info['transport']}://{info['ip']}"
    sep = "-" if info["transport"] == "ipc" else ":"
    for sock, port in ((shell, info["shell_port"]), (iopub, info["iopub_port"])):
        sock.linger = 1000
        sock.bind(f"{base}{sep}{port}")

    def welcome(frame: bytes) -> None:
        if frame[:1] != b"\x01":
            return  # an unsubscription
        topic = bytes(frame[1:])
        msg = {"header": session.msg_header("iopub_welcome"), "parent_header": {}, "metadata": {},
               "content": {"subscription": topic.decode("utf-8", "replace")}, "buffers": []}
        parts = session.serialize(msg)
        iopub.send_multipart([topic, *parts] if topic else parts)

    # Block until the judge's subscription arrives and welcome it, *before* anything else is sent on iopub: a
    # send on the XPUB socket from outside a ZMQStream can swallow the edge-triggered read event of a
    # subscription that arrived just before, leaving it unanswered (a kernel that never looks ready: seen once
    # in ~1000 starts when the welcome was handled by a ZMQStream).
    while True:
        frame = iopub.recv()
        if frame[:1] == b"\x01":
            welcome(frame)
            break
    loop = ioloop.IOLoop.current()
    shell_stream = ZMQStream(shell, loop)
    # Later subscribers (another client) are welcomed too, best effort.
    ZMQStream(iopub, loop).on_recv(lambda frames: [welcome(f) for f in frames])
    log = logging.getLogger("jupyter_duel.kernel")
    log.handlers[:] = [logging.NullHandler()]
    log.propagate = False
    log.setLevel(logging.CRITICAL)
    kernel = kernel_class.instance(session=session, shell_stream=shell_stream, iopub_socket=iopub, log=log)
    kernel.record_ports({"shell_port": info["shell_port"], "iopub_port": info["iopub_port"]})
    kernel.start()
    loop.start()
