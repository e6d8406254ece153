"""LocalStack lane (``make test-localstack``): AWS-touching tests against LocalStack 4.9.2 instead of moto.

Not part of the default run (pyproject's ``testpaths`` leaves this folder out). The session starts one LocalStack
and points ``AWS_ENDPOINT_URL`` at it *before* the shared ``backing`` fixture reads that variable, so every test
here that uses ``services``/``invoke`` talks to LocalStack; PostgreSQL and Redis are the usual embedded ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud.localstack import LocalStackService, start_localstack
from tests.conftest import Backing

# The integration tests' handler fixtures, so their tests can be re-run here unchanged.
from tests.integration.conftest import invoke, lambda_runtime  # noqa: F401


@pytest.fixture(scope="session")
def localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackService]:
    """One LocalStack for the session (installed first if needed), with AWS_ENDPOINT_URL pointing at it."""
    service = start_localstack(tmp_path_factory.mktemp("localstack"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", service.url)
        yield service
    service.stop()


@pytest.fixture(scope="session")
def backing(localstack: LocalStackService, backing: Backing) -> Backing:
    """The shared backing services (``tests/conftest.py``), set up after LocalStack so AWS is LocalStack."""
    assert backing.aws_endpoint_url == localstack.url
    return backing
