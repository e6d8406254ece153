"""Schedules and SQS event sources: reading them from the template, the events they build, the scheduler firing."""

from __future__ import annotations

import itertools
import json
import textwrap
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from localcloud.lambda_runtime import InvocationRecord, LambdaRuntime
from localcloud.queues import build_sqs_event, failed_message_ids
from localcloud.scheduler import ScaledClock, Scheduler, build_scheduled_event
from localcloud.template import (
    FunctionSpec,
    QueueConsumer,
    ScheduleSpec,
    TemplateError,
    load_template,
    read_functions,
    read_queue_consumers,
    read_schedules,
)
from tests.conftest import load_event
from tests.unit.test_localcloud_template import function_template, write_template

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:warroom-local-JobsQueue"


def resolve_queue_arn(value: Any) -> Any:
    """Resolve `!GetAtt JobsQueue.Arn` as the provisioned stack would."""
    if isinstance(value, dict) and value.get("Fn::GetAtt") in (["JobsQueue", "Arn"], "JobsQueue.Arn"):
        return QUEUE_ARN
    if isinstance(value, dict):
        return {key: resolve_queue_arn(item) for key, item in value.items()}
    return value


def functions_with(tmp_path: Path, events: str) -> dict[str, FunctionSpec]:
    return read_functions(load_template(write_template(tmp_path, function_template(events))), tmp_path)


def test_read_schedules_reads_both_kinds_and_honours_disabled(tmp_path: Path) -> None:
    # GIVEN a function with an EventBridge rule, a disabled one, one with State DISABLED and a Scheduler schedule
    functions = functions_with(
        tmp_path,
        """
        Nightly: {Type: Schedule, Properties: {Schedule: "cron(0 2 * * ? *)", Name: nightly-report}}
        Paused: {Type: Schedule, Properties: {Schedule: rate(5 minutes), Enabled: false}}
        Stopped: {Type: Schedule, Properties: {Schedule: rate(1 hour), State: DISABLED, Input: '{"mode": "full"}'}}
        Morning:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 8 ? * MON-FRI *)
            ScheduleExpressionTimezone: Europe/Madrid
            GroupName: campaign
            EndDate: "2030-01-01T00:00:00Z"
        """,
    )

    # WHEN the schedules are read
    schedules = {schedule.name: schedule for schedule in read_schedules(functions)}

    # THEN each is there with its expression, name and state
    assert schedules["Nightly"] == ScheduleSpec(
        "OnlyFunction", "Nightly", "cron(0 2 * * ? *)", True, "Schedule", "nightly-report"
    )
    assert (schedules["Paused"].enabled, schedules["Stopped"].enabled) == (False, False)
    assert schedules["Stopped"].input == '{"mode": "full"}'
    morning = schedules["Morning"]
    assert (morning.kind, morning.timezone, morning.group_name) == ("ScheduleV2", "Europe/Madrid", "campaign")
    assert morning.end_date == datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ("Bad: {Type: Schedule, Properties: {Schedule: rate(1 minutes)}}\n", r"Bad: 'rate\(1 minutes\)'"),
        ("Bad: {Type: Schedule, Properties: {Schedule: rate(1 day), Enabled: false, State: ENABLED}}\n", "both"),
        ("Bad: {Type: Schedule, Properties: {Schedule: rate(1 day), Input: 'not json'}}\n", "Input must be JSON"),
        ("Bad: {Type: Schedule, Properties: {Name: x}}\n", "Schedule is required"),
        ("Bad: {Type: SQS, Properties: {Queue: arn, BatchSize: 50}}\n", "MaximumBatchingWindowInSeconds"),
        (
            "Bad: {Type: SQS, Properties: {Queue: arn, FunctionResponseTypes: [Everything]}}\n",
            "ReportBatchItemFailures",
        ),
    ],
)
def test_invalid_schedule_and_queue_events_stop_the_read(tmp_path: Path, events: str, message: str) -> None:
    # GIVEN an event AWS would refuse / WHEN the functions are read / THEN it fails, naming the event and why
    template = load_template(write_template(tmp_path, function_template(events)))
    with pytest.raises(TemplateError, match=message):
        read_functions(template, tmp_path)


