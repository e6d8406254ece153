"""Read the SAM `template.yaml` into what the local cloud runs: functions, API routes, CORS.

The local cloud must behave like the deployed stack, so anything in the template it cannot reproduce
raises `UnsupportedTemplateFeature` instead of being silently ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

from localcloud.schedule_expression import InvalidScheduleExpression, ScheduleExpression, parse_schedule_expression

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
# Event source types the local cloud can trigger; add a type here only together with its trigger.
SUPPORTED_EVENT_TYPES = frozenset({"Api", "Schedule", "ScheduleV2", "SQS"})
# Properties of an `Api` event the gateway honours; any other property changes behaviour we do not emulate.
SUPPORTED_API_EVENT_PROPERTIES = frozenset({"Path", "Method"})
# `Schedule` (an EventBridge rule) and `ScheduleV2` (EventBridge Scheduler) properties the scheduler honours.
# RoleArn, PermissionsBoundary and KmsKeyArn only concern IAM and encryption, which the local cloud does not
# enforce (as for the functions' Policies); retries and dead-letter queues of failed invocations are not emulated.
SUPPORTED_SCHEDULE_EVENT_PROPERTIES = frozenset({"Schedule", "Name", "Description", "Enabled", "State", "Input"})
SUPPORTED_SCHEDULE_V2_EVENT_PROPERTIES = frozenset(
    {
        *("ScheduleExpression", "ScheduleExpressionTimezone", "Name", "OmitName", "GroupName", "Description"),
        *("State", "Input", "StartDate", "EndDate", "FlexibleTimeWindow", "RoleArn", "PermissionsBoundary"),
        "KmsKeyArn",
    }
)
# `SQS` event source mapping properties the queue poller honours (one batch at a time per queue, which is within
# any ScalingConfig.MaximumConcurrency); FilterCriteria and the rest are not emulated.
SUPPORTED_SQS_EVENT_PROPERTIES = frozenset(
    {"Queue", "BatchSize", "Enabled", "FunctionResponseTypes", "MaximumBatchingWindowInSeconds", "ScalingConfig"}
)
SQS_DEFAULT_BATCH_SIZE = 10
SQS_MAX_BATCH_SIZE = 10_000  # standard queues; FIFO queues take at most 10
SQS_MAX_BATCHING_WINDOW_S = 300
_SQS_QUEUE_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$")
SUPPORTED_CORS_PROPERTIES = frozenset({"AllowOrigin", "AllowMethods", "AllowHeaders", "MaxAge", "AllowCredentials"})

# SAM's documented defaults when neither the function nor Globals set them.
DEFAULT_TIMEOUT_S = 3
DEFAULT_MEMORY_MB = 128

_SUB_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


class TemplateError(Exception):
    """The template is invalid or cannot be run by the local cloud."""


class UnsupportedTemplateFeature(TemplateError):
    """The template uses something the local cloud does not emulate; failing beats silently diverging from AWS."""


@dataclass(frozen=True)
class FunctionSpec:
    """One `AWS::Serverless::Function` with Globals.Function applied; environment values may still be intrinsics."""

    logical_id: str
    code_uri: Path
    handler: str
    timeout_s: float
    memory_mb: int
    environment: dict[str, Any]
    events: dict[str, Any]
    runtime: str = "python3.11"


@dataclass(frozen=True)
class ApiRoute:
    """One `Type: Api` event: a method (upper case or "ANY") on a resource path such as `/api/v1/items/{id}`."""

    function: str
    method: str
    path: str


@dataclass(frozen=True)
class CorsConfig:
    """`Globals.Api.Cors` with SAM's single quotes stripped; `None` fields are not sent."""

    allow_origin: str
    allow_methods: str | None = None
    allow_headers: str | None = None
    max_age: str | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class ScheduleSpec:
    """One `Schedule` (EventBridge rule) or `ScheduleV2` (EventBridge Scheduler) event of a function.

    `name` is the event's key under `Events`; `rule_name` the explicit `Name`, if any. `input` is the JSON text
    delivered instead of the scheduled event when `Input` is set. Times are aware datetimes.
    """

    function: str
    name: str
    expression: str
    enabled: bool
    kind: str = "Schedule"  # or "ScheduleV2"
    rule_name: str | None = None
    input: str | None = None
    timezone: str = "UTC"
    group_name: str = "default"
    start_date: datetime | None = None
    end_date: datetime | None = None

    def parsed(self) -> ScheduleExpression:
        """The expression, ready to compute fire times (validated when the template was read)."""
        return parse_schedule_expression(self.expression, timezone=self.timezone, allow_at=self.kind == "ScheduleV2")


