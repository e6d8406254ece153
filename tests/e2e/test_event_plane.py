"""``warroom dev``'s event plane end to end: S3 -> SQS -> function, schedules, ``warroom invoke`` and ``trigger``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import psycopg
import pytest

from tests.conftest import EVENTS_DIR, PROJECT_ROOT
from tests.e2e.conftest import _BACKING_VARIABLES, start_local_cloud

pytestmark = pytest.mark.e2e

SAMPLE_EVENT = EVENTS_DIR / "document_ingest_sqs_s3.json"
TICK_FUNCTION = """
  TickFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/tick/
      Handler: app.handler
      Events:
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(1 minute)
        Never:
          Type: Schedule
          Properties:
            Schedule: rate(1 minute)
            Enabled: false
"""
TICK_HANDLER = """
def handler(event, context):
    return {"source": event["source"], "resources": event["resources"], "detail-type": event["detail-type"]}
"""


def warroom(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `warroom` command line as a developer would, without the test session's service variables."""
    env = {k: v for k, v in os.environ.items() if k not in _BACKING_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "localcloud.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=90,
    )


def wait_for_log(cloud, text: str, count: int = 1, timeout_s: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while True:
        lines = [line for line in cloud.log().splitlines() if text in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_an_upload_is_registered_through_s3_sqs_and_the_function(local_cloud):
    # GIVEN the running cloud's S3 (the emulator its runtime.json names) and its uploads bucket
    runtime = local_cloud.runtime
    bucket = runtime["env_by_function"]["DocumentIngestFunction"]["WARROOM_UPLOADS_BUCKET"]
    s3 = boto3.client(
        "s3",
        endpoint_url=runtime["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    # WHEN a document is put into the bucket
    started = time.monotonic()
    text = b"# Campaign plan\n\nThe rally moves to Saturday; volunteers meet at the union hall at nine."
    s3.put_object(Bucket=bucket, Key="documents/x.md", Body=text, ContentType="text/markdown")

    # THEN within a few seconds S3 -> SQS -> DocumentIngestFunction has registered and processed it
    row = None
    with psycopg.connect(runtime["DATABASE_URL"], autocommit=True) as conn:
        while (row is None or row[1] in ("uploaded", "processing")) and time.monotonic() - started < 15:
            row = conn.execute(
                "SELECT filename, status, size_bytes, document_type, chunk_count FROM documents"
                " WHERE s3_key = 'documents/x.md'"
            ).fetchone()
            time.sleep(0.02)
    print(f"put_object -> processed document in {(time.monotonic() - started) * 1000:.0f} ms")
    assert row == ("x.md", "processed", len(text), "markdown", 1), local_cloud.log()
    # AND the batch was logged as an sqs invocation of the function
    lines = wait_for_log(local_cloud, "DocumentIngestFunction sqs")
    assert lines and "0 failed -> 200" in lines[-1]


def test_warroom_invoke_runs_a_function_once_against_the_running_cloud(local_cloud):
    # GIVEN the sample SQS batch (an upload of documents/briefing.pdf and an s3:TestEvent)
    # WHEN `warroom invoke` runs the consumer with it
    done = warroom(
        "invoke", "DocumentIngestFunction", "--event", str(SAMPLE_EVENT), "--state-dir", str(local_cloud.state_dir)
    )

    # THEN it prints the handler's result as JSON, used the running cloud, and the upload is registered there
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"batchItemFailures": []}
    assert "using the warroom dev running at" in done.stderr
    with psycopg.connect(local_cloud.runtime["DATABASE_URL"]) as conn:
        count = conn.execute("SELECT count(*) FROM documents WHERE s3_key = 'documents/briefing.pdf'").fetchone()
    assert count == (1,)

    # WHEN the handler raises (every record of this batch is malformed)
    bad = json.loads(SAMPLE_EVENT.read_text())
    bad["Records"] = [dict(bad["Records"][0], body="not an S3 notification")]
    failed = warroom(
        "invoke",
        "DocumentIngestFunction",
        "--event",
        "-",
        "--state-dir",
        str(local_cloud.state_dir),
        stdin=json.dumps(bad),
    )

    # THEN the exit code is 1 and the output is Lambda's error payload
    assert failed.returncode == 1, failed.stderr
    assert json.loads(failed.stdout)["errorType"] == "BatchProcessingError"


def test_schedules_fire_on_a_fast_clock_and_trigger_fires_one_now(tmp_path: Path):
    # GIVEN a copy of the project with a function scheduled every minute (and a disabled schedule), served with
    # the schedules' clock 60x faster, so a minute lasts a second
    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "functions", project / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    (project / "functions" / "tick").mkdir()
    (project / "functions" / "tick" / "app.py").write_text(TICK_HANDLER)
    template = (
        (PROJECT_ROOT / "template.yaml").read_text().replace("\nResources:\n", "\nResources:\n" + TICK_FUNCTION, 1)
    )
    (project / "template.yaml").write_text(template)
    state = tmp_path / "state"
    cloud = start_local_cloud(state, "--no-reload", "--schedule-speed", "60", template=project / "template.yaml")
    try:
        # WHEN a few seconds pass
        lines = wait_for_log(cloud, "TickFunction     schedule Tick rate(1 minute) -> 200", count=2, timeout_s=10)

        # THEN the schedule fired about every second, the disabled one never
        assert len(lines) >= 2, cloud.log()
        assert "schedule Never" not in cloud.log()

        # WHEN `warroom trigger` fires the schedule now
        fired = warroom(
            "trigger",
            "TickFunction",
            "--schedule",
            "Tick",
            "--state-dir",
            str(state),
            "--template",
            str(project / "template.yaml"),
        )

        # THEN the function got EventBridge's scheduled event, and its result is printed
        assert fired.returncode == 0, fired.stderr
        assert json.loads(fired.stdout) == {
            "source": "aws.events",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/warroom-local-TickFunctionTick"],
            "detail-type": "Scheduled Event",
        }
        # AND a function with two schedules needs the name of one
        ambiguous = warroom(
            "trigger", "TickFunction", "--state-dir", str(state), "--template", str(project / "template.yaml")
        )
        assert ambiguous.returncode == 2 and "--schedule" in ambiguous.stderr
    finally:
        assert cloud.stop() == 0


def test_warroom_invoke_without_a_running_cloud_starts_and_stops_the_services(tmp_path: Path):
    # GIVEN a state directory no warroom dev is serving
    state = tmp_path / "state"

    # WHEN a function is invoked there
    done = warroom("invoke", "DocumentIngestFunction", "--event", str(SAMPLE_EVENT), "--state-dir", str(state))

    # THEN it ran against services started for it (migrated), printed its result, and stopped them again
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"batchItemFailures": []}
    assert "starting the backing services" in done.stderr
    pids = json.loads((state / "runtime.json").read_text())["pids"]
    assert set(pids) == {"postgres", "redis"}
    assert not any(Path(f"/proc/{pid}").exists() and _running(pid) for pid in pids.values())


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False
