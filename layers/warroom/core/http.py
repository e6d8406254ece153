"""HTTP glue for the Chalice apps: one decorator per route does everything around the view.

Example
-------
>>> app = WarRoomApp("system", authenticate=authenticate_request)   # from warroom.auth.guard
>>> @app.endpoint("PUT", "/api/v1/settings/{key}", role="admin", body=SettingUpdate, response=SettingOut)
... def put_setting(key: str, body: SettingUpdate, ctx: RequestContext) -> SettingOut:
...     return settings.update(key, body.value, actor=ctx.actor())

Around each view, in this order: request id, authentication and the request quota by the app's
authenticator (401, 429 past the quota; ``X-RateLimit-*`` headers on every answer after it, see
:mod:`warroom.auth.guard`) and the ``role`` guard (403), query parsing into the ``query``
model and body parsing into the ``body`` model (413 over the size limit, 415 for a non-JSON body,
400 for malformed JSON, 422 for invalid fields with the field errors in ``details``), the view,
validation and serialisation of its answer through the declared ``response`` type (the contract: an
answer that does not match it is logged and becomes the generic 500, never an off-schema body), the
mapping of every :class:`WarRoomError` to the one error shape (anything else is a 500 that reveals
nothing), CORS and request-id headers, and the request's timing for ``performance_logs``.

Every JSON route declares its ``response`` type; a 204 route declares ``status_code=204`` and a
route answering something else (a page, a file, a redirect) its ``content_type`` and, with
``other_answers``, the answers it builds itself as :class:`Response` objects, which pass untouched.

The view receives only what its signature asks for, by name: the path parameters, ``body``,
``query``, ``ctx`` and ``raw_body`` (the request's bytes exactly as sent, API Gateway's base64 undone, neither
parsed nor size-checked: for a route that checks a signature over them, such as incoming webhooks, and then
parses them itself). Every route is also recorded as a :class:`RouteSpec` for the OpenAPI document.
"""

from __future__ import annotations

import gc
import inspect
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_origin

from chalice import Chalice, Response
from pydantic import BaseModel, TypeAdapter, ValidationError

from warroom.core.config import get_settings
from warroom.core.errors import (
    BadRequest,
    BearerTokenRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    WarRoomError,
    to_error_body,
)
from warroom.core.logs import configure_logging
from warroom.core.perf import record_request
from warroom.core.security import Principal, RequestAuthenticator, Role, require
from warroom.core.types import json_depth, unsafe_text_details

JSON_CONTENT_TYPE = "application/json"
EXPOSED_HEADERS = "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, Location"
_HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
HSTS = "max-age=31536000; includeSubDomains"
# No body of ours nests deeper; a 100k-deep one once reached a RecursionError (a 500).
MAX_JSON_DEPTH = 32


