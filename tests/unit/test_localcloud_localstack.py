"""What `warroom dev --aws localstack` tells a developer once ready: how to look at its LocalStack from Python."""

from __future__ import annotations

import dataclasses

import pytest

from localcloud.bootstrap import LocalCloudConfig, ServiceUrls
from localcloud.dev import say_localstack_example
from localcloud.localstack import python_example
from tests.unit.test_localcloud_bootstrap import config  # noqa: F401 - the fixture


@pytest.fixture
def no_endpoint_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """localstack-client prefers these to the host it is given; a developer's shell has none of them."""
    for variable in ("AWS_ENDPOINT_URL", "LOCALSTACK_HOST", "USE_SSL"):
        monkeypatch.delenv(variable, raising=False)


def _session_of(example: tuple[str, str]):
    """The `Session` the example builds, without its call (which would reach for a LocalStack)."""
    namespace: dict = {}
    exec(example[0], namespace)
    return eval(example[1].rsplit(".client(", 1)[0], namespace)


def test_the_example_points_localstack_client_at_the_running_localstack(no_endpoint_override) -> None:
    # GIVEN a LocalStack on 127.0.0.1:4599 (not its default 4566)
    # WHEN the example is made for it
    example = python_example("http://127.0.0.1:4599")
    # THEN it is two lines, importing LocalStack's own client and listing the queues of that host and port
    assert example == (
        "from localstack_client.session import Session",
        'Session(localstack_host="127.0.0.1:4599").client("sqs").list_queues()',
    )
    # AND the session it builds really sends to that port, in the default region
    session = _session_of(example)
    client = session.client("sqs")
    assert client.meta.endpoint_url == "http://127.0.0.1:4599"
    assert client.meta.region_name == "us-east-1"
    assert session.client("s3").meta.endpoint_url == "http://127.0.0.1:4599"


def test_the_example_names_the_region_when_it_is_not_the_default(no_endpoint_override) -> None:
    example = python_example("http://127.0.0.1:4600", region="eu-west-1")
    assert example[1] == (
        'Session(localstack_host="127.0.0.1:4600", region_name="eu-west-1").client("sqs").list_queues()'
    )
    assert _session_of(example).client("sqs").meta.region_name == "eu-west-1"


def test_warroom_dev_prints_the_example_when_it_started_localstack(
    config: LocalCloudConfig,  # noqa: F811 - the fixture
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a local cloud that started its own LocalStack on port 4599
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    started = dataclasses.replace(
        config,
        urls=ServiceUrls(config.urls.database_url, config.urls.redis_url, "http://127.0.0.1:4599"),
        service_pids={"postgres": 456, "localstack": 789},
    )
    # WHEN it is ready
    say_localstack_example(started)
    lines = capsys.readouterr().out.splitlines()
    # THEN a console line introduces the two bare lines of the example, which name that port
    assert "localstack-client" in lines[0]
    assert lines[1:] == list(python_example("http://127.0.0.1:4599"))
    assert 'localstack_host="127.0.0.1:4599"' in lines[2]


def test_warroom_dev_prints_no_example_when_its_aws_is_not_a_localstack_it_started(
    config: LocalCloudConfig,  # noqa: F811 - the fixture
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a local cloud on moto, or on an AWS_ENDPOINT_URL it was given (no "localstack" among its servers)
    # WHEN it is ready
    say_localstack_example(config)
    # THEN it prints nothing about LocalStack
    assert capsys.readouterr().out == ""
