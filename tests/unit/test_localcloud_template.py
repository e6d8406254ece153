"""Reading the SAM template: functions with Globals, API routes, CORS, intrinsics, and loud failures."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from localcloud.template import (
    ApiRoute,
    CorsConfig,
    TemplateError,
    UnsupportedTemplateFeature,
    load_template,
    read_api_routes,
    read_cors,
    read_functions,
    resolve_environment,
    resolve_intrinsics,
)

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
Globals:
  Function:
    Runtime: python3.11
    Handler: app.app
    Timeout: 10
    MemorySize: 256
    Environment:
      Variables:
        STAGE: !Ref Stage
        QUEUE_ARN: !GetAtt JobsQueue.Arn
        SHARED: from-globals
  Api:
    Cors:
      AllowOrigin: "'*'"
      AllowMethods: "'GET,PUT,OPTIONS'"
      AllowHeaders: "'Content-Type,Authorization'"
      MaxAge: "'600'"
Resources:
  JobsQueue:
    Type: AWS::SQS::Queue
  ItemsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/items/
      Timeout: 20
      Environment:
        Variables:
          SHARED: from-function
          BUCKET: !Sub "warroom-${AWS::Region}-${AWS::AccountId}-${Stage}"
      Events:
        GetItem:
          Type: Api
          Properties:
            Path: /api/v1/items/{id}
            Method: get
        AnyProxy:
          Type: Api
          Properties:
            Path: /api/v1/items/{proxy+}
            Method: any
  SystemFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/system
      Handler: main.handler
      Events:
        Health:
          Type: Api
          Properties:
            Path: /api/v1/health
            Method: GET
"""


