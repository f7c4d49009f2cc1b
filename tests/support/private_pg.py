"""A throwaway PostgreSQL cluster (initdb in a temp dir, on a spare port) with our schema, for tests that break or
restart the database: the shared server is never touched."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pytest

from crm_app import migrations
from crm_app.config import normalize_database_url


def _postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(found[-1]) if found else shutil.which("initdb") and os.path.dirname(shutil.which("initdb"))


def _as_postgres(argv: list[str]) -> list[str]:
    """initdb and postgres refuse root: run them as the `postgres` account then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Cluster:
    url: str  # the `crm` database, migrated
    port: int
    bindir: str
    data: str

    def restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, the server comes back on the same port."""
        # -l: the new server writes to its log, not to a pipe of ours that would then never close.
        subprocess.run(_as_postgres([f"{self.bindir}/pg_ctl", "-D", self.data, "-l", f"{self.data}/server.log",
                                     "-m", "fast", "-w", "-t", "60", "restart"]), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """Start the cluster (skips the test where PostgreSQL's server binaries are missing); stop and remove it."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` account to run initdb as")
    data = tempfile.mkdtemp(prefix="crm-pg-")
    if os.geteuid() == 0:
        os.chown(data, account.pw_uid, account.pw_gid)
    port = _free_port()
    subprocess.run(_as_postgres([f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync",
                                 "-E", "UTF8", "--locale=C"]), check=True, capture_output=True)
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-l", f"{data}/server.log", "-w", "-t", "60",
                                 "-o", options, "start"]), check=True, capture_output=True)
    try:
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE crm")
        url = f"postgresql://postgres@127.0.0.1:{port}/crm"
        migrations.upgrade(normalize_database_url(url))
        yield Cluster(url, port, bindir, data)
    finally:
        subprocess.run(_as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)
