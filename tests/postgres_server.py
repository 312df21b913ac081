"""A throw-away PostgreSQL server for the tests: the ``postgres_url`` fixture.

Set ``FORECASTING_TEST_POSTGRES_URL`` (a SQLAlchemy URL, e.g.
``postgresql+psycopg://me@localhost:5432/scratch``) to use a server you already
run; the tests create and drop tables in that database, so give them a scratch one.
Otherwise one server per test session is made with ``initdb`` into a temporary
folder and started with ``pg_ctl`` on 127.0.0.1 (a free port, its unix socket in
the same folder), and stopped and removed at the end; under pytest-xdist each worker
that needs one starts its own (own folder, own port). The binaries are looked up
on PATH, then in ``/usr/lib/postgresql/*/bin`` (Debian's ``postgresql`` package,
which ``.ci/run`` installs). initdb refuses to run as root: as root the server
runs as the ``postgres`` system user. When no server can be had, the tests that
use the fixture skip and say what is missing.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ENV = "FORECASTING_TEST_POSTGRES_URL"
DATABASE = "forecasting_test"


class Unavailable(Exception):
    """No server can be started here; the message says why (the skip reason)."""


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path))


def find_tool(name: str) -> str:
    """Path of a PostgreSQL server binary: PATH first, then the newest Debian install."""
    found = shutil.which(name)
    if found:
        return found
    debian = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    if debian:
        return debian[-1]
    raise Unavailable(
        f"PostgreSQL's {name} is not on PATH nor in /usr/lib/postgresql/*/bin "
        "(install Debian's postgresql, as .ci/run does, or set "
        f"{ENV} to a server's SQLAlchemy URL)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """initdb + pg_ctl in a temporary folder; :meth:`start` returns a SQLAlchemy URL."""

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = find_tool("initdb"), find_tool("pg_ctl")
        self.user = None  # run the binaries as this system user (root only)
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and there is no 'postgres' system user "
                                  "to run initdb as (Debian's postgresql package creates it)") from None
        self.root = Path(tempfile.mkdtemp(prefix="forecasting-pg-"))
        self.data = self.root / "data"
        self.port: int | None = None
        if self.user:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [*args]
        if self.user:
            command = ["runuser", "-u", "postgres", "--", *command]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "LC_ALL": "C"}, cwd=self.root)
        except OSError as exc:  # runuser missing, binary not executable...
            raise Unavailable(f"cannot run {command[0]}: {exc}") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise Unavailable(f"{Path(args[0]).name} failed: {' / '.join(tail)}")

    def start(self) -> str:
        # --no-sync and fsync=off: a test server needs no durability, and both save seconds.
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--no-locale", "--no-sync")
        for attempt in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                       f"-c unix_socket_directories={self.root} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off")
            try:
                self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "server.log"),
                          "-o", options, "-w", "-t", "30", "start")
                break
            except Unavailable:
                if attempt == 2:
                    log = (self.root / "server.log")
                    tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
                    raise Unavailable("pg_ctl could not start the server: " + " / ".join(tail)) from None
        self._create_database()
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _create_database(self) -> None:
        import psycopg

        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                                 autocommit=True, connect_timeout=10) as con:
                con.execute(f"CREATE DATABASE {DATABASE}")
        except psycopg.Error as exc:
            raise Unavailable(f"the server started but CREATE DATABASE failed: {exc}") from None

    def stop(self) -> None:
        if self.port is not None and (self.data / "postmaster.pid").exists():
            try:
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except (Unavailable, subprocess.TimeoutExpired):
                pass  # removing the folder below still cleans up the files
        shutil.rmtree(self.root, ignore_errors=True)


def _wait_for(url: str, seconds: float = 5) -> None:
    """Connect once (retrying briefly): a URL that does not answer is a skip, not an error."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    deadline = time.monotonic() + seconds
    try:
        while True:
            try:
                with engine.connect() as con:
                    con.execute(sa.text("SELECT 1"))
                return
            except sa.exc.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise Unavailable(f"cannot connect to {ENV}: {str(exc).splitlines()[0]}") from None
                time.sleep(0.2)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """SQLAlchemy URL of an empty PostgreSQL database for this test session."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install 'forecasting[postgres]'")
    url = os.environ.get(ENV)
    if url:
        try:
            _wait_for(url)
        except Unavailable as exc:
            pytest.skip(str(exc))
        yield url
        return
    server = None
    try:
        server = PostgresServer()
        url = server.start()
    except (Unavailable, subprocess.TimeoutExpired) as exc:
        if server is not None:
            server.stop()
        pytest.skip(f"no PostgreSQL server for the tests: {exc}")
    try:
        yield url
    finally:
        server.stop()
