"""Runs one submission inside the sandboxed kernel. Untrusted side: it never sees expected results.

The judge sends one ``execute_request`` whose code calls :func:`run` with a JSON payload
``{"code", "function", "inputs", "output_limit"}``. Results are published on iopub as ``display_data`` with the
MIME type :data:`MIME`, in the same message shapes as the subprocess harness (``harness.py``):
``{"ready": true}`` or ``{"setup": "error"|"output_limit", "error"}``, then one
``{"i", "status", "value", "error", "time_ms"}`` per input (values encoded with ``jupyter_duel_server.codec``).

Nothing here is trusted by the judge: the submission runs in this same process and may replace any of it
(json, builtins, the display machinery). The judge parses every message defensively and treats anything
malformed as a runtime error of the submission.
"""

import builtins
import io
import json
import linecache
import sys
import time

# The pieces both harnesses share: the capped output sink and the student-facing traceback.
from jupyter_duel_server.harness import FILENAME, MAX_ERROR_CHARS, CappedSink, OutputLimitExceeded, format_error  # noqa: E402,F401

MIME = "application/vnd.jupyter-duel.result+json"


def run(payload_json):
    from ipykernel.kernelbase import Kernel

    from jupyter_duel_server import codec

    payload = json.loads(payload_json)
    limit = int(payload["output_limit"])
    kernel = Kernel.instance()
    parent = kernel.get_parent("shell")

    def send(message):
        kernel.session.send(kernel.iopub_socket, "display_data",
                            {"data": {MIME: message}, "metadata": {}, "transient": {}}, parent=parent,
                            ident=kernel._topic("display_data"))

    sink = CappedSink(limit)
    sys.stdout = sink
    sys.stderr = sink
    sys.stdin = io.StringIO("")
    code = payload["code"]
    function = payload["function"]
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    namespace = {"__name__": "solution", "__builtins__": builtins}
    try:
        exec(compile(code, FILENAME, "exec", dont_inherit=True), namespace)
        fn = namespace.get(function)
        if not callable(fn):
            raise NameError(f"the code does not define a function named {function!r} (expected 'def {function}(...):')")
    except BaseException as e:  # noqa: BLE001 - anything the submission does is reported, not propagated
        if sink.exceeded:
            send({"setup": "output_limit", "error": f"the code printed more than {limit} bytes"})
        else:
            send({"setup": "error", "error": format_error(e)})
        return
    send({"ready": True})
    for index, encoded_args in enumerate(payload["inputs"]):
        args = tuple(codec.decode(a) for a in encoded_args)
        sink.reset()
        status, value, error = "ok", None, None
        start = time.perf_counter()
        try:
            result = fn(*args)
        except BaseException as e:  # noqa: BLE001
            status, error = "error", format_error(e)
        elapsed = (time.perf_counter() - start) * 1000.0
        if sink.exceeded:
            status, error = "output_limit", f"the function printed more than {limit} bytes"
        elif status == "ok":
            try:
                value = codec.encode(result)
            except (codec.EncodingError, RecursionError) as e:
                status, error = "error", f"the function returned a value that cannot be judged: {e}"
        message = {"i": index, "status": status, "value": value, "error": error, "time_ms": elapsed}
        try:
            size = len(json.dumps(message, ensure_ascii=False, allow_nan=False))
        except (ValueError, RecursionError) as e:
            message = {"i": index, "status": "error", "value": None, "error": str(e), "time_ms": elapsed}
            size = 0
        if size > limit:
            message = {"i": index, "status": "output_limit", "value": None, "time_ms": elapsed,
                       "error": f"the returned value is larger than {limit} bytes"}
        send(message)