@dataclass(frozen=True)
class QueueConsumer:
    """One `SQS` event: the function consumes `queue_arn` in batches of up to `batch_size` messages."""

    function: str
    name: str
    queue_arn: str
    batch_size: int = SQS_DEFAULT_BATCH_SIZE
    report_batch_item_failures: bool = False
    max_batching_window_s: int = 0
    enabled: bool = True
    max_concurrency: int | None = None

    @property
    def queue_name(self) -> str:
        return self.queue_arn.rsplit(":", 1)[-1]


def load_template(path: Path) -> dict[str, Any]:
    """Parse a SAM/CloudFormation YAML file; short-form intrinsics come back as `{"Ref": ...}`-style dicts."""
    return cfn_yaml.load(str(path))


def read_functions(template: Mapping[str, Any], root: Path) -> dict[str, FunctionSpec]:
    """Every serverless function of the template with Globals.Function merged in, `CodeUri` made absolute."""
    globals_ = template.get("Globals", {}).get("Function", {})
    functions: dict[str, FunctionSpec] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        properties = resource.get("Properties", {})
        merged = {**globals_, **properties}
        _check_function_properties(logical_id, merged)
        events = dict(properties.get("Events") or {})
        for event_name, event in events.items():
            _check_event(logical_id, event_name, event)
        functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_uri=(root / merged["CodeUri"]).resolve(),
            handler=merged["Handler"],
            timeout_s=merged.get("Timeout", DEFAULT_TIMEOUT_S),
            memory_mb=merged.get("MemorySize", DEFAULT_MEMORY_MB),
            environment={**_variables(globals_), **_variables(properties)},
            events=events,
            runtime=merged["Runtime"],
        )
    return functions


def read_api_routes(functions: Mapping[str, FunctionSpec]) -> list[ApiRoute]:
    """The API Gateway routes declared by the functions' `Type: Api` events."""
    routes: dict[tuple[str, str], ApiRoute] = {}
    for spec in functions.values():
        for event_name, event in spec.events.items():
            if event["Type"] != "Api":
                continue
            properties = event["Properties"]
            method = str(properties["Method"]).upper()
            route = ApiRoute(spec.logical_id, method, str(properties["Path"]))
            existing = routes.get((method, route.path))
            if existing is not None:
                raise TemplateError(
                    f"{spec.logical_id}.Events.{event_name}: {method} {route.path} is already routed to "
                    f"{existing.function}; API Gateway cannot route one method and path to two functions"
                )
            routes[(method, route.path)] = route
    return list(routes.values())


