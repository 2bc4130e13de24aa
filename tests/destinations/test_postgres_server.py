"""The throwaway PostgreSQL helper: it serves SQL on 127.0.0.1, cleans up after itself, and fails loudly."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import psycopg2
import pytest

from scripts.postgres_server import PostgresServer, PostgresStartError


def test_server_serves_the_database_with_byte_order_text_and_is_deleted_on_stop():
    with PostgresServer() as pg:
        con = psycopg2.connect(**pg.settings(), connect_timeout=10)
        try:
            with con.cursor() as cur:
                cur.execute("select current_database(), current_setting('listen_addresses'), 'B' < 'a'")
                assert cur.fetchall() == [("personal_data", "127.0.0.1", True)]
        finally:
            con.close()
        assert f":{pg.port}/personal_data" in pg.env()["DESTINATION__POSTGRES__CREDENTIALS"]
        root = pg.root
    assert not root.exists()


def test_a_server_that_cannot_start_raises_with_its_output():
    # a directory the postgres OS user can read (runuser drops to it when we are root)
    bin_dir = Path(tempfile.mkdtemp(prefix="fake-pg-bin-"))
    try:
        os.chmod(bin_dir, 0o755)
        initdb = bin_dir / "initdb"
        initdb.write_text("#!/bin/sh\necho 'initdb: disk on fire' >&2\nexit 1\n")
        initdb.chmod(0o755)
        server = PostgresServer(bin_dir=bin_dir)
        with pytest.raises(PostgresStartError, match="initdb failed") as failed:
            server.start()
        assert "disk on fire" in failed.value.log
        assert not server.root.exists()
        with pytest.raises(PostgresStartError, match="no initdb"):
            PostgresServer(bin_dir=bin_dir / "missing").start()
    finally:
        shutil.rmtree(bin_dir)