def test_read_queue_consumers_resolves_the_queue(tmp_path: Path) -> None:
    # GIVEN SQS events, one with partial batch responses and a batching window, one disabled
    functions = functions_with(
        tmp_path,
        """
        Jobs:
          Type: SQS
          Properties:
            Queue: !GetAtt JobsQueue.Arn
            BatchSize: 25
            MaximumBatchingWindowInSeconds: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig: {MaximumConcurrency: 5}
        Old: {Type: SQS, Properties: {Queue: !GetAtt JobsQueue.Arn, Enabled: false}}
        """,
    )

    # WHEN the consumers are read with the stack's resolver
    consumers = {consumer.name: consumer for consumer in read_queue_consumers(functions, resolve_queue_arn)}

    # THEN the queue ARN is resolved and the mapping's settings are kept (SQS defaults where unset)
    assert consumers["Jobs"] == QueueConsumer("OnlyFunction", "Jobs", QUEUE_ARN, 25, True, 2, True, 5)
    assert consumers["Old"] == QueueConsumer("OnlyFunction", "Old", QUEUE_ARN, 10, False, 0, False)
    assert consumers["Jobs"].queue_name == "warroom-local-JobsQueue"
    # AND without a resolver the intrinsic is refused rather than guessed
    with pytest.raises(TemplateError, match="Queue"):
        read_queue_consumers(functions)


def test_scheduled_events_have_eventbridge_shapes() -> None:
    # GIVEN a rule, a Scheduler schedule and a rule with Input, fired at 08:00 UTC
    fired = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    rule = ScheduleSpec("SweepFunction", "EveryMinute", "rate(1 minute)", True)
    v2 = ScheduleSpec("SweepFunction", "Morning", "cron(0 8 * * ? *)", True, kind="ScheduleV2", group_name="g")
    with_input = ScheduleSpec("SweepFunction", "Full", "rate(1 day)", True, input='{"mode": "full"}')

    # WHEN their events are built
    events = [build_scheduled_event(s, fired, stack_name="warroom-local") for s in (rule, v2, with_input)]

    # THEN the rule's is EventBridge's "Scheduled Event", the schedule's EventBridge Scheduler's, Input is verbatim
    sample = load_event("scheduled_event")  # the shape EventBridge sends, kept in events/
    assert set(events[0]) == set(sample)
    assert {key: type(value) for key, value in events[0].items()} == {key: type(value) for key, value in sample.items()}
    assert events[0]["detail-type"] == "Scheduled Event" and events[0]["source"] == "aws.events"
    assert events[0]["time"] == "2025-01-06T08:00:00Z" and events[0]["detail"] == {}
    assert events[0]["resources"] == [
        "arn:aws:events:us-east-1:123456789012:rule/warroom-local-SweepFunctionEveryMinute"
    ]
    assert events[1]["source"] == "aws.scheduler" and events[1]["detail"] == "{}"
    assert events[1]["resources"] == ["arn:aws:scheduler:us-east-1:123456789012:schedule/g/SweepFunctionMorning"]
    assert events[2] == {"mode": "full"}


def test_sqs_event_has_the_lambda_shape() -> None:
    # GIVEN a message as ReceiveMessage returns it, with attributes
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "handle-1",
        "MD5OfBody": "5d41402abc4b2a76b9719d911017c592",
        "Body": "hello",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1736150400123", "SenderId": "AIDA"},
        "MessageAttributes": {
            "kind": {"StringValue": "upload", "DataType": "String"},
            "blob": {"BinaryValue": b"\x00\x01", "DataType": "Binary"},
        },
    }

    # WHEN the Lambda event is built
    event = build_sqs_event([message], QUEUE_ARN)

    # THEN it is the SQS event Lambda delivers
    (record,) = event["Records"]
    assert record["messageId"] == "m-1" and record["receiptHandle"] == "handle-1" and record["body"] == "hello"
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "upload",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == ("aws:sqs", QUEUE_ARN, "us-east-1")
    assert record["md5OfBody"] == "5d41402abc4b2a76b9719d911017c592"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, None),  # not in the batch: the whole batch failed
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"id": "b"}]}, None),
        ("not an object", None),
    ],
)
def test_partial_batch_responses_are_read_as_lambda_reads_them(result: Any, expected: set[str] | None) -> None:
    # GIVEN a handler's answer to a batch of messages a, b, c / WHEN read / THEN Lambda's documented outcome
    assert failed_message_ids(result, ["a", "b", "c"]) == expected