def read_schedules(
    functions: Mapping[str, FunctionSpec], resolve: Callable[[Any], Any] | None = None
) -> list[ScheduleSpec]:
    """The functions' `Schedule` and `ScheduleV2` events, disabled ones included (with `enabled=False`).

    `resolve` resolves intrinsics in the properties (needed only when they use any).
    """
    schedules = []
    for spec in functions.values():
        for event_name, event in spec.events.items():
            if event["Type"] not in ("Schedule", "ScheduleV2"):
                continue
            where = f"{spec.logical_id}.Events.{event_name}"
            properties = _resolved(event.get("Properties") or {}, resolve, where)
            _check_schedule_properties(where, event["Type"], properties, literal_only=True)
            if event["Type"] == "Schedule":
                enabled = bool(properties.get("Enabled", True)) and properties.get("State", "ENABLED") == "ENABLED"
                schedule = ScheduleSpec(
                    spec.logical_id,
                    event_name,
                    properties["Schedule"],
                    enabled,
                    rule_name=properties.get("Name"),
                    input=properties.get("Input"),
                )
            else:
                schedule = ScheduleSpec(
                    spec.logical_id,
                    event_name,
                    properties["ScheduleExpression"],
                    properties.get("State", "ENABLED") == "ENABLED",
                    kind="ScheduleV2",
                    rule_name=None if properties.get("OmitName") else properties.get("Name"),
                    input=properties.get("Input"),
                    timezone=properties.get("ScheduleExpressionTimezone", "UTC"),
                    group_name=properties.get("GroupName", "default"),
                    start_date=_timestamp(properties.get("StartDate"), where, "StartDate"),
                    end_date=_timestamp(properties.get("EndDate"), where, "EndDate"),
                )
            schedules.append(schedule)
    return schedules


def read_queue_consumers(
    functions: Mapping[str, FunctionSpec], resolve: Callable[[Any], Any] | None = None
) -> list[QueueConsumer]:
    """The functions' `SQS` events with their queue ARN resolved, disabled ones included (`enabled=False`)."""
    consumers = []
    for spec in functions.values():
        for event_name, event in spec.events.items():
            if event["Type"] != "SQS":
                continue
            where = f"{spec.logical_id}.Events.{event_name}"
            properties = _resolved(event.get("Properties") or {}, resolve, where)
            queue_arn = properties["Queue"]
            response_types = properties.get("FunctionResponseTypes") or []
            if not isinstance(queue_arn, str) or not _SQS_QUEUE_ARN.match(queue_arn):
                raise TemplateError(f"{where}: Queue must be an SQS queue ARN, got {queue_arn!r}")
            if queue_arn.endswith(".fifo") and int(properties.get("BatchSize", SQS_DEFAULT_BATCH_SIZE)) > 10:
                raise TemplateError(f"{where}: a FIFO queue takes a BatchSize of at most 10")
            consumers.append(
                QueueConsumer(
                    spec.logical_id,
                    event_name,
                    queue_arn,
                    batch_size=int(properties.get("BatchSize", SQS_DEFAULT_BATCH_SIZE)),
                    report_batch_item_failures="ReportBatchItemFailures" in response_types,
                    max_batching_window_s=int(properties.get("MaximumBatchingWindowInSeconds", 0)),
                    enabled=bool(properties.get("Enabled", True)),
                    max_concurrency=(properties.get("ScalingConfig") or {}).get("MaximumConcurrency"),
                )
            )
    return consumers


def read_cors(template: Mapping[str, Any], resolve: Callable[[Any], Any] | None = None) -> CorsConfig | None:
    """`Globals.Api.Cors`, answered locally by the gateway's OPTIONS preflight as SAM's mock integration does.

    `resolve` resolves intrinsics in the values (e.g. `!Sub "'${CorsAllowOrigin}'"`).
    """
    cors = template.get("Globals", {}).get("Api", {}).get("Cors")
    if cors is None:
        return None
    if resolve is not None:
        cors = resolve(cors)
    if isinstance(cors, str):  # the short form is the AllowOrigin value
        return CorsConfig(allow_origin=_unquote(cors, "Cors"))
    unknown = set(cors) - SUPPORTED_CORS_PROPERTIES
    if unknown:
        raise UnsupportedTemplateFeature(f"Globals.Api.Cors: unsupported properties {sorted(unknown)}")
    if "AllowOrigin" not in cors:
        raise TemplateError("Globals.Api.Cors: AllowOrigin is required")
    return CorsConfig(
        allow_origin=_unquote(cors["AllowOrigin"], "AllowOrigin"),
        allow_methods=_unquote(cors["AllowMethods"], "AllowMethods") if "AllowMethods" in cors else None,
        allow_headers=_unquote(cors["AllowHeaders"], "AllowHeaders") if "AllowHeaders" in cors else None,
        max_age=_unquote(cors["MaxAge"], "MaxAge") if "MaxAge" in cors else None,
        allow_credentials=bool(cors.get("AllowCredentials", False)),
    )


