"""The program that runs a submission inside the child process. Untrusted side: it never sees expected results.

Why a separate file: it is executed by path (``python -I -S harness.py``) so that nothing of the service is
imported next to the submission; it needs only the standard library and ``codec.py``, loaded from this
directory by path. The sandboxed kernel's harness (``sandbox/kernel_harness.py``) runs the same :func:`serve`.

Protocol (:func:`serve`, the same for both harnesses: over stdin/stdout here, over a Unix socket in the kernel):
one JSON line per message, both ways. The judge first writes the set-up
``{"code", "function", "output_limit", "result_limit", "memory_limit"}`` and waits for ``{"ready": true}`` or
``{"setup": "error"|"output_limit"|"memory_limit", "error": text}``. Then, **one test at a time** (a test's input
enters the process only when that test runs, so neither module-level code nor an earlier test can read later
inputs), it writes ``{"i": index, "args": [encoded, ...]}`` and reads the result header
``{"i", "status": "ok"|"error"|"output_limit"|"memory_limit", "error": text|null, "time_ms", "value_bytes"}``,
followed, for ``ok``, by a line holding exactly ``value_bytes`` bytes: the encoded result as JSON text. The value
travels apart from the header so that the judge can bound what it parses on its event loop.

Results go to the process's original stdout, moved to a private file descriptor before the submission runs
(fd 0, 1 and 2 then point at /dev/null, ``sys.stdout``/``sys.stderr`` at a capped in-memory sink, ``sys.stdin``
at an empty stream).
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
MAX_LINE_CHARS = 500


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
    """The traceback from the submission's first frame on (harness frames are the student's noise), each line
    cut at MAX_LINE_CHARS and the whole at MAX_ERROR_CHARS, keeping its start and its end."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != FILENAME:
        tb = tb.tb_next
    try:
        lines = traceback.format_exception(type(exc), exc, tb)
    except BaseException:  # a hostile __str__ must not take the harness down
        lines = [f"{type(exc).__name__} (unprintable)"]
    text = "".join(line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS - 4] + " ...\n" for line in lines)
    return shorten(text, MAX_ERROR_CHARS)


def shorten(text, limit):
    """``text`` if it fits in ``limit`` characters, else its start and its end around a marker."""
    if len(text) <= limit:
        return text
    half = (limit - 7) // 2
    return text[:half] + "\n[...]\n" + text[-half:]


def load_solution(code, function):
    """Execute the code and return its function; raises whatever the code raises (NameError when missing)."""
    linecache.cache[FILENAME] = (len(code), None, code.splitlines(True), FILENAME)
    namespace = {"__name__": "solution", "__builtins__": builtins}
    exec(compile(code, FILENAME, "exec", dont_inherit=True), namespace)
    fn = namespace.get(function)
    if not callable(fn):
        raise NameError(f"the code does not define a function named {function!r} (expected 'def {function}(...):')")
    return fn


def run_test(codec, fn, index, encoded_args, sink, result_limit, memory_message=None):
    """Call ``fn`` on one decoded input: returns ``(header, value_text)``; ``value_text`` is the encoded result
    as JSON text (status ``ok`` only), at most ``result_limit`` bytes."""
    args = tuple(codec.decode(a) for a in encoded_args)
    sink.reset()
    status, error, value_text = "ok", None, None
    start = time.perf_counter()
    try:
        result = fn(*args)
    except MemoryError:
        status, error = ("memory_limit", memory_message) if memory_message else ("error", "MemoryError")
    except BaseException as e:  # noqa: BLE001 - anything the submission does is reported, not propagated
        status, error = "error", format_error(e)
    elapsed = (time.perf_counter() - start) * 1000.0
    if sink.exceeded:
        status, error = "output_limit", f"the function printed more than {sink.limit} bytes"
    elif status == "ok":
        try:
            # ASCII only (lone surrogates escaped): the text's length is its size in bytes.
            value_text = json.dumps(codec.encode(result), ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        except (codec.EncodingError, RecursionError, ValueError) as e:
            status, error = "error", f"the function returned a value that cannot be judged: {e}"
        except MemoryError:
            status, error = ("memory_limit", memory_message) if memory_message else ("error", "MemoryError")
        if value_text is not None and len(value_text) > result_limit:
            status, error, value_text = "error", f"the returned value is larger than {result_limit} bytes", None
    if isinstance(error, str):
        error = shorten(error, MAX_ERROR_CHARS)
    header = {"i": index, "status": status, "error": error, "time_ms": elapsed}
    if value_text is not None:
        header["value_bytes"] = len(value_text)
    return header, value_text


def serve(codec, commands, results):
    """The harness's whole conversation with the judge: ``commands`` (binary, readable) brings the set-up line
    then one test's input at a time; ``results`` (binary, writable) takes the replies. Returns at end of input."""

    def send(message, value_text=None):
        data = json.dumps(message, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode() + b"\n"
        if value_text is not None:
            data += value_text.encode("ascii") + b"\n"
        results.write(data)
        results.flush()

    setup = json.loads(commands.readline())
    sink = CappedSink(int(setup.get("output_limit", 1 << 20)))
    result_limit = int(setup.get("result_limit", 1 << 20))
    sys.stdout = sys.__stdout__ = sink
    sys.stderr = sys.__stderr__ = sink
    sys.stdin = sys.__stdin__ = io.StringIO("")

    memory_limit = int(setup.get("memory_limit", 0))
    if memory_limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    memory_message = (
        f"the code used more than {memory_limit // (1024 * 1024)} MiB of memory" if memory_limit > 0
        else "the code ran out of memory"
    )
    try:
        fn = load_solution(setup["code"], setup["function"])
    except BaseException as e:  # noqa: BLE001 - anything the submission does is reported, not propagated
        if sink.exceeded:
            send({"setup": "output_limit", "error": f"the code printed more than {sink.limit} bytes"})
        elif isinstance(e, MemoryError):
            send({"setup": "memory_limit", "error": memory_message})
        else:
            send({"setup": "error", "error": format_error(e)})
        return
    del setup
    send({"ready": True})

    while True:
        line = commands.readline()
        if not line:
            return
        request = json.loads(line)
        header, value_text = run_test(codec, fn, request["i"], request["args"], sink, result_limit, memory_message)
        del request, line
        try:
            send(header, value_text)
        except (ValueError, RecursionError, MemoryError) as e:
            send({"i": header["i"], "status": "error", "error": str(e)[:200], "time_ms": header["time_ms"]})


def main():
    results = os.fdopen(os.dup(1), "wb", closefd=True)  # dup'ed fds are not inheritable
    commands = os.fdopen(os.dup(0), "rb", closefd=True)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    serve(load_codec(), commands, results)


if __name__ == "__main__":
    main()
    # Skip interpreter teardown: lingering threads or atexit hooks of the submission must not run on.
    sys.stdout = sys.__stdout__ = None
    os._exit(0)
