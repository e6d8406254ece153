"""LocalStack lane (``make test-localstack``): AWS-touching tests against LocalStack 4.9.2 instead of moto.

Not part of the default run (pyproject's ``testpaths`` leaves this folder out). The session starts one LocalStack
and points ``AWS_ENDPOINT_URL`` at it *before* the shared ``backing`` fixture reads that variable, so every test
here that uses ``services``/``invoke`` talks to LocalStack; PostgreSQL and Redis are the usual embedded ones.

The system under test finds LocalStack through ``AWS_ENDPOINT_URL``, as it finds any endpoint; the lane's own
tests arrange and inspect state (buckets, queues, the DLQ, secrets) with LocalStack's own Python client,
``localstack_client`` (the ``dev`` extra), told the running LocalStack's host and port (`localstack_session`).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from localstack_client.session import Session

from localcloud.localstack import LocalStackService, start_localstack
from tests.conftest import Backing

# The integration tests' handler fixtures, so their tests can be re-run here unchanged.
from tests.integration.conftest import invoke, lambda_runtime  # noqa: F401


def localstack_session(url: str, region_name: str = "us-east-1") -> Session:
    """A ``localstack_client`` session for the LocalStack at ``url`` (``http://127.0.0.1:<port>``, not 4566).

    ``localstack_client`` would take ``$AWS_ENDPOINT_URL`` over the host it is given, and this process's points
    at the session's LocalStack, not necessarily at ``url``'s: the session is built without it. Its clients sign
    with localstack_client's own fixed key, so LocalStack answers as its default account, ``000000000000``.
    """
    with pytest.MonkeyPatch.context() as patch:
        for variable in ("AWS_ENDPOINT_URL", "LOCALSTACK_HOST", "USE_SSL"):
            patch.delenv(variable, raising=False)
        session = Session(localstack_host=urlsplit(url).netloc, region_name=region_name)
    assert session.client("sts").meta.endpoint_url == url
    return session


@pytest.fixture(scope="session")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackService]:
    """One LocalStack for the session (installed first if needed), with AWS_ENDPOINT_URL pointing at it."""
    service = start_localstack(tmp_path_factory.mktemp("localstack"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", service.url)
        yield service
    service.stop()


@pytest.fixture(scope="session")
def aws(localstack: LocalStackService) -> Session:
    """The session's LocalStack as a test arranges and inspects it: ``aws.client("s3")``, ``aws.client("sqs")``."""
    return localstack_session(localstack.url)


@pytest.fixture(scope="session")
def backing(localstack: LocalStackService, backing: Backing) -> Backing:
    """The shared backing services (``tests/conftest.py``), set up after LocalStack so AWS is LocalStack."""
    assert backing.aws_endpoint_url == localstack.url
    return backing