def write_template(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def function_template(events: str, extra_properties: str = "") -> str:
    """A one-function template whose Events block is `events` (YAML indented for the Events key)."""
    return (
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  OnlyFunction:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      CodeUri: fn/\n"
        "      Handler: app.app\n"
        "      Runtime: python3.11\n"
        f"{extra_properties}"
        "      Events:\n"
        f"{textwrap.indent(textwrap.dedent(events), '        ')}"
    )


def fake_resolver(name: str) -> str:
    values = {
        "Stage": "dev",
        "JobsQueue": "https://sqs.local/jobs",
        "AWS::Region": "eu-west-1",
        "AWS::AccountId": "123456789012",
        "AWS::StackName": "warroom-dev",
    }
    return values[name]


def fake_getatt(resource: str, attribute: str) -> str:
    return f"arn:{resource}:{attribute}"


def test_read_functions_applies_globals_and_makes_code_uri_absolute(tmp_path: Path) -> None:
    # GIVEN a template with Globals.Function and two functions
    template = load_template(write_template(tmp_path, TEMPLATE))

    # WHEN the functions are read
    functions = read_functions(template, tmp_path)

    # THEN each function has the globals unless it overrides them, and an absolute CodeUri
    items, system = functions["ItemsFunction"], functions["SystemFunction"]
    assert set(functions) == {"ItemsFunction", "SystemFunction"}
    assert items.code_uri == (tmp_path / "functions" / "items").resolve()
    assert items.code_uri.is_absolute()
    assert (items.handler, items.timeout_s, items.memory_mb, items.runtime) == ("app.app", 20, 256, "python3.11")
    assert (system.handler, system.timeout_s, system.memory_mb) == ("main.handler", 10, 256)
    assert items.environment["SHARED"] == "from-function"
    assert system.environment["SHARED"] == "from-globals"
    assert items.environment["STAGE"] == {"Ref": "Stage"}
    assert set(items.events) == {"GetItem", "AnyProxy"}


def test_read_functions_uses_sam_defaults_without_globals(tmp_path: Path) -> None:
    # GIVEN a function without Timeout or MemorySize anywhere
    template = load_template(
        write_template(tmp_path, function_template("Get: {Type: Api, Properties: {Path: /, Method: get}}\n"))
    )

    # WHEN it is read
    spec = read_functions(template, tmp_path)["OnlyFunction"]

    # THEN SAM's defaults apply
    assert (spec.timeout_s, spec.memory_mb, spec.environment) == (3, 128, {})


def test_read_api_routes_lists_every_api_event(tmp_path: Path) -> None:
    # GIVEN the functions of the template
    functions = read_functions(load_template(write_template(tmp_path, TEMPLATE)), tmp_path)

    # WHEN the routes are read
    routes = read_api_routes(functions)

    # THEN methods are upper case, "any" becomes ANY, and paths are the template's
    assert sorted(routes, key=lambda route: route.path) == [
        ApiRoute("SystemFunction", "GET", "/api/v1/health"),
        ApiRoute("ItemsFunction", "GET", "/api/v1/items/{id}"),
        ApiRoute("ItemsFunction", "ANY", "/api/v1/items/{proxy+}"),
    ]


def test_read_api_routes_rejects_one_route_in_two_functions(tmp_path: Path) -> None:
    # GIVEN two functions that claim GET /health
    text = TEMPLATE.replace("/api/v1/items/{id}", "/api/v1/health")
    functions = read_functions(load_template(write_template(tmp_path, text)), tmp_path)

    # WHEN / THEN reading the routes fails, naming both functions
    with pytest.raises(TemplateError) as raised:
        read_api_routes(functions)
    assert "ItemsFunction" in str(raised.value)
    assert "SystemFunction" in str(raised.value)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ("Alerts: {Type: SNS, Properties: {Topic: arn}}\n", r"OnlyFunction\.Events\.Alerts.*'SNS'"),
        ("Nightly: {Type: Schedule, Properties: {Schedule: rate(1 day), InputPath: $.x}}\n", "InputPath"),
        (
            "Nightly: {Type: Schedule, Properties: {Schedule: rate(1 day), DeadLetterConfig: {Type: SQS}}}\n",
            "DeadLetterConfig",
        ),
        (
            "Nightly: {Type: ScheduleV2, Properties: {ScheduleExpression: rate(1 day), RetryPolicy: {}}}\n",
            "RetryPolicy",
        ),
        ("Jobs: {Type: SQS, Properties: {Queue: arn, FilterCriteria: {Filters: []}}}\n", "FilterCriteria"),
        ("Get: {Type: Api, Properties: {Path: /, Method: get, RestApiId: !Ref MyApi}}\n", "RestApiId"),
        ("Get: {Type: Api, Properties: {Path: /, Method: get, Auth: {Authorizer: NONE}}}\n", "Auth"),
        ("Get: {Type: Api, Properties: {Path: /, Method: get, RequestParameters: [x]}}\n", "RequestParameters"),
    ],
)
def test_unsupported_events_fail_loudly(tmp_path: Path, events: str, expected: str) -> None:
    # GIVEN a function with an event the local cloud cannot reproduce
    template = load_template(write_template(tmp_path, function_template(events)))

    # WHEN / THEN reading the functions raises, naming function, event and feature
    with pytest.raises(UnsupportedTemplateFeature, match=expected):
        read_functions(template, tmp_path)


def test_image_functions_are_unsupported(tmp_path: Path) -> None:
    # GIVEN a container-image function
    text = function_template("Get: {Type: Api, Properties: {Path: /, Method: get}}\n", "      PackageType: Image\n")
    template = load_template(write_template(tmp_path, text))

    # WHEN / THEN it is refused
    with pytest.raises(UnsupportedTemplateFeature, match="PackageType"):
        read_functions(template, tmp_path)


def test_read_cors_strips_sam_quotes(tmp_path: Path) -> None:
    # GIVEN Globals.Api.Cors with SAM-style quoted values
    template = load_template(write_template(tmp_path, TEMPLATE))

    # WHEN the CORS configuration is read
    cors = read_cors(template)

    # THEN the quotes are gone
    assert cors == CorsConfig(
        allow_origin="*",
        allow_methods="GET,PUT,OPTIONS",
        allow_headers="Content-Type,Authorization",
        max_age="600",
        allow_credentials=False,
    )


