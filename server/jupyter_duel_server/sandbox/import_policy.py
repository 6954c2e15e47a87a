"""The import policy: a friendly teaching refusal, NOT a security boundary.

It reads the code's AST and refuses, with a message a student understands, imports of modules a duel never
needs (``os``, ``sys``, ``subprocess``, ``socket``, ``ctypes``...). It is trivially bypassed
(``__import__``, ``importlib``, ``builtins`` reached through ``object.__subclasses__()``, ``exec`` of a string):
that is expected. The boundary is the OS sandbox (namespaces, seccomp, cgroups, rlimits), which contains
whatever gets past this check; the hostile test corpus checks exactly that.
"""

from __future__ import annotations

import ast

from traitlets import List, Unicode
from traitlets.config import Configurable

DEFAULT_BLOCKED = [
    "os", "sys", "subprocess", "socket", "ctypes", "cffi", "multiprocessing", "threading", "_thread", "signal",
    "shutil", "pathlib", "importlib", "builtins", "gc", "inspect", "resource", "mmap", "fcntl", "pty", "select",
    "selectors", "asyncio", "urllib", "http", "ftplib", "smtplib", "telnetlib", "ssl", "pickle", "marshal",
    "shelve", "tempfile", "glob", "io", "posix", "pwd", "code", "codeop", "runpy", "zmq", "IPython", "ipykernel",
    "jupyter_client", "jupyter_duel_server",
]


class ImportPolicy(Configurable):
    """AST check of imports; returns a friendly refusal message or None."""

    blocked_modules = List(Unicode(), DEFAULT_BLOCKED, help="Top-level modules a submission may not import "
                                                           "(teaching layer, not a boundary).").tag(config=True)
    extra_blocked_modules = List(Unicode(), help="Added to blocked_modules.").tag(config=True)
    allowed_modules = List(Unicode(), help="Removed from blocked_modules.").tag(config=True)

    def blocked(self) -> set[str]:
        return (set(self.blocked_modules) | set(self.extra_blocked_modules)) - set(self.allowed_modules)

    def check(self, code: str) -> str | None:
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None  # the judge reports the compile error itself
        blocked = self.blocked()
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in blocked:
                    return (f"Line {node.lineno}: importing '{name}' is not allowed in a duel. Your function only "
                            "needs plain Python and safe standard modules such as math, itertools, "
                            "collections, functools, heapq, bisect, re or string.")
        return None
