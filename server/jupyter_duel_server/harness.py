"""The program that runs a submission inside the child process. Untrusted side: it never sees expected results.

Why a separate file: it is executed by path (``python -I -S harness.py``) so that nothing of the service is
imported next to the submission; it needs only the standard library and ``codec.py``, loaded from this
directory by path.

Protocol. stdin carries one JSON object ``{"code", "function", "inputs", "output_limit", "memory_limit"}`` where
``inputs`` is a list of encoded argument lists and ``memory_limit`` an RLIMIT_AS in bytes (0: none). Results go to
the process's original stdout, which is moved to a private file descriptor before the submission runs (fd 0, 1 and 2 then point at /dev/null, ``sys.stdout``/``sys.stderr`` at
a capped in-memory sink, ``sys.stdin`` at an empty stream). One JSON line per message:

- ``{"ready": true}`` once the code has been executed and the function found, or
  ``{"setup": "error"|"output_limit"|"memory_limit", "error": text}`` when that failed (no test line follows);
- then per input ``{"i": index, "status": "ok"|"error"|"output_limit"|"memory_limit", "value": encoded|null,
  "error": text|null, "time_ms": float}``.
"""

import builtins
import importlib.util
import io
import json
import linecache
import os
import resource
import sys
import time
import traceback

FILENAME = "<solution>"
MAX_ERROR_CHARS = 4000


class OutputLimitExceeded(BaseException):
    """Raised by the capped sink; a BaseException so that ``except Exception`` in the submission can't eat it."""


class CappedSink(io.TextIOBase):
    """Where ``print`` goes: counts bytes, keeps nothing, and stops the submission past the limit."""

    def __init__(self, limit):
        self.limit = limit
        self.used = 0
        self.exceeded = False

    def reset(self):
        self.used = 0
        self.exceeded = False

    def writable(self):
        return True

    def flush(self):
        pass

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        self.used += len(s.encode("utf-8", "replace"))
        if self.used > self.limit:
            self.exceeded = True
            raise OutputLimitExceeded(f"the submission printed more than {self.limit} bytes")
        return len(s)

    def isatty(self):
        return False


def load_codec():
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("_duel_codec", os.path.join(here, "codec.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def format_error(exc):
    """The traceback from the submission's first frame on: harness frames are the student's noise."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != FILENAME:
        tb = tb.tb_next
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException:  # a hostile __str__ must not take the harness down
        text = f"{type(exc).__name__} (unprintable)"
    if len(text) > MAX_ERROR_CHARS:
        text = "...\n" + text[-MAX_ERROR_CHARS:]
    return text


def main():
    results = os.fdopen(os.dup(1), "w", encoding="utf-8", closefd=True)  # dup'ed fds are not inheritable
    payload = json.loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)

    def send(message):
        results.write(json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n")
        results.flush()

    codec = load_codec()
    limit = int(payload.get("output_limit", 1 << 20))
    sink = CappedSink(limit)
    sys.stdout = sys.__stdout__ = sink
    sys.stderr = sys.__stderr__ = sink
    sys.stdin = sys.__stdin__ = io.StringIO("")

    memory_limit = int(payload.get("memory_limit", 0))
    if memory_limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    memory_message = (
        f"the code used more than {memory_limit // (1024 * 1024)} MiB of memory" if memory_limit > 0
        else "the code ran out of memory"
    )

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
        elif isinstance(e, MemoryError):
            send({"setup": "memory_limit", "error": memory_message})
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
        except MemoryError:
            status, error = "memory_limit", memory_message
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
            except MemoryError:
                status, error = "memory_limit", memory_message
        message = {"i": index, "status": status, "value": value, "error": error, "time_ms": elapsed}
        try:
            line = json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except (ValueError, RecursionError, MemoryError) as e:
            line = json.dumps({"i": index, "status": "error", "value": None, "error": str(e), "time_ms": elapsed})
        if len(line.encode("utf-8")) > limit:
            message = {"i": index, "status": "output_limit", "value": None, "time_ms": elapsed,
                       "error": f"the returned value is larger than {limit} bytes"}
            line = json.dumps(message)
        results.write(line + "\n")
        results.flush()


if __name__ == "__main__":
    main()
    # Skip interpreter teardown: lingering threads or atexit hooks of the submission must not run on.
    sys.stdout = sys.__stdout__ = None
    os._exit(0)
