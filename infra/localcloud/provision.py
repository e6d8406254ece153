"""Create the template's AWS resources in the emulator (moto server or LocalStack) and resolve references.

Supported resource types are listed in ``HANDLED_RESOURCE_TYPES``; any other type in the template stops
``warroom dev`` with a clear error instead of being skipped. Physical names are ``<stack>-<logical id>``
(lower case for buckets), so two stacks can share one emulator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from localcloud.template import UnsupportedTemplateFeature, resolve_intrinsics
from localcloud.websocket import WEBSOCKET_RESOURCE_TYPES

ACCOUNT_ID = "123456789012"  # moto's default account; LocalStack's is 000000000000, so provision() asks STS
REGION = "us-east-1"

# Functions are served by the gateway and the layer is the installed `warroom` package; queue
# policies are not enforced by the emulators, so there is nothing to create for them.
SERVED_LOCALLY = {
    "AWS::Serverless::Function",
    "AWS::Serverless::LayerVersion",
    "AWS::SQS::QueuePolicy",
    "AWS::Lambda::Permission",  # the local gateways invoke functions directly
    *WEBSOCKET_RESOURCE_TYPES,  # served by localcloud.websocket on the gateway's port
}
LOCAL_WEBSOCKET_API_ID = "warroomws"
HANDLED_RESOURCE_TYPES = SERVED_LOCALLY | {"AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::SecretsManager::Secret"}
_QUEUE_ATTRIBUTES = {
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
}


@dataclass
class Stack:
    """The template's resources as created locally: what `Ref` and `Fn::GetAtt` answer."""

    name: str
    template: Mapping[str, Any]
    parameters: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    account_id: str = ACCOUNT_ID

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise UnsupportedTemplateFeature(f"Ref to {name!r}: not a parameter or a resource created locally")

    def getatt(self, resource: str, attribute: str) -> str:
        try:
            return self.attributes[(resource, attribute)]
        except KeyError:
            raise UnsupportedTemplateFeature(f"Fn::GetAtt {resource}.{attribute} is not supported locally") from None

    def resolve(self, value: Any) -> Any:
        return resolve_intrinsics(value, self.ref, self.getatt)

    def to_json(self) -> dict[str, Any]:
        """What `from_json` needs to answer the same `Ref`s and `Fn::GetAtt`s, as plain JSON types."""
        return {
            "name": self.name,
            "parameters": dict(self.parameters),
            "refs": dict(self.refs),
            "attributes": [[resource, attribute, value] for (resource, attribute), value in self.attributes.items()],
            "account_id": self.account_id,
        }

    @classmethod
    def from_json(cls, saved: Mapping[str, Any], template: Mapping[str, Any]) -> Stack:
        attributes = {(resource, attribute): value for resource, attribute, value in saved["attributes"]}
        account_id = saved.get("account_id", ACCOUNT_ID)
        return cls(saved["name"], template, dict(saved["parameters"]), dict(saved["refs"]), attributes, account_id)


def read_parameters(template: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, str]:
    """Parameter values: the overrides, else the defaults; a parameter with neither is an error."""
    values: dict[str, str] = {}
    for name, spec in (template.get("Parameters") or {}).items():
        if name in overrides:
            values[name] = str(overrides[name])
        elif "Default" in spec:
            values[name] = str(spec["Default"])
        else:
            raise UnsupportedTemplateFeature(f"parameter {name} has no default; pass it as an override")
    return values


def _resources_of(template: Mapping[str, Any], resource_type: str) -> dict[str, Mapping[str, Any]]:
    resources = template.get("Resources") or {}
    return {name: r for name, r in resources.items() if r.get("Type") == resource_type}


def provision(
    template: Mapping[str, Any], stack_name: str, parameters: dict[str, str], secret_values: Mapping[str, str]
) -> Stack:
    """Create buckets, queues (with redrive), bucket notifications and secrets; return the resolved stack.

    ``secret_values`` are merged into every secret's JSON, so the functions read the local database URL and
    signing key from Secrets Manager exactly as they do in AWS.
    """
    if template.get("Conditions"):
        raise UnsupportedTemplateFeature("Conditions are not supported by the local cloud")
    for name, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") not in HANDLED_RESOURCE_TYPES:
            raise UnsupportedTemplateFeature(f"resource {name} of type {resource.get('Type')} is not supported locally")
    account_id = boto3.client("sts", region_name=REGION).get_caller_identity()["Account"]
    stack = Stack(stack_name, template, parameters, account_id=account_id)
    for name in template.get("Resources") or {}:
        if template["Resources"][name]["Type"] == "AWS::Serverless::LayerVersion":
            stack.refs[name] = f"arn:aws:lambda:{REGION}:{account_id}:layer:{stack_name}-{name}:1"
        if template["Resources"][name]["Type"] == "AWS::ApiGatewayV2::Api":
            stack.refs[name] = LOCAL_WEBSOCKET_API_ID
    _create_queues(stack)
    _create_buckets(stack)
    _create_secrets(stack, secret_values)
    return stack


