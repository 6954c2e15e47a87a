"""The program that runs a submission inside the child process. Untrusted side: it never sees expected results.

Why a separate file: it is executed by path (``python -I -S harness.py``) so that nothing of the service is
imported next to the submission; it needs only the standard library and ``codec.py``, loaded from this
directory by path. The sandboxed kernel's harness (``sandbox/kernel_harness.py``) runs the same :func:`serve`.

Protocol (:func:`serve`, the same for both harnesses: over stdin/stdout here, over a Unix socket in the kernel):
one JSON line per message, both ways. The judge first writes the set-up
``{"code", "function", "output_limit", "result_limit", "memory_limit", "capture_chars"}`` and waits for
``{"ready": true}`` or ``{"setup": "error"|"output_limit"|"memory_limit", "error": text}``. Then, **one test at a
time** (a test's input enters the process only when that test runs, so neither module-level code nor an earlier
test can read later inputs), it writes ``{"i": index, "args": [encoded, ...], "capture": bool}`` and reads the
result header ``{"i", "status": "ok"|"error"|"output_limit"|"memory_limit", "error": text|null, "time_ms",
"value_bytes", "output_bytes"}``, followed, for ``ok``, by a line holding exactly ``value_bytes`` bytes: the
encoded result as JSON text; then, for a test sent with ``"capture": true``, by a line of exactly
``output_bytes`` bytes: a JSON string of what the test printed (its first ``capture_chars`` characters; the
header's ``output_cut`` says whether more was printed). Value and output travel apart from the header so that
the judge can bound what it parses on its event loop.

Results go to the process's original stdout, moved to a private file descriptor before the submission runs
(fd 0, 1 and 2 then point at /dev/null, ``sys.stdout``/``sys.stderr`` at a capped in-memory sink, ``sys.stdin``
at an empty stream). Printed text therefore never shares a channel with results: whatever a test prints travels
JSON-encoded inside a message the harness writes, and cannot pass for one.
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
    """Where ``print`` goes: counts bytes, stops the submission past the limit, and keeps the first ``keep``
    characters printed since the last reset (``keep`` is set per test: 0, nothing kept, unless it asked)."""

    def __init__(self, limit):
        self.limit = limit
        self.used = 0
        self.exceeded = False
        self.keep = 0
        self.kept = []
        self.kept_chars = 0
        self.cut = False
        self.buffer = _BytesSink(self)

    def reset(self):
        self.used = 0
        self.exceeded = False
        self.kept = []
        self.kept_chars = 0
        self.cut = False

    def output(self):
        """What was kept since the last reset."""
        return "".join(self.kept)

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
        room = self.keep - self.kept_chars
        if room > 0:
            piece = s[:room]
            self.kept.append(piece)
            self.kept_chars += len(piece)
        if len(s) > max(room, 0):
            self.cut = True
        return len(s)

    def isatty(self):
        return False


class _BytesSink(io.RawIOBase):
    """``sys.stdout.buffer``: bytes written there count (and show) as their UTF-8 decoding, bad bytes replaced."""

    def __init__(self, text_sink):
        self._text = text_sink

    def writable(self):
        return True

    def write(self, b):
        data = bytes(b)
        self._text.write(data.decode("utf-8", "replace"))
        return len(data)


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
    as JSON text (status ``ok`` only), at most ``result_limit`` bytes. What the call printed stays in ``sink``."""
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

    def send(message, value_text=None, output_text=None):
        data = json.dumps(message, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode() + b"\n"
        if value_text is not None:
            data += value_text.encode("ascii") + b"\n"
        if output_text is not None:
            data += output_text.encode("ascii") + b"\n"
        results.write(data)
        results.flush()

    setup = json.loads(commands.readline())
    sink = CappedSink(int(setup.get("output_limit", 1 << 20)))
    result_limit = int(setup.get("result_limit", 1 << 20))
    capture_chars = max(0, int(setup.get("capture_chars", 0)))
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
        sink.keep = capture_chars if request.get("capture") is True else 0
        header, value_text = run_test(codec, fn, request["i"], request["args"], sink, result_limit, memory_message)
        output_text = None
        if sink.keep > 0:
            # ASCII JSON (surrogates escaped, never raised on): its length is its size in bytes.
            output_text = json.dumps(sink.output(), ensure_ascii=True)
            header["output_bytes"] = len(output_text)
            header["output_cut"] = sink.cut
        sink.keep = 0
        sink.reset()
        del request, line
        try:
            send(header, value_text, output_text)
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
