"""Read the SAM `template.yaml` into what the local cloud runs: functions, API routes, CORS.

The local cloud must behave like the deployed stack, so anything in the template it cannot reproduce
raises `UnsupportedTemplateFeature` instead of being silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
# Event source types the local cloud can trigger; add a type here only together with its trigger.
SUPPORTED_EVENT_TYPES = frozenset({"Api"})
# Properties of an `Api` event the gateway honours; any other property changes behaviour we do not emulate.
SUPPORTED_API_EVENT_PROPERTIES = frozenset({"Path", "Method"})
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