def test_read_cors_short_form_and_absence() -> None:
    # GIVEN a template with the string form of Cors and one without Cors
    short_form = {"Globals": {"Api": {"Cors": "'https://app.example'"}}}

    # WHEN / THEN the short form is the allowed origin and no Cors gives None
    assert read_cors(short_form) == CorsConfig(allow_origin="https://app.example")
    assert read_cors({"Resources": {}}) is None


def test_read_cors_rejects_unquoted_values() -> None:
    # GIVEN an AllowOrigin without SAM's single quotes (API Gateway would reject it on deploy)
    template = {"Globals": {"Api": {"Cors": {"AllowOrigin": "*"}}}}

    # WHEN / THEN it is refused
    with pytest.raises(TemplateError, match="AllowOrigin"):
        read_cors(template)


def test_resolve_intrinsics_ref_getatt_sub_and_join(tmp_path: Path) -> None:
    # GIVEN the template's environment, full of intrinsics
    functions = read_functions(load_template(write_template(tmp_path, TEMPLATE)), tmp_path)
    environment = functions["ItemsFunction"].environment

    # WHEN they are resolved
    resolved = resolve_intrinsics(environment, fake_resolver, fake_getatt)

    # THEN Ref (parameter), GetAtt and Sub with pseudo parameters are replaced
    assert resolved == {
        "STAGE": "dev",
        "QUEUE_ARN": "arn:JobsQueue:Arn",
        "SHARED": "from-function",
        "BUCKET": "warroom-eu-west-1-123456789012-dev",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "JobsQueue"}, "https://sqs.local/jobs"),
        ({"Fn::GetAtt": "JobsQueue.Arn"}, "arn:JobsQueue:Arn"),
        ({"Fn::Sub": "${AWS::StackName}/${JobsQueue}/${JobsQueue.Arn}/${!Literal}"}, None),
        ({"Fn::Sub": ["${Name}-${AWS::Region}", {"Name": {"Ref": "Stage"}}]}, "dev-eu-west-1"),
        ({"Fn::Join": ["-", ["a", {"Ref": "Stage"}, {"Fn::GetAtt": ["JobsQueue", "Arn"]}]]}, "a-dev-arn:JobsQueue:Arn"),
        ({"Nested": [{"Ref": "Stage"}, 3]}, {"Nested": ["dev", 3]}),
    ],
)
def test_resolve_intrinsics_forms(value: object, expected: object) -> None:
    # GIVEN one intrinsic form / WHEN it is resolved
    resolved = resolve_intrinsics(value, fake_resolver, fake_getatt)

    # THEN it has its CloudFormation value
    if expected is None:
        expected = "warroom-dev/https://sqs.local/jobs/arn:JobsQueue:Arn/${Literal}"
    assert resolved == expected


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::If": ["IsProd", "a", "b"]},
        {"Fn::ImportValue": "shared-vpc"},
        {"Fn::Select": [0, ["a"]]},
        {"Outer": {"Fn::FindInMap": ["M", "k", "v"]}},
    ],
)
def test_unsupported_intrinsics_raise(value: object) -> None:
    # GIVEN an intrinsic the local cloud does not evaluate
    # WHEN / THEN resolving it fails loudly, naming it
    with pytest.raises(UnsupportedTemplateFeature, match="Fn::"):
        resolve_intrinsics(value, fake_resolver, fake_getatt)


def test_resolve_environment_gives_lambda_strings() -> None:
    # GIVEN environment values of YAML types
    environment = {"PORT": 8080, "DEBUG": True, "STAGE": {"Ref": "Stage"}}

    # WHEN resolved for Lambda
    resolved = resolve_environment(environment, fake_resolver, fake_getatt)

    # THEN every value is a string, booleans as CloudFormation writes them
    assert resolved == {"PORT": "8080", "DEBUG": "true", "STAGE": "dev"}