def resolve_intrinsics(
    value: Any,
    resolver: Callable[[str], str],
    getatt: Callable[[str, str], str],
) -> Any:
    """Replace `Ref`, `Fn::GetAtt`, `Fn::Sub` and `Fn::Join` inside `value` (recursively).

    `resolver` answers a `Ref` to a parameter, a resource or a pseudo parameter (`AWS::Region`, ...);
    `getatt` answers `(resource, attribute)`. Any other intrinsic raises `UnsupportedTemplateFeature`.
    """
    if isinstance(value, list):
        return [resolve_intrinsics(item, resolver, getatt) for item in value]
    if not isinstance(value, Mapping):
        return value
    if len(value) == 1:
        (key, argument), *_ = value.items()
        if key == "Ref":
            return resolver(str(argument))
        if key == "Fn::GetAtt":
            return getatt(*_getatt_target(argument))
        if key == "Fn::Sub":
            return _resolve_sub(argument, resolver, getatt)
        if key == "Fn::Join":
            return _resolve_join(argument, resolver, getatt)
        if key.startswith("Fn::") or key == "Condition":
            raise UnsupportedTemplateFeature(f"intrinsic function {key} is not supported by the local cloud")
    return {key: resolve_intrinsics(item, resolver, getatt) for key, item in value.items()}


def resolve_environment(
    environment: Mapping[str, Any],
    resolver: Callable[[str], str],
    getatt: Callable[[str, str], str],
) -> dict[str, str]:
    """A function's environment as Lambda sees it: intrinsics resolved, every value a string."""
    resolved = resolve_intrinsics(dict(environment), resolver, getatt)
    return {name: _as_environment_string(value) for name, value in resolved.items()}


def _check_function_properties(logical_id: str, properties: Mapping[str, Any]) -> None:
    if properties.get("PackageType", "Zip") != "Zip":
        raise UnsupportedTemplateFeature(f"{logical_id}: PackageType {properties['PackageType']} is not supported")
    if "InlineCode" in properties:
        raise UnsupportedTemplateFeature(f"{logical_id}: InlineCode is not supported, use CodeUri")
    for required in ("CodeUri", "Handler", "Runtime"):
        if required not in properties:
            raise TemplateError(f"{logical_id}: {required} is missing (in the function and in Globals.Function)")
    if not isinstance(properties["CodeUri"], str):
        raise UnsupportedTemplateFeature(f"{logical_id}: CodeUri must be a local folder, got {properties['CodeUri']!r}")
    if not str(properties["Runtime"]).startswith("python3"):
        raise UnsupportedTemplateFeature(f"{logical_id}: Runtime {properties['Runtime']} is not supported")


def _check_event(logical_id: str, event_name: str, event: Mapping[str, Any]) -> None:
    where = f"{logical_id}.Events.{event_name}"
    event_type = event.get("Type")
    if event_type not in SUPPORTED_EVENT_TYPES:
        raise UnsupportedTemplateFeature(
            f"{where}: event type {event_type!r} is not supported by the local cloud "
            f"(supported: {', '.join(sorted(SUPPORTED_EVENT_TYPES))})"
        )
    if event_type == "Api":
        properties = event.get("Properties") or {}
        if "RestApiId" in properties:
            raise UnsupportedTemplateFeature(f"{where}: RestApiId (an explicit AWS::Serverless::Api) is not supported")
        if "Auth" in properties:
            raise UnsupportedTemplateFeature(f"{where}: Auth is not supported, authentication is done in code")
        unknown = set(properties) - SUPPORTED_API_EVENT_PROPERTIES
        if unknown:
            raise UnsupportedTemplateFeature(f"{where}: unsupported Api event properties {sorted(unknown)}")
        for required in ("Path", "Method"):
            if not isinstance(properties.get(required), str):
                raise TemplateError(f"{where}: {required} must be a string")
    elif event_type in ("Schedule", "ScheduleV2"):
        _check_schedule_properties(where, event_type, event.get("Properties") or {}, literal_only=False)
    elif event_type == "SQS":
        _check_sqs_properties(where, event.get("Properties") or {})