@pytest.fixture
def tick_runtime(tmp_path: Path) -> Callable[..., tuple[LambdaRuntime, Path]]:
    """A runtime with one function, `Tick`, that appends each event to a file; `fail=True` makes it raise."""

    def make(fail: bool = False) -> tuple[LambdaRuntime, Path]:
        log = tmp_path / "events.jsonl"
        (tmp_path / "tick").mkdir()
        (tmp_path / "tick" / "app.py").write_text(
            textwrap.dedent(
                f"""
                import json

                def handler(event, context):
                    with open({str(log)!r}, "a") as out:
                        out.write(json.dumps(event) + "\\n")
                    if {fail!r}:
                        raise RuntimeError("tick failed")
                    return {{"ok": True}}
                """
            )
        )
        spec = FunctionSpec("Tick", tmp_path / "tick", "app.handler", 3, 128, {}, {})
        return LambdaRuntime({"Tick": spec}, {"Tick": {}}), log

    return make


def _wait_for(condition: Callable[[], bool], timeout_s: float = 5) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("fail", [False, True])
def test_scheduler_fires_due_schedules_on_a_fast_clock(tick_runtime, fail: bool) -> None:
    # GIVEN a function scheduled every minute, a disabled schedule, and a clock 600x faster (a minute is 0.1 s)
    runtime, log = tick_runtime(fail=fail)
    records: list[InvocationRecord] = []
    lock = threading.Lock()

    def on_invocation(record: InvocationRecord) -> None:
        with lock:
            records.append(record)

    schedules = [
        ScheduleSpec("Tick", "EveryMinute", "rate(1 minute)", True),
        ScheduleSpec("Tick", "Paused", "rate(1 minute)", False),
    ]
    scheduler = Scheduler(schedules, runtime, stack_name="test", clock=ScaledClock(600), on_invocation=on_invocation)

    # WHEN it runs for a few fake minutes
    scheduler.start()
    try:
        _wait_for(lambda: len(records) >= 3)
    finally:
        scheduler.stop()
        runtime.close()

    # THEN the enabled schedule fired each minute with a scheduled event, a failure did not stop it
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(events) >= 3
    assert {event["resources"][0] for event in events} == {
        "arn:aws:events:us-east-1:123456789012:rule/test-TickEveryMinute"
    }
    times = [datetime.fromisoformat(event["time"].replace("Z", "+00:00")) for event in events[:3]]
    assert [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)] == [60, 60]
    # AND each invocation was logged as a schedule trigger with its status
    assert {(r.function, r.trigger, r.method, r.path) for r in records} == {
        ("Tick", "schedule", "EveryMinute", "rate(1 minute)")
    }
    assert {r.status for r in records} == ({500} if fail else {200})


def test_scheduler_fire_invokes_one_schedule_now(tick_runtime) -> None:
    # GIVEN a daily schedule that will not be due for a long time
    runtime, log = tick_runtime()
    schedule = ScheduleSpec("Tick", "Nightly", "cron(0 2 * * ? *)", True)
    scheduler = Scheduler([schedule], runtime, stack_name="test", on_invocation=lambda record: None)

    # WHEN it is fired by hand
    record = scheduler.fire(schedule)
    runtime.close()

    # THEN the function ran once, now, with the scheduled event
    (event,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record.status == 200 and record.cold_start
    assert event["detail-type"] == "Scheduled Event"
    assert abs(datetime.fromisoformat(event["time"].replace("Z", "+00:00")) - datetime.now(UTC)).total_seconds() < 5
