"""A throwaway PostgreSQL server on a temp dir and a free port, for the test suite, `make` targets and people.

Run `python -m scripts.postgres_server` to start one in the foreground: it prints the environment
variables that point dlt (`PIPELINE_DESTINATION=postgres`) and dbt (`--target postgres`) at it,
and stops and deletes it on Ctrl-C.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SUPERUSER = "postgres"
DEFAULT_DB = "personal_data"
# the server trusts every local connection and never checks it, but dlt's postgres credentials require one
PLACEHOLDER_PASSWORD = "trust-auth-unused"
# a throwaway server never needs durability; these settings roughly halve load and dbt times
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class PostgresStartError(RuntimeError):
    """The server did not start; `log` holds the server log (what pytest prints when it fails)."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log


def find_bin_dir() -> Path:
    """Debian puts the server binaries in /usr/lib/postgresql/<version>/bin (not on PATH); PG_BIN overrides."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise PostgresStartError("PostgreSQL server binaries not found: run `make install-system` "
                             "(scripts/install_system_packages.sh) or set PG_BIN")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """`with PostgresServer() as pg:` gives a running server; pg.settings() / pg.env() say how to reach it."""

    dbname: str = DEFAULT_DB
    host: str = "127.0.0.1"
    port: int = 0
    user: str = SUPERUSER
    root: Path | None = None
    bin_dir: Path | None = None
    start_seconds: float = 0.0
    _started: bool = field(default=False, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        # initdb refuses to run as root (and CI runs as root): drop to the postgres OS user there
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)

    def read_log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-6000:]
        except OSError:
            return ""

    def start(self) -> PostgresServer:
        began = time.monotonic()
        self.bin_dir = self.bin_dir or find_bin_dir()
        if not (self.bin_dir / "initdb").exists():
            raise PostgresStartError(f"no initdb in {self.bin_dir}: run `make install-system` or fix PG_BIN")
        self.root = Path(tempfile.mkdtemp(prefix="pg-personal-data-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, SUPERUSER, SUPERUSER)
        # C locale: text sorts by bytes, as in DuckDB and BigQuery, so max()/order by agree across targets
        init = self._run("initdb", "-D", str(self.data_dir), "-U", self.user, "-A", "trust",
                         "-E", "UTF8", "--locale=C", "--no-sync")
        if init.returncode != 0:
            self._cleanup()
            raise PostgresStartError(f"initdb failed (exit {init.returncode})", init.stdout + init.stderr)
        last_error = None
        for _ in range(3):  # the free port can be taken between choosing and binding: retry with another
            self.port = self.port or free_port()
            options = [f"-p {self.port}", f"-c listen_addresses={self.host}",
                       f"-c unix_socket_directories={self.root}", *(f"-c {s}" for s in FAST_SETTINGS)]
            started = self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                                "-o", " ".join(options), "start")
            if started.returncode == 0:
                self._started = True
                break
            last_error = PostgresStartError(f"pg_ctl start failed on port {self.port} (exit {started.returncode})",
                                            started.stdout + started.stderr + "\n" + self.read_log())
            self.port = 0
        else:
            self._cleanup()
            raise last_error
        try:
            self._create_database()
        except Exception as exc:
            log = self.read_log()
            self.stop()
            raise PostgresStartError(f"could not create database {self.dbname}: {exc}", log) from exc
        self.start_seconds = time.monotonic() - began
        return self

    def _create_database(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                self.recreate_database()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def recreate_database(self) -> None:
        """Drops and creates `dbname`: a clean slate between tests without restarting the server."""
        import psycopg2  # imported late: only needed when a server is really used

        con = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname="postgres", connect_timeout=10)
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(f'drop database if exists "{self.dbname}" with (force)')
                cur.execute(f'create database "{self.dbname}"')
        finally:
            con.close()

    def stop(self) -> None:
        if self._started:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop")
            self._started = False
        self._cleanup()

    def _cleanup(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def settings(self) -> dict[str, str | int]:
        return {"host": self.host, "port": self.port, "user": self.user, "dbname": self.dbname}

    @property
    def url(self) -> str:
        # trust auth: the password is a placeholder the server ignores, so nothing secret is in this URL
        return f"postgresql://{self.user}:{PLACEHOLDER_PASSWORD}@{self.host}:{self.port}/{self.dbname}"

    def env(self) -> dict[str, str]:
        """Variables for dlt's postgres destination and dbt's `postgres` target (dbt/profiles.yml)."""
        return {
            "DESTINATION__POSTGRES__CREDENTIALS": self.url,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": PLACEHOLDER_PASSWORD,
            "POSTGRES_DB": self.dbname,
        }


def env_lines(pg: PostgresServer) -> list[str]:
    """`export` lines that point the pipelines (dlt), dbt, `make status` and the dashboard at this server."""
    return ["export PIPELINE_DESTINATION=postgres DBT_TARGET=postgres",
            *(f"export {name}={value}" for name, value in pg.env().items())]


def main() -> int:
    # `kill` (SIGTERM) cleans up like Ctrl-C; either may come at any moment, even while the server starts
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # and Ctrl-C stops it even when started with SIGINT ignored (a background job, a test worker's child): Python
    # installs its Ctrl-C handler only when SIGINT was not ignored at start, and signal.pause() then waited forever
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with PostgresServer() as pg:
            print(f"PostgreSQL on {pg.host}:{pg.port} (data in {pg.root}). It runs until Ctrl-C here, which stops "
                  "it and deletes its data.")
            print("Paste these lines into ANOTHER terminal (or save them in a file and `source` it there), then run "
                  "make targets in that terminal, e.g. `make notion && make dbt-build && make status`:\n")
            print("\n".join(env_lines(pg)), flush=True)
            signal.pause()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except PostgresStartError as exc:
        print(f"{exc}\n{exc.log}")
        raise SystemExit(1) from None