def _check_schedule_properties(
    where: str, event_type: str, properties: Mapping[str, Any], *, literal_only: bool
) -> None:
    """Refuse what the scheduler would not honour; values that are still intrinsics are checked once resolved."""
    if event_type == "Schedule":
        supported, expression_key = SUPPORTED_SCHEDULE_EVENT_PROPERTIES, "Schedule"
        if "Enabled" in properties and "State" in properties:
            raise TemplateError(f"{where}: State and Enabled cannot both be specified")
    else:
        supported, expression_key = SUPPORTED_SCHEDULE_V2_EVENT_PROPERTIES, "ScheduleExpression"
        window = properties.get("FlexibleTimeWindow") or {}
        # A flexible window lets EventBridge fire anywhere within it; firing at its start is one of those times.
        if isinstance(window, Mapping) and window.get("Mode", "OFF") not in ("OFF", "FLEXIBLE"):
            raise TemplateError(f"{where}: FlexibleTimeWindow.Mode must be OFF or FLEXIBLE")
    unknown = set(properties) - supported
    if unknown:
        raise UnsupportedTemplateFeature(f"{where}: unsupported {event_type} event properties {sorted(unknown)}")
    if expression_key not in properties:
        raise TemplateError(f"{where}: {expression_key} is required")
    state = properties.get("State", "ENABLED")
    if _is_literal(state) and state not in ("ENABLED", "DISABLED"):
        raise TemplateError(f"{where}: State must be ENABLED or DISABLED, got {state!r}")
    text_input = properties.get("Input")
    if isinstance(text_input, str):
        try:
            json.loads(text_input)
        except ValueError as error:
            raise TemplateError(f"{where}: Input must be JSON text: {error}") from error
    expression = properties[expression_key]
    timezone = properties.get("ScheduleExpressionTimezone", "UTC")
    if _is_literal(expression) and _is_literal(timezone):
        try:
            parse_schedule_expression(str(expression), timezone=str(timezone), allow_at=event_type == "ScheduleV2")
        except InvalidScheduleExpression as error:
            raise TemplateError(f"{where}: {error}") from error
    elif literal_only:
        raise TemplateError(f"{where}: {expression_key} must resolve to a string")


def _check_sqs_properties(where: str, properties: Mapping[str, Any]) -> None:
    unknown = set(properties) - SUPPORTED_SQS_EVENT_PROPERTIES
    if unknown:
        raise UnsupportedTemplateFeature(f"{where}: unsupported SQS event properties {sorted(unknown)}")
    if "Queue" not in properties:
        raise TemplateError(f"{where}: Queue is required")
    batch_size = properties.get("BatchSize", SQS_DEFAULT_BATCH_SIZE)
    window = properties.get("MaximumBatchingWindowInSeconds", 0)
    if not isinstance(batch_size, int) or not 1 <= batch_size <= SQS_MAX_BATCH_SIZE:
        raise TemplateError(f"{where}: BatchSize must be a whole number from 1 to {SQS_MAX_BATCH_SIZE}")
    if not isinstance(window, int) or not 0 <= window <= SQS_MAX_BATCHING_WINDOW_S:
        raise TemplateError(f"{where}: MaximumBatchingWindowInSeconds must be 0-{SQS_MAX_BATCHING_WINDOW_S}")
    if batch_size > 10 and window < 1:
        raise TemplateError(f"{where}: a BatchSize over 10 needs MaximumBatchingWindowInSeconds of at least 1")
    response_types = properties.get("FunctionResponseTypes") or []
    if not isinstance(response_types, list) or set(response_types) - {"ReportBatchItemFailures"}:
        raise TemplateError(f"{where}: FunctionResponseTypes may only hold ReportBatchItemFailures")
    unknown_scaling = set(properties.get("ScalingConfig") or {}) - {"MaximumConcurrency"}
    if unknown_scaling:
        raise UnsupportedTemplateFeature(f"{where}: unsupported ScalingConfig properties {sorted(unknown_scaling)}")


