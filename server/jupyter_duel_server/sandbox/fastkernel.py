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
