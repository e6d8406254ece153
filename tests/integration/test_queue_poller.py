"""The local SQS event source against the moto server: what is deleted after a batch, and the redrive to the DLQ."""

from __future__ import annotations

import json
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from localcloud.lambda_runtime import InvocationRecord, LambdaRuntime
from localcloud.queues import QueuePoller
from localcloud.template import FunctionSpec, QueueConsumer

ACCOUNT_ID = "123456789012"
# Handles a batch: records whose body starts with "poison" fail. MODE "report" answers batchItemFailures,
# "raise" raises when any record failed. Every record seen is appended to SEEN (one JSON line per record).
CONSUMER_SOURCE = """
import json

def handler(event, context):
    failed = []
    with open(SEEN, "a") as seen:
        for record in event["Records"]:
            seen.write(json.dumps(record) + "\\n")
            if record["body"].startswith("poison"):
                failed.append({"itemIdentifier": record["messageId"]})
    if failed and MODE == "raise":
        raise RuntimeError(f"{len(failed)} record(s) failed")
    return {"batchItemFailures": failed}
"""


@dataclass
class Queues:
    url: str
    arn: str
    dlq_url: str

    def counts(self, url: str | None = None) -> tuple[int, int]:
        """(visible, in flight) messages of the queue (default: the main one)."""
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=url or self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def queues(backing) -> Iterator[Queues]:
    """A queue with a 1 s visibility timeout redriving to its DLQ after 5 receives, created in the moto server."""
    sqs = boto3.client("sqs")
    name = f"poller-{uuid.uuid4().hex[:8]}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:{name}-dlq"
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive})["QueueUrl"]
    yield Queues(url, f"arn:aws:sqs:us-east-1:{ACCOUNT_ID}:{name}", dlq_url)
    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=dlq_url)


def consumer_runtime(tmp_path: Path, mode: str) -> tuple[LambdaRuntime, Path]:
    seen = tmp_path / "seen.jsonl"
    code = tmp_path / "consumer"
    code.mkdir()
    (code / "app.py").write_text(f"SEEN = {str(seen)!r}\nMODE = {mode!r}\n" + textwrap.dedent(CONSUMER_SOURCE))
    spec = FunctionSpec("ConsumerFunction", code, "app.handler", 3, 128, {}, {})
    return LambdaRuntime({"ConsumerFunction": spec}, {"ConsumerFunction": {}}), seen


def send(queues: Queues, *bodies: str) -> None:
    sqs = boto3.client("sqs")
    for body in bodies:
        sqs.send_message(
            QueueUrl=queues.url,
            MessageBody=body,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
        )


def seen_bodies(seen: Path) -> list[str]:
    return [json.loads(line)["body"] for line in seen.read_text().splitlines()] if seen.exists() else []


@pytest.mark.parametrize(
    ("mode", "reports_failures", "left_in_flight"),
    [
        ("report", True, 1),  # only the poison message stays, to be redelivered
        ("report", False, 0),  # without ReportBatchItemFailures the answer is ignored: all deleted
        ("raise", True, 3),  # the function raised: nothing deleted
    ],
)
def test_a_batch_deletes_what_lambda_would(tmp_path, queues, mode: str, reports_failures: bool, left_in_flight: int):
    # GIVEN three messages, one of them poison, and a consumer of the queue
    runtime, seen = consumer_runtime(tmp_path, mode)
    records: list[InvocationRecord] = []
    consumer = QueueConsumer("ConsumerFunction", "Jobs", queues.arn, report_batch_item_failures=reports_failures)
    poller = QueuePoller(consumer, runtime, on_invocation=records.append)
    send(queues, "good-1", "poison-1", "good-2")

    # WHEN one batch is polled and handled
    outcome = poller.poll_once()
    runtime.close()

    # THEN the function got all three in one SQS event, with their attributes
    assert outcome is not None and outcome.records == 3
    event_records = [json.loads(line) for line in seen.read_text().splitlines()]
    assert sorted(r["body"] for r in event_records) == ["good-1", "good-2", "poison-1"]
    assert all(r["eventSource"] == "aws:sqs" and r["eventSourceARN"] == queues.arn for r in event_records)
    assert all(r["attributes"]["ApproximateReceiveCount"] == "1" for r in event_records)
    assert all(r["messageAttributes"]["kind"]["stringValue"] == "test" for r in event_records)
    # AND exactly the messages Lambda would keep are left on the queue (invisible until the timeout passes)
    assert queues.counts() == (0, left_in_flight)
    assert outcome.failed == left_in_flight
    # AND the batch was logged once, as an sqs trigger with its counts
    (record,) = records
    assert (record.function, record.trigger, record.status) == (
        "ConsumerFunction",
        "sqs",
        500 if mode == "raise" else 200,
    )
    assert record.path == f"3 record(s), {left_in_flight} failed"


def test_a_poison_message_reaches_the_dlq_after_five_receives(tmp_path, queues):
    # GIVEN a poller on the queue (1 s visibility timeout, maxReceiveCount 5) and a message that always fails
    runtime, seen = consumer_runtime(tmp_path, "report")
    consumer = QueueConsumer("ConsumerFunction", "Jobs", queues.arn, report_batch_item_failures=True)
    poller = QueuePoller(consumer, runtime, on_invocation=lambda record: None)
    send(queues, "poison-pill", "good")

    # WHEN the poller runs until the message shows up in the dead-letter queue
    poller.start()
    try:
        deadline = time.monotonic() + 60  # bounds a failure only
        while queues.counts(queues.dlq_url)[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        poller.stop()
        runtime.close()

    # THEN the function saw it five times, then the emulator moved it to the DLQ, and the good one was handled once
    assert seen_bodies(seen).count("poison-pill") == 5
    assert seen_bodies(seen).count("good") == 1
    (dead,) = boto3.client("sqs").receive_message(QueueUrl=queues.dlq_url, AttributeNames=["All"], WaitTimeSeconds=0)[
        "Messages"
    ]
    assert dead["Body"] == "poison-pill"
    assert queues.counts() == (0, 0)


def test_a_stopped_poller_hands_back_what_its_last_long_poll_receives(tmp_path, queues):
    # GIVEN a poller long-polling an empty queue whose messages, once received, stay hidden for 10 minutes
    boto3.client("sqs").set_queue_attributes(QueueUrl=queues.url, Attributes={"VisibilityTimeout": "600"})
    runtime, seen = consumer_runtime(tmp_path, "report")
    poller = QueuePoller(QueueConsumer("ConsumerFunction", "Jobs", queues.arn), runtime)
    poller.start()

    # WHEN it is asked to stop and a message arrives during its last long poll
    poller.request_stop()
    send(queues, "late")
    poller.stop()
    runtime.close()

    # THEN its thread has ended, the function never got the message, and the message is visible again at once
    # (not hidden for the visibility timeout by a consumer that has gone)
    assert not poller.is_running()
    assert seen_bodies(seen) == []
    assert queues.counts() == (1, 0)