def _is_literal(value: Any) -> bool:
    return not isinstance(value, Mapping | list)


def _resolved(properties: Mapping[str, Any], resolve: Callable[[Any], Any] | None, where: str) -> dict[str, Any]:
    if resolve is not None:
        return dict(resolve(dict(properties)))
    intrinsic = sorted(key for key, value in properties.items() if _has_intrinsic(value))
    if intrinsic:
        raise TemplateError(f"{where}: {intrinsic} use intrinsic functions; pass `resolve` to read them")
    return dict(properties)


def _has_intrinsic(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_intrinsic(item) for item in value)
    if isinstance(value, Mapping):
        if any(key == "Ref" or key == "Condition" or str(key).startswith("Fn::") for key in value):
            return True
        return any(_has_intrinsic(item) for item in value.values())
    return False


def _timestamp(value: Any, where: str, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as error:
        raise TemplateError(f"{where}: {name} must be an ISO 8601 timestamp, got {value!r}") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _variables(properties: Mapping[str, Any]) -> dict[str, Any]:
    return dict((properties.get("Environment") or {}).get("Variables") or {})


def _unquote(value: Any, name: str) -> str:
    # SAM copies these values verbatim into API Gateway header mappings, hence the quotes around literals.
    text = str(value)
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    raise TemplateError(f"Globals.Api.Cors.{name} must be a quoted string like \"'*'\", got {text!r}")


def _getatt_target(argument: Any) -> tuple[str, str]:
    if isinstance(argument, str):
        resource, _, attribute = argument.partition(".")
    else:
        resource, attribute = argument
    if not isinstance(resource, str) or not isinstance(attribute, str):
        raise UnsupportedTemplateFeature(f"Fn::GetAtt with a computed argument is not supported: {argument!r}")
    return resource, attribute


def _resolve_sub(argument: Any, resolver: Callable[[str], str], getatt: Callable[[str, str], str]) -> str:
    if isinstance(argument, str):
        text, variables = argument, {}
    else:
        text, raw_variables = argument
        variables = {name: resolve_intrinsics(item, resolver, getatt) for name, item in raw_variables.items()}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):  # `${!Literal}` is how Fn::Sub escapes a literal `${Literal}`
            return "${" + name[1:] + "}"
        if name in variables:
            return str(variables[name])
        if "." in name and not name.startswith("AWS::"):
            return str(getatt(*_getatt_target(name)))
        return str(resolver(name))

    return _SUB_PLACEHOLDER.sub(substitute, text)


def _resolve_join(argument: Any, resolver: Callable[[str], str], getatt: Callable[[str, str], str]) -> str:
    delimiter, items = argument
    resolved = resolve_intrinsics(items, resolver, getatt)
    if not isinstance(resolved, list):
        raise UnsupportedTemplateFeature(f"Fn::Join needs a list of values, got {resolved!r}")
    return str(delimiter).join(str(item) for item in resolved)


def _as_environment_string(value: Any) -> str:
    # CloudFormation hands Lambda every environment value as a string; YAML booleans become "true"/"false".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"environment value {value!r} does not resolve to a string")
