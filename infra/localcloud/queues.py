"""The local SQS event source mapping: one poller per consumed queue, invoking its function with SQS batches.

Example
-------
>>> poller = QueuePoller(consumer, runtime)  # a QueueConsumer from `read_queue_consumers`
>>> poller.poll_once()                        # receive one batch, invoke, delete what succeeded
BatchOutcome(records=3, failed=1, error=None)
>>> poller.start(); ...; poller.stop()        # or poll on a daemon thread until stopped

As Lambda's pollers do: long-poll for up to ``min(BatchSize, 10)`` messages with every attribute, hand the function
the real SQS event, then delete nothing if it raised or timed out (the messages come back after the queue's
visibility timeout), delete all but the reported ones if it answered ``{"batchItemFailures": [...]}`` and the event
source has ``FunctionResponseTypes: [ReportBatchItemFailures]``, and delete all otherwise. Moving a message to the
dead-letter queue after ``maxReceiveCount`` receives is the emulator's job (moto and LocalStack do it). Messages are
never filtered here: skipping S3's ``s3:TestEvent`` is the consumer's job, in AWS too. One batch at a time per queue.
A batch that arrives once the poller is asked to stop is made visible again at once rather than handled, so a stop
neither waits for a function nor hides messages for the queue's visibility timeout.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from localcloud.lambda_runtime import (
    DEFAULT_REGION,
    FunctionError,
    FunctionTimeout,
    InvocationRecord,
    LambdaRuntime,
    print_invocation,
)
from localcloud.template import QueueConsumer

_log = logging.getLogger("localcloud.queues")
MAX_MESSAGES_PER_RECEIVE = 10  # SQS's own limit
DEFAULT_WAIT_TIME_S = 1  # long polling short enough that stopping takes at most about a second
_RETRY_AFTER_ERROR_S = 2.0


@dataclass(frozen=True)
class BatchOutcome:
    """One batch handled: how many records, how many were left on the queue, and why all were (or None)."""

    records: int
    failed: int
    error: str | None = None


def build_sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The Lambda event for messages as `ReceiveMessage` returns them (with all attributes)."""
    region = queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else DEFAULT_REGION
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes") or {}),
                "messageAttributes": {
                    name: _lambda_message_attribute(value)
                    for name, value in (message.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def failed_message_ids(result: Any, message_ids: Sequence[str]) -> set[str] | None:
    """The ids a partial batch response reports as failed; None when Lambda would count the whole batch as failed.

    As documented for `ReportBatchItemFailures`: no response, a null or empty `batchItemFailures` is full success;
    an item without a string `itemIdentifier`, or with an id not in the batch, fails the whole batch.
    """
    if result is None:
        return set()
    if not isinstance(result, Mapping):
        return None
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    known, failed = set(message_ids), set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
        if not isinstance(identifier, str) or identifier not in known:
            return None
        failed.add(identifier)
    return failed


class QueuePoller:
    """Polls one queue for one function (see the module docstring for what it deletes when)."""

    def __init__(
        self,
        consumer: QueueConsumer,
        runtime: LambdaRuntime,
        *,
        client: Any = None,
        wait_time_s: int = DEFAULT_WAIT_TIME_S,
        on_invocation: Callable[[InvocationRecord], None] | None = None,
    ) -> None:
        self.consumer = consumer
        self.runtime = runtime
        self.wait_time_s = wait_time_s
        self._client = client
        self._queue_url: str | None = None
        self._on_invocation = on_invocation or print_invocation
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            region = self.consumer.queue_arn.split(":")[3]
            # The read timeout must outlast the long poll.
            config = Config(read_timeout=self.wait_time_s + 10, retries={"max_attempts": 2, "mode": "standard"})
            self._client = boto3.session.Session().client("sqs", region_name=region, config=config)
        return self._client

    @property
    def queue_url(self) -> str:
        if self._queue_url is None:
            _, _, _, _, account, name = self.consumer.queue_arn.split(":", 5)
            self._queue_url = self.client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return self._queue_url

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the poller is already running")
        name = f"localcloud-sqs-{self.consumer.function}-{self.consumer.name}"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def is_running(self) -> bool:
        """True while the polling thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def request_stop(self) -> None:
        """Ask the polling thread to stop after the current receive, without waiting for it."""
        self._stop.set()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop after the current receive (at most `wait_time_s`) and any batch being processed.

        Waits at most `timeout_s` (default: the long poll plus 5 s); the thread is a daemon, so one still running
        then does not hold up the process's exit.
        """
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s if timeout_s is not None else self.wait_time_s + 5)

    def poll_once(self, wait_time_s: int | None = None) -> BatchOutcome | None:
        """Receive one batch, invoke the function, delete what succeeded; None when the queue had nothing."""
        messages = self._receive_batch(self.wait_time_s if wait_time_s is None else wait_time_s)
        if not messages:
            return None
        return self._process(messages)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self._receive_batch(self.wait_time_s)
                if messages and self._stop.is_set():
                    self._release(messages)
                elif messages:
                    self._process(messages)
            except Exception as error:  # the emulator restarting or gone; keep polling unless stopped
                _log.warning("polling %s for %s failed: %r", self.consumer.queue_name, self.consumer.function, error)
                self._stop.wait(_RETRY_AFTER_ERROR_S)

    def _receive_batch(self, wait_time_s: int) -> list[dict[str, Any]]:
        batch_size = self.consumer.batch_size
        messages = self._receive(min(batch_size, MAX_MESSAGES_PER_RECEIVE), wait_time_s)
        if not messages or self.consumer.max_batching_window_s == 0:
            return messages
        # With a batching window, Lambda keeps gathering until the batch is full or the window has passed.
        deadline = time.monotonic() + self.consumer.max_batching_window_s
        while len(messages) < batch_size and not self._stop.is_set():
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                break
            wanted = min(batch_size - len(messages), MAX_MESSAGES_PER_RECEIVE)
            messages += self._receive(wanted, min(int(remaining_s), wait_time_s))
        return messages

    def _receive(self, count: int, wait_time_s: int) -> list[dict[str, Any]]:
        answer = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_time_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(answer.get("Messages") or [])

    def _process(self, messages: list[dict[str, Any]]) -> BatchOutcome:
        consumer = self.consumer
        event = build_sqs_event(messages, consumer.queue_arn)
        message_ids = [message["MessageId"] for message in messages]
        started = time.perf_counter()
        status, cold_start, request_id, error = 200, False, "-", None
        try:
            execution = self.runtime.execute(consumer.function, event)
            cold_start, request_id = execution.cold_start, execution.request_id
            failed = failed_message_ids(execution.result, message_ids) if consumer.report_batch_item_failures else set()
            if failed is None:
                error = f"invalid partial batch response: {execution.result!r:.200}"
                _log.error("%s (request %s): %s; no message deleted", consumer.function, request_id, error)
        except FunctionTimeout:
            status, failed, error = 504, None, "timed out"
        except FunctionError as raised:  # the runtime logged the traceback
            status, failed, error = 500, None, str(raised)
        if failed is not None:
            self._delete([message for message in messages if message["MessageId"] not in failed])
        outcome = BatchOutcome(len(messages), len(messages) if failed is None else len(failed), error)
        self._on_invocation(
            InvocationRecord(
                function=consumer.function,
                trigger="sqs",
                method=consumer.queue_name,
                path=f"{outcome.records} record(s), {outcome.failed} failed",
                status=status,
                duration_ms=(time.perf_counter() - started) * 1000,
                cold_start=cold_start,
                request_id=request_id,
            )
        )
        return outcome

    def _release(self, messages: list[dict[str, Any]]) -> None:
        """Make received messages visible again now (visibility timeout 0), for the next consumer."""
        for start in range(0, len(messages), MAX_MESSAGES_PER_RECEIVE):
            chunk = messages[start : start + MAX_MESSAGES_PER_RECEIVE]
            entries = [
                {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for index, m in enumerate(chunk)
            ]
            self.client.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=entries)

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), MAX_MESSAGES_PER_RECEIVE):
            chunk = messages[start : start + MAX_MESSAGES_PER_RECEIVE]
            entries = [{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(chunk)]
            answer = self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            for failure in answer.get("Failed") or []:
                # e.g. the visibility timeout passed during the invocation: the message will be delivered again
                _log.warning("could not delete a message from %s: %s", self.consumer.queue_name, failure)


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A `ReceiveMessage` message attribute in the camel-cased shape of the Lambda event."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    attribute["stringListValues"] = list(value.get("StringListValues") or [])
    attribute["binaryListValues"] = [base64.b64encode(item).decode() for item in value.get("BinaryListValues") or []]
    attribute["dataType"] = value["DataType"]
    return attribute