def is_json_content_type(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type, with or without parameters."""
    media_type = content_type.split(";")[0].strip().lower()
    return media_type == JSON_CONTENT_TYPE or media_type.endswith("+json")


@dataclass(frozen=True)
class OtherAnswer:
    """An answer a view builds itself as a :class:`Response`, beside the declared one: documented, not validated.

    Example
    -------
    >>> OtherAnswer(303, ExportLinkOut, headers=("Location",), description="A link to a large export.")
    >>> OtherAnswer(200, str, content_type="text/css")   # a second media type of the declared status
    """

    status_code: int
    schema: Any = None
    content_type: str = JSON_CONTENT_TYPE
    description: str = ""
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouteSpec:
    """What the OpenAPI document needs to know about a route, and the adapter its answers go through."""

    method: str
    path: str
    view_name: str
    summary: str
    description: str
    role: Role | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status_code: int
    content_type: str
    errors: tuple[int, ...]
    tags: tuple[str, ...] = field(default_factory=tuple)
    other_answers: tuple[OtherAnswer, ...] = ()
    bearer_only: bool = False
    response_adapter: TypeAdapter[Any] | None = field(default=None, compare=False, repr=False)


@dataclass
class RequestContext:
    """What a view may want to know about the request beyond its body and query."""

    request_id: str
    method: str
    path: str
    source_ip: str | None
    user_agent: str | None
    headers: Mapping[str, str]
    principal: Principal | None

    def actor(self) -> dict[str, Any]:
        """The acting user as audit records want it."""
        return {
            "user_id": self.principal.user_id if self.principal else None,
            "ip_address": self.source_ip,
            "user_agent": self.user_agent,
        }


def error_response(error: WarRoomError, request_id: str | None = None) -> Response:
    """The one error shape as a Chalice response."""
    headers = {"Content-Type": JSON_CONTENT_TYPE, **error.headers}
    if request_id:
        headers["X-Request-Id"] = request_id
    return Response(body=json.dumps(to_error_body(error)), status_code=error.status_code, headers=headers)


def _validation_details(error: ValidationError, location: str) -> list[dict[str, Any]]:
    """Pydantic's field errors without the submitted values (they may be passwords)."""
    return [
        {"loc": [location, *item["loc"]], "msg": item["msg"], "type": item["type"]}
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    ]


def _query_input(model: type[BaseModel], multi: Mapping[str, list[str]] | None) -> dict[str, Any]:
    """Multi-value query strings: list fields take every value, scalar fields the last one."""
    if not multi:
        return {}
    parsed: dict[str, Any] = {}
    for name, values in multi.items():
        info = model.model_fields.get(name) or next((f for f in model.model_fields.values() if f.alias == name), None)
        is_list = info is not None and get_origin(info.annotation) in (list, tuple, set)
        parsed[name] = list(values) if is_list else values[-1]
    return parsed


class OffContractAnswer(Exception):
    """A view answered something its route does not declare (a server bug, answered as the generic 500)."""


def _response_adapter(route: str, response: Any, status_code: int, content_type: str) -> TypeAdapter[Any] | None:
    """The adapter a JSON route's answers go through, built once; None for 204 and non-JSON routes.

    Raises :class:`TypeError` at declaration for a JSON route with a body and no response type, and
    for a 204 route that declares one.
    """
    if status_code == 204:
        if response is not None:
            raise TypeError(f"{route}: a 204 answer has no body, so the route declares no response type")
        return None
    if not is_json_content_type(content_type):
        return None
    if response is None:
        raise TypeError(
            f"{route}: a JSON route declares its response type (response=...), or status_code=204, "
            "or the content_type it answers"
        )
    return TypeAdapter(response)


def _serialise(
    result: Any, status_code: int, adapter: TypeAdapter[Any] | None = None, declared: Any = None
) -> Response:
    """The view's answer as a :class:`Response`, validated and serialised through the route's declared type.

    A :class:`Response` passes untouched (pages, files, redirects, health's 503). Otherwise the answer
    may be a dict or any pydantic model (the declared one, or e.g. a ``Page[Any]`` from a list
    function): models are dumped and everything is validated against the declared type, so extra
    keys are dropped and nothing off-schema is ever sent. An instance of the declared model itself is dumped as
    it is: it was validated when it was built (views never build answers with ``model_construct``). Raises
    :class:`pydantic.ValidationError` or :class:`OffContractAnswer` when the answer does not fit.
    """
    if isinstance(result, Response):
        return result
    if adapter is None:
        if result is not None or status_code != 204:
            raise OffContractAnswer(f"a route declared to answer {status_code} without a model answered {type(result)}")
        return Response(body="", status_code=204, headers={})
    if isinstance(declared, type) and type(result) is declared:
        # Already an instance of the declared model, so validated when it was built: dumping it again through
        # the model would only repeat that work (a large answer, such as pacing, paid twice over).
        body = adapter.dump_json(result, by_alias=True).decode()
        return Response(body=body, status_code=status_code, headers={"Content-Type": JSON_CONTENT_TYPE})
    if isinstance(result, BaseModel):
        result = result.model_dump(by_alias=True)
    value = adapter.validate_python(result)
    body = adapter.dump_json(value, by_alias=True).decode()
    return Response(body=body, status_code=status_code, headers={"Content-Type": JSON_CONTENT_TYPE})


class WarRoomApp(Chalice):
    """A Chalice app whose routes are declared with :meth:`endpoint`.

    ``authenticate`` decides who a request is (and counts its quota) for every route with a role; the
    core cannot, as it imports no domain: HTTP functions pass ``warroom.auth.guard.authenticate_request``.
    An app without one may declare public routes only.
    """

    def __init__(
        self,
        app_name: str,
        *,
        authenticate: RequestAuthenticator | None = None,
        **kwargs: Any,
    ):
        super().__init__(app_name=app_name, **kwargs)
        self.route_specs: list[RouteSpec] = []
        self.logger = configure_logging(app_name)
        self.authenticate = authenticate
        self._cold = True

    def __call__(self, event: Any, context: Any) -> Any:
        if self._cold:
            # Everything the cold start imported lives as long as the container: moved out of the collector's
            # generations, it is no longer traversed by every full collection (tens of ms on a large answer).
            gc.freeze()
            self._cold = False
        return super().__call__(event, context)

    def endpoint(
        self,
        method: str,
        path: str,
        *,
        role: Role | None,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status_code: int = 200,
        content_type: str = JSON_CONTENT_TYPE,
        max_body_bytes: int | None = None,
        summary: str | None = None,
        errors: tuple[int, ...] = (),
        other_answers: tuple[OtherAnswer, ...] = (),
        bearer_only: bool = False,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare a route. ``role=None`` makes it public; otherwise it needs that role or higher.

        ``response`` is the type every answer is validated and serialised through (a pydantic model,
        ``Page[ItemOut]``, a union of models); a JSON route must declare it (:class:`TypeError`
        otherwise). ``errors`` are the route's own error statuses beyond those its declaration implies
        (see :mod:`warroom.core.openapi`); ``other_answers`` document the :class:`Response` objects the
        view builds itself. ``bearer_only`` refuses API keys (403 ``bearer_token_required``): administration and
        a person's own sessions and profile take a signed-in user's token, never an integration's key.
        """
        method = method.upper()
        if method not in _HTTP_METHODS:
            raise ValueError(f"unsupported method {method}")
        if bearer_only and role is None:
            raise TypeError(f"{method} {path}: bearer_only needs a role (a public route has no caller to check)")
        if role is not None and self.authenticate is None:
            raise TypeError(f"{method} {path} has a role, so its app needs WarRoomApp(..., authenticate=...)")
        adapter = _response_adapter(f"{method} {path}", response, status_code, content_type)

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            wanted = set(inspect.signature(view).parameters)
            doc = inspect.getdoc(view) or ""
            self.route_specs.append(
                RouteSpec(
                    method=method,
                    path=path,
                    view_name=view.__name__,
                    summary=summary or (doc.splitlines()[0] if doc else view.__name__.replace("_", " ")),
                    description=doc,
                    role=role,
                    body=body,
                    query=query,
                    response=response,
                    status_code=status_code,
                    content_type=content_type,
                    errors=errors,
                    tags=(self.app_name,),
                    other_answers=other_answers,
                    bearer_only=bearer_only,
                    response_adapter=adapter,
                )
            )

            def answer_as_declared(**kwargs: Any) -> Response:
                result = view(**kwargs)
                try:
                    return _serialise(result, status_code, adapter, response)
                except ValidationError as error:
                    # Field paths and messages only: the answer's values may be secrets (tokens, keys).
                    problems = _validation_details(error, "response")
                    self.logger.error("%s %s answered off its response model: %s", method, path, problems)
                    raise WarRoomError() from error
                except OffContractAnswer as error:
                    self.logger.error("%s %s answered off its declaration: %s", method, path, error)
                    raise WarRoomError() from error

            def handle(**path_params: str) -> Response:
                return self._handle(
                    answer_as_declared,
                    wanted,
                    path_params,
                    method,
                    path,
                    role,
                    body,
                    query,
                    status_code,
                    max_body_bytes,
                    bearer_only,
                )

            handle.__name__ = view.__name__
            handle.__doc__ = view.__doc__
            self.route(path, methods=[method], content_types=["*/*"])(handle)
            return view

        return decorator

    def _handle(
        self,
        view: Callable[..., Any],
        wanted: set[str],
        path_params: dict[str, str],
        method: str,
        path: str,
        role: Role | None,
        body_model: type[BaseModel] | None,
        query_model: type[BaseModel] | None,
        status_code: int,
        max_body_bytes: int | None,
        bearer_only: bool = False,
    ) -> Response:
        started = time.perf_counter()
        request = self.current_request
        request_context = request.context or {}
        request_id = request_context.get("requestId") or ""
        identity = request_context.get("identity") or {}
        self.logger.append_keys(request_id=request_id, route=f"{method} {path}")
        quota_headers: dict[str, str] = {}
        try:
            ctx = RequestContext(
                request_id=request_id,
                method=method,
                path=path,
                source_ip=identity.get("sourceIp"),
                user_agent=request.headers.get("user-agent"),
                headers=request.headers,
                principal=None,
            )
            if role is not None:
                # The endpoint declaration made sure a route with a role has an authenticator.
                authenticated = self.authenticate(request.headers)  # type: ignore[misc]
                quota_headers = dict(authenticated.rate_limit_headers)
                if bearer_only and authenticated.principal.via != "bearer":
                    raise BearerTokenRequired()  # before the role: a key is the wrong credential, whatever its role
                ctx.principal = require(authenticated.principal, role)
            if problems := unsafe_text_details(dict(path_params), ["path"]):
                raise ValidationFailed("The path has invalid parameters.", details=problems)
            kwargs: dict[str, Any] = {name: value for name, value in path_params.items() if name in wanted}
            if query_model is not None:
                kwargs["query"] = self._parse_query(query_model, request.to_original_event())
            if body_model is not None:
                kwargs["body"] = self._parse_body(body_model, request, max_body_bytes)
            if "ctx" in wanted:
                kwargs["ctx"] = ctx
            if "raw_body" in wanted:
                kwargs["raw_body"] = request.raw_body or b""
            response = _serialise(view(**kwargs), status_code)
        except WarRoomError as error:
            response = error_response(error)
        except Exception:
            self.logger.exception("unhandled error")
            response = error_response(WarRoomError())
        response.headers.update(quota_headers)
        response.headers["X-Request-Id"] = request_id
        settings = get_settings()
        # A browser must not guess another type than the declared one (a JSON answer rendered as HTML).
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if not settings.sam_local:  # API Gateway serves https only; the local cloud plain http on localhost
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        response.headers.setdefault("Access-Control-Allow-Origin", settings.cors_allow_origin)
        # Without this a browser hides these headers from the dashboard's JavaScript.
        response.headers.setdefault("Access-Control-Expose-Headers", EXPOSED_HEADERS)
        duration_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={duration_ms:.1f}"
        record_request(
            self.app_name,
            f"{method} {path}",
            status_code=response.status_code,
            duration_ms=duration_ms,
            request_id=request_id,
        )
        return response

    @staticmethod
    def _parse_query(model: type[BaseModel], event: Mapping[str, Any]) -> BaseModel:
        data = _query_input(model, event.get("multiValueQueryStringParameters"))
        if problems := unsafe_text_details(data, ["query"]):
            raise ValidationFailed("The query string has invalid parameters.", details=problems)
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise ValidationFailed(
                "The query string has invalid parameters.", details=_validation_details(error, "query")
            ) from error

    @staticmethod
    def _parse_body(model: type[BaseModel], request: Any, max_body_bytes: int | None) -> BaseModel:
        raw = request.raw_body or b""
        limit = max_body_bytes or get_settings().max_body_bytes
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.", details={"max_bytes": limit})
        content_type = (request.headers.get("content-type") or JSON_CONTENT_TYPE).split(";")[0].strip().lower()
        if content_type != JSON_CONTENT_TYPE and not content_type.endswith("+json"):
            raise UnsupportedMediaType(f"Send the body as {JSON_CONTENT_TYPE}, not {content_type}.")
        try:
            data = json.loads(raw) if raw.strip() else None
        except (ValueError, UnicodeDecodeError) as error:
            raise BadRequest("The request body is not valid JSON.") from error
        except RecursionError as error:
            raise BadRequest(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.") from error
        if json_depth(data) > MAX_JSON_DEPTH:
            raise BadRequest(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.")
        if data is None:
            # A body whose every field is optional may be left out (POST /alerts/{id}/acknowledge).
            if any(field.is_required() for field in model.model_fields.values()):
                raise BadRequest("The request needs a JSON body.")
            data = {}
        if problems := unsafe_text_details(data, ["body"]):
            raise ValidationFailed("The request body has invalid fields.", details=problems)
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise ValidationFailed(
                "The request body has invalid fields.", details=_validation_details(error, "body")
            ) from error
