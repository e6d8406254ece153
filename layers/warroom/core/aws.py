"""boto3 clients, one per service per container, with timeouts fit for a request path.

Example
-------
>>> from warroom.core.aws import aws_client
>>> aws_client("s3").head_bucket(Bucket=get_settings().uploads_bucket)

The endpoint comes from boto3's own ``AWS_ENDPOINT_URL`` (moto server or LocalStack locally,
unset in AWS), so the same code runs everywhere.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def aws_client(service: str) -> Any:
    """A cached client for ``service`` (clients are thread-safe; sessions are not, hence one here).

    boto3 is imported here, not at module top: it costs ~70 ms of cold start that only some paths need.
    """
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.session.Session().client(service, config=config)