def _create_queues(stack: Stack) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    queues = _resources_of(stack.template, "AWS::SQS::Queue")
    for name, resource in queues.items():
        properties = resource.get("Properties") or {}
        queue_name = properties.get("QueueName") or f"{stack.name}-{name}"
        attributes = {k: str(stack.resolve(v)) for k, v in properties.items() if k in _QUEUE_ATTRIBUTES}
        url = sqs.create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
        stack.refs[name] = url
        stack.attributes[(name, "QueueUrl")] = url
        stack.attributes[(name, "QueueName")] = queue_name
        # The emulator's own ARN: S3 validates notification destinations against it (LocalStack does).
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        stack.attributes[(name, "Arn")] = arn
    # Redrive points at other queues' ARNs, so it is set once every queue exists.
    for name, resource in queues.items():
        redrive = (resource.get("Properties") or {}).get("RedrivePolicy")
        if redrive:
            policy = stack.resolve(redrive)
            sqs.set_queue_attributes(QueueUrl=stack.refs[name], Attributes={"RedrivePolicy": json.dumps(policy)})


def _create_buckets(stack: Stack) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    for name, resource in _resources_of(stack.template, "AWS::S3::Bucket").items():
        properties = resource.get("Properties") or {}
        bucket = properties.get("BucketName") or f"{stack.name}-{name}".lower()
        try:
            s3.create_bucket(Bucket=bucket)
        except ClientError as error:
            if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise
        stack.refs[name] = bucket
        stack.attributes[(name, "Arn")] = f"arn:aws:s3:::{bucket}"
        stack.attributes[(name, "DomainName")] = f"{bucket}.s3.amazonaws.com"
        if "CorsConfiguration" in properties:
            rules = [
                {
                    k: v
                    for k, v in rule.items()
                    if k in {"AllowedMethods", "AllowedOrigins", "AllowedHeaders", "MaxAge", "ExposedHeaders"}
                }
                for rule in stack.resolve(properties["CorsConfiguration"])["CorsRules"]
            ]
            for rule in rules:
                if "MaxAge" in rule:
                    rule["MaxAgeSeconds"] = int(rule.pop("MaxAge"))
            s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
        notifications = stack.resolve(properties.get("NotificationConfiguration") or {})
        queue_configs = [
            {
                "QueueArn": config["Queue"],
                "Events": [config["Event"]],
                **(
                    {"Filter": {"Key": {"FilterRules": config["Filter"]["S3Key"]["Rules"]}}}
                    if "Filter" in config
                    else {}
                ),
            }
            for config in notifications.get("QueueConfigurations", [])
        ]
        unsupported = set(notifications) - {"QueueConfigurations"}
        if unsupported:
            raise UnsupportedTemplateFeature(
                f"{name}: notification kinds {sorted(unsupported)} are not supported locally"
            )
        if queue_configs:
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": queue_configs}
            )


def _create_secrets(stack: Stack, secret_values: Mapping[str, str]) -> None:
    client = boto3.client("secretsmanager", region_name=REGION)
    for name, resource in _resources_of(stack.template, "AWS::SecretsManager::Secret").items():
        properties = resource.get("Properties") or {}
        secret_name = properties.get("Name") or f"{stack.name}/{name}"
        generate = properties.get("GenerateSecretString") or {}
        value = json.loads(generate.get("SecretStringTemplate") or properties.get("SecretString") or "{}")
        value.update(secret_values)
        payload = json.dumps(value)
        try:
            arn = client.create_secret(Name=secret_name, SecretString=payload)["ARN"]
        except client.exceptions.ResourceExistsException:
            arn = (
                client.put_secret_value(SecretId=secret_name, SecretString=payload)
                and client.describe_secret(SecretId=secret_name)["ARN"]
            )
        stack.refs[name] = arn


def verify_email_senders(env_by_function: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Verify each function's ``WARROOM_EMAIL_SENDER`` as an SES identity in the emulator; returns them.

    In AWS the operator verifies the sender address or its domain in SES once (it is account state, not
    a stack resource); the emulators refuse to send from an unverified identity, as SES does.
    """
    from email.utils import parseaddr

    senders = sorted(
        {
            parseaddr(env["WARROOM_EMAIL_SENDER"])[1]
            for env in env_by_function.values()
            if env.get("WARROOM_EMAIL_SENDER")
        }
    )
    if senders:
        ses = boto3.client("ses", region_name=REGION)
        for sender in senders:
            ses.verify_email_identity(EmailAddress=sender)
    return senders


def localize_execute_api_urls(environment: dict[str, str], base_url: str) -> dict[str, str]:
    """Point ``https://<websocket api>.execute-api.<region>.<suffix>/<stage>`` values at the local gateway.

    In AWS the functions reach the WebSocket API's Management API at that URL; locally the same
    ``/@connections`` calls go to ``warroom dev``'s port, keeping the stage in the path.
    """
    pattern = re.compile(rf"^https://{LOCAL_WEBSOCKET_API_ID}\.execute-api\.[^/]+")
    return {name: pattern.sub(base_url.rstrip("/"), value) for name, value in environment.items()}
