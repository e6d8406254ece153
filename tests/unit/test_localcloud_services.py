"""The local cloud's backing servers start for real, keep data across restarts and never outlive their owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg
import pytest
import redis

from localcloud import services

INFRA = Path(__file__).resolve().parents[2] / "infra"


def alive(pid: int) -> bool:
    """True if pid exists and is not a zombie (PID 1 on this machine may be slow to reap)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[services.ManagedService]:
    service = services.start_postgres(tmp_path / "pg")
    yield service
    service.stop()


def test_postgres_has_pgvector(pg: services.ManagedService) -> None:
    # GIVEN a freshly initialised postgres
    # WHEN the vector extension is created and a vector is stored
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        conn.execute("CREATE TABLE emb (id int PRIMARY KEY, v vector(3))")
        conn.execute("INSERT INTO emb VALUES (1, '[1,2.5,3]')")
        row = conn.execute("SELECT v::text, v <-> '[1,2.5,4]' FROM emb").fetchone()
    # THEN it round-trips, and the server runs with the dev settings in the warroom database
    assert row == ("[1,2.5,3]", 1.0)
    assert pg.url.endswith("/warroom")
    with psycopg.connect(pg.url) as conn:
        assert conn.execute("SHOW fsync").fetchone() == ("off",)
        assert conn.execute("SHOW max_connections").fetchone() == ("200",)


def test_postgres_keeps_data_across_stop_and_start(tmp_path: Path) -> None:
    # GIVEN a postgres with a table holding rows
    first = services.start_postgres(tmp_path / "pg")
    with psycopg.connect(first.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t SELECT generate_series(1, 3)")
    # WHEN it is stopped (an outage) and started again on the same data dir
    first.stop()
    first.stop()  # idempotent
    assert not first.is_running() and not alive(first.pid)
    second = services.start_postgres(tmp_path / "pg")
    try:
        # THEN the rows are still there
        with psycopg.connect(second.url) as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (3,)
    finally:
        second.stop()


def test_postgres_recovers_from_a_killed_postmaster(pg: services.ManagedService, tmp_path: Path) -> None:
    # GIVEN a postmaster killed hard, leaving a stale postmaster.pid behind
    os.kill(pg.pid, signal.SIGKILL)
    assert wait_gone(pg.pid)
    assert (tmp_path / "pg" / "postmaster.pid").exists()
    # WHEN postgres is started again on that data dir
    again = services.start_postgres(tmp_path / "pg")
    try:
        # THEN it comes up (after crash recovery)
        with psycopg.connect(again.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        again.stop()


def test_postgres_ignores_a_postmaster_pid_naming_another_program(pg: services.ManagedService, tmp_path: Path) -> None:
    # GIVEN a stopped postgres whose postmaster.pid names a live non-postgres process (pid reuse after a crash)
    pg.stop()
    (tmp_path / "pg" / "postmaster.pid").write_text(f"{os.getpid()}\n{tmp_path / 'pg'}\n")
    # WHEN postgres is started again on that data dir
    again = services.start_postgres(tmp_path / "pg")
    try:
        # THEN it comes up, and the unrelated process is untouched
        with psycopg.connect(again.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        again.stop()


def test_postgres_replaces_a_postgres_still_running_on_the_same_dir(
    pg: services.ManagedService, tmp_path: Path
) -> None:
    # GIVEN a postgres running on a data dir
    # WHEN another postgres is started on the same data dir
    replacement = services.start_postgres(tmp_path / "pg")
    try:
        # THEN the old one was shut down and the new one serves
        assert wait_gone(pg.pid)
        with psycopg.connect(replacement.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        replacement.stop()


def test_no_postmaster_survives_a_sigkilled_owner(tmp_path: Path) -> None:
    # GIVEN a separate Python process that started postgres (as embedded_postgres when we are root)
    script = f"""
        import sys, time
        from pathlib import Path
        sys.path.insert(0, {str(INFRA)!r})
        from localcloud.services import start_postgres
        pg = start_postgres(Path({str(tmp_path / "pg")!r}))
        print(pg.pid, flush=True)
        time.sleep(120)
    """
    owner = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], stdout=subprocess.PIPE, text=True)
    try:
        postmaster = int(owner.stdout.readline())
        assert alive(postmaster)
        if os.geteuid() == 0:
            assert Path(f"/proc/{postmaster}").stat().st_uid != 0
        # WHEN the owner is SIGKILLed (no chance to clean up)
        owner.kill()
        owner.wait()
        # THEN the postmaster goes away on its own (PR_SET_PDEATHSIG survived the uid switch)
        assert wait_gone(postmaster, timeout_s=5)
    finally:
        owner.kill()
        owner.wait()


def test_redis_set_get_and_stop(tmp_path: Path) -> None:
    # GIVEN a redis server
    service = services.start_redis(tmp_path / "redis")
    try:
        # WHEN a key is set
        client = redis.Redis.from_url(service.url)
        client.set("k", "v")
        # THEN it can be read back
        assert client.get("k") == b"v"
        client.close()
    finally:
        # WHEN it is stopped THEN no process is left
        service.stop()
        service.stop()
    assert not service.is_running() and wait_gone(service.pid)


def test_a_server_started_from_a_short_lived_thread_outlives_the_thread(tmp_path: Path) -> None:
    # GIVEN redis started from a worker thread (pdeathsig follows the forking *thread*)
    started: list[services.ManagedService] = []
    worker = threading.Thread(target=lambda: started.append(services.start_redis(tmp_path / "redis")))
    worker.start()
    # WHEN that thread ends
    worker.join()
    try:
        time.sleep(0.3)
        # THEN the server still runs
        assert started[0].is_running()
        assert redis.Redis.from_url(started[0].url).ping()
    finally:
        started[0].stop()


def test_moto_serves_s3(tmp_path: Path) -> None:
    # GIVEN a moto server
    service = services.start_moto()
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=service.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        # WHEN a bucket is created
        s3.create_bucket(Bucket="warroom-media")
        # THEN it is listed (moto's backend is per process: other tests' buckets may be listed too)
        assert "warroom-media" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        service.stop()
        service.stop()
    assert not service.is_running()


def test_free_port_is_bindable() -> None:
    # GIVEN / WHEN a free port is asked for
    port = services.free_port()
    # THEN it is a usable unprivileged port
    assert 1024 < port < 65536
