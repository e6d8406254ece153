"""The integration tests that touch AWS, re-run unchanged against LocalStack instead of moto.

They are imported, not copied: pytest collects them here, where ``backing`` serves AWS from LocalStack.
"""

from __future__ import annotations

import boto3

from tests.integration.test_core_services import (  # noqa: F401 - collected by pytest from this module
    test_secrets_come_from_secrets_manager_when_configured,
    test_secrets_come_from_ssm_parameters_when_configured,
)
from tests.integration.test_system_function import (  # noqa: F401 - collected by pytest from this module
    test_health_reports_mode_and_every_dependency,
)


def test_this_lane_really_talks_to_localstack(services, localstack, aws):
    # GIVEN the session's backing services
    # WHEN boto3 asks who it is, with the environment every test here (and the code under test) uses
    identity = boto3.client("sts").get_caller_identity()
    # THEN LocalStack answered (its default account; moto's is 123456789012)
    assert services.aws_endpoint_url == localstack.url
    assert identity["Account"] == "000000000000"
    # AND LocalStack's own client, told its host and port, sees the same LocalStack: the uploads bucket is there
    assert aws.client("sts").get_caller_identity()["Account"] == "000000000000"
    aws.client("s3").head_bucket(Bucket="warroom-test-uploads")
    # AND a secret it arranges is what the code under test reads through AWS_ENDPOINT_URL
    arn = aws.client("secretsmanager").create_secret(Name="warroom-lane/check", SecretString="seen")["ARN"]
    assert boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"] == "seen"
