"""A real PostgreSQL server for the tests, on a free port, from Debian's binaries, through pytest-postgresql.

PostgreSQL refuses to run as root. When the tests run as root, the server runs as the unprivileged system user
``duel-pg`` (made by scripts/lib.sh, ``ensure_postgres_test_user``): pg_ctl is called through a two-line wrapper
that ``runuser``s it, and the server's directory (data, socket, log) is a temporary directory owned by that user.
As any other user the server simply runs as that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import tempfile
from pathlib import Path

from pytest_postgresql.executors import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from helpers import free_port

POSTGRES_TEST_USER = "duel-pg"


def pg_ctl_path() -> str:
    """The newest installed PostgreSQL's pg_ctl (scripts/lib.sh installs Debian's ``postgresql``)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("no /usr/lib/postgresql/*/bin/pg_ctl: run scripts/test.sh (it installs postgresql)")
    return found[-1]


class PostgresServer:
    """One PostgreSQL server; ``database()`` gives each test a fresh database on it."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="duel-postgres-"))
        pg_ctl = pg_ctl_path()
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(POSTGRES_TEST_USER)
            except KeyError:
                raise RuntimeError(f"the tests run as root and the system user {POSTGRES_TEST_USER} is missing: "
                                   "run scripts/test.sh (scripts/lib.sh, ensure_postgres_test_user)") from None
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            wrapper = self.dir / "pg_ctl"
            wrapper.write_text(f'#!/bin/sh\nexec runuser -u {POSTGRES_TEST_USER} -- "{pg_ctl}" "$@"\n')
            wrapper.chmod(0o755)
            pg_ctl = str(wrapper)
        self.port = free_port()
        self.executor = PostgreSQLExecutor(
            executable=pg_ctl,
            host="127.0.0.1",
            port=self.port,
            datadir=str(self.dir / "data"),
            unixsocketdir=str(self.dir),
            logfile=str(self.dir / "postgresql.log"),
            startparams="-w",
            dbname="duel",
            user="duel",
            password=None,
        )
        self._count = 0

    def start(self) -> "PostgresServer":
        self.executor.start()
        self.executor.wait_for_postgres()
        return self

    def stop(self) -> None:
        try:
            self.executor.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def database(self) -> tuple[str, DatabaseJanitor]:
        """A new empty database: (its SQLAlchemy URL, the janitor that drops it)."""
        self._count += 1
        name = f"duel_test_{self._count}"
        janitor = DatabaseJanitor(user="duel", host="127.0.0.1", port=self.port, dbname=name,
                                  password=None)
        janitor.init()
        return f"postgresql+psycopg://duel@127.0.0.1:{self.port}/{name}", janitor
