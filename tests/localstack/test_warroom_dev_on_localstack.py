"""``warroom dev --aws localstack``: the whole local cloud with LocalStack as its AWS, driven from outside."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg.rows import dict_row

from localcloud.cli import DEFAULT_STACK_NAME
from tests.e2e.conftest import start_local_cloud
from tests.localstack.conftest import localstack_session

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _document_row(database_url: str, bucket: str, key: str, timeout_s: float = 30) -> dict | None:
    """The ``documents`` row DocumentIngestFunction registers and processes for the object (None on timeout)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with psycopg.connect(database_url, row_factory=dict_row) as conn:
            row = conn.execute(
                "SELECT status, size_bytes, file_path FROM documents WHERE s3_bucket = %s AND s3_key = %s",
                (bucket, key),
            ).fetchone()
        if row and row["status"] not in ("uploaded", "processing"):  # registered, then processed
            return row
        time.sleep(0.3)
    return None


def _printed_example(log: str) -> list[str]:
    """The two lines of Python `warroom dev` printed once ready (from ``from localstack_client...`` on)."""
    lines = log.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("from localstack_client"))
    return lines[start : start + 2]


def test_warroom_dev_on_localstack_registers_an_upload_through_s3_and_sqs(localstack, tmp_path, monkeypatch):
    # GIVEN `warroom dev --aws localstack` with nothing set in the environment (it starts its own LocalStack)
    cloud = start_local_cloud(tmp_path / "dev", "--no-reload", "--aws", "localstack")
    runtime = cloud.runtime
    try:
        endpoint = runtime["AWS_ENDPOINT_URL"]
        # WHEN the dashboard asks for health
        health = cloud.client.get("/api/v1/health").json()
        # THEN AWS is up, and it is that instance's LocalStack, with the template's queue at a path-style URL
        assert health["dependencies"]["aws"]["status"] == "up"
        assert endpoint != localstack.url
        assert f"started localstack at {endpoint}" in cloud.log()
        assert _alive(runtime["pids"]["localstack"])
        aws = localstack_session(endpoint)  # LocalStack's own client, told that instance's host and port
        sqs = aws.client("sqs")
        queue_url = sqs.get_queue_url(QueueName=f"{DEFAULT_STACK_NAME}-DocumentQueue")["QueueUrl"]
        assert queue_url == f"{endpoint}/queue/us-east-1/000000000000/{DEFAULT_STACK_NAME}-DocumentQueue"
        # AND the queue redrives to its DLQ, which is empty
        dlq_url = sqs.get_queue_url(QueueName=f"{DEFAULT_STACK_NAME}-DocumentDeadLetterQueue")["QueueUrl"]
        dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn", "ApproximateNumberOfMessages"])
        redrive = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
        assert json.loads(redrive["RedrivePolicy"])["deadLetterTargetArn"] == dlq["Attributes"]["QueueArn"]
        assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "0"

        # WHEN the example it printed once ready is run as a developer would, with nothing in the environment
        example = _printed_example(cloud.log())
        for variable in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.delenv(variable, raising=False)
        namespace: dict = {}
        exec(example[0], namespace)
        queues = eval(example[1], namespace)
        # THEN it names that instance's port and lists the template's queues
        assert f'localstack_host="{urlsplit(endpoint).netloc}"' in example[1]
        assert {queue_url, dlq_url} <= set(queues["QueueUrls"])

        # WHEN a document is uploaded to the template's uploads bucket
        bucket = f"{DEFAULT_STACK_NAME}-UploadsBucket".lower()
        key = f"documents/e2e-{time.time_ns()}.txt"
        aws.client("s3").put_object(Bucket=bucket, Key=key, Body=b"Rally moved to Saturday.")

        # THEN LocalStack's ObjectCreated notification reaches DocumentQueue (after S3's s3:TestEvent, which the
        # consumer skips) and DocumentIngestFunction, polled by the local cloud, registers and processes the upload
        row = _document_row(runtime["DATABASE_URL"], bucket, key)
        assert row is not None, cloud.log()
        assert (row["status"], row["size_bytes"], row["file_path"]) == ("processed", 24, f"s3://{bucket}/{key}")
    finally:
        # WHEN warroom dev stops
        returncode = cloud.stop()
    # THEN it exits cleanly, and its LocalStack stopped with it
    assert returncode == 0
    assert not _alive(runtime["pids"]["localstack"])
