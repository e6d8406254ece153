"""The LIVE path: chat completions with a strict JSON-schema answer, through the official ``openai`` SDK.

Example
-------
>>> result, model = complete_structured(
...     "analyze", [{"role": "system", "content": "..."}, {"role": "user", "content": "..."}],
...     AnalysisResult, schema_name="campaign_analysis", user_id=principal.user_id,
... )
>>> result.risk.level, model
('high', 'gpt-4o-mini')

Everything about the call comes from configuration (:func:`warroom.core.config.get_settings`): the key,
``WARROOM_OPENAI_BASE_URL`` (a local fake in tests), the model, the timeout and the SDK's own retries (it
retries connection errors, 408/409/429 and 5xx with backoff, honouring ``retry-after``). The answer is
asked for as ``response_format={"type": "json_schema", "json_schema": {..., "strict": True}}`` with the
schema made from the pydantic model, and validated against the same model.

Every completed call's token usage is a row of ``ai_usage`` (purpose, model, tokens, user) -- also when
the answer turns out malformed, because those tokens were paid for. Whatever goes wrong becomes one
:class:`AIUnavailable` (a 503) whose ``cause`` says what in one word; its message never repeats the
vendor's text, which for a rejected key quotes part of the key.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from warroom.core.config import get_settings
from warroom.core.db import connection
from warroom.core.errors import DependencyUnavailable

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

# Enough for either answer with room to spare (reasoning models spend part of it thinking); a cut-off
# answer is reported as malformed rather than half-parsed.
MAX_COMPLETION_TOKENS = 4_000
# When OpenAI rate-limits without saying for how long, clients are told to come back after this.
DEFAULT_RETRY_AFTER_S = 10
MAX_RETRY_AFTER_S = 60
# Keywords the strict mode of structured outputs does not accept.
_NOT_IN_STRICT_SCHEMAS = ("title", "default")


class AIUnavailable(DependencyUnavailable):
    """OpenAI cannot give an answer now; ``cause`` says why in one word.

    Causes: ``not_configured``, ``unreachable``, ``timeout``, ``key_rejected``, ``rate_limited``,
    ``upstream_error``, ``malformed_answer``, ``refused``.
    """

    def __init__(self, cause: str, message: str, *, retry_after_s: int = 5):
        super().__init__("openai", message, retry_after_s=retry_after_s)
        self.cause = cause
        self.details = {"dependency": "openai", "cause": cause}


def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema as OpenAI's strict mode wants it.

    Every object lists all its properties as required and forbids others; ``title`` and ``default``
    (not accepted in strict mode) are dropped. Descriptions stay: they tell the model what to write.
    """
    return _strict(model.model_json_schema())


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    strict: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs"):
            # These map names to schemas: a field called "title" is a name, not the keyword.
            strict[key] = {name: _strict(schema) for name, schema in value.items()}
        elif key not in _NOT_IN_STRICT_SCHEMAS:
            strict[key] = _strict(value)
    if strict.get("type") == "object":
        strict["required"] = list(strict.get("properties", {}))
        strict["additionalProperties"] = False
    return strict


def response_format(model: type[BaseModel], name: str) -> dict[str, Any]:
    """The ``response_format`` argument asking for an answer that obeys ``model``."""
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": strict_json_schema(model)}}


@functools.lru_cache(maxsize=4)
def _client(api_key: str, base_url: str | None, timeout_s: float, max_retries: int) -> Any:
    """One SDK client (and its connection pool) per container and configuration."""
    from openai import OpenAI

    return OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries)


def configured_client(use: str) -> Any:
    """The SDK client of the configuration; :class:`AIUnavailable` ``not_configured`` without a key (``use`` says
    what LIVE would have used it for, in the message)."""
    settings = get_settings()
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        raise AIUnavailable("not_configured", f"OpenAI is not configured: set OPENAI_API_KEY to use LIVE {use}.")
    return _client(
        settings.openai_api_key.get_secret_value(),
        settings.openai_base_url,
        settings.openai_timeout_s,
        settings.openai_max_retries,
    )


def configured_model() -> str:
    """The chat model of the configuration (``WARROOM_OPENAI_MODEL``)."""
    return get_settings().openai_model


def complete_structured(
    purpose: str,
    messages: list[dict[str, str]],
    result_model: type[T],
    *,
    schema_name: str,
    user_id: str | None = None,
) -> tuple[T, str]:
    """Ask the configured model for an answer obeying ``result_model``; returns it and the model that answered.

    Raises :class:`AIUnavailable` when no key is configured, OpenAI cannot be reached or refuses, or the
    answer does not parse and validate.
    """
    import openai

    settings = get_settings()
    client = configured_client("analysis")
    try:
        completion = client.chat.completions.create(
            model=settings.openai_model,
            messages=messages,
            response_format=response_format(result_model, schema_name),
            max_completion_tokens=MAX_COMPLETION_TOKENS,
        )
    except openai.APIError as error:
        raise map_openai_error(purpose, error) from error

    answered_by = completion.model or settings.openai_model
    usage = completion.usage
    record_usage(
        purpose,
        answered_by,
        prompt_tokens=usage.prompt_tokens if usage else 0,
        completion_tokens=usage.completion_tokens if usage else 0,
        total_tokens=usage.total_tokens if usage else 0,
        user_id=user_id,
    )
    return _parse(purpose, completion, result_model), answered_by


def map_openai_error(purpose: str, error: Exception) -> AIUnavailable:
    """The :class:`AIUnavailable` an SDK error stands for (once the SDK's own retries are spent).

    Every call to OpenAI maps its errors here, so the chat and the embeddings paths name the same causes:
    ``timeout``, ``unreachable``, ``key_rejected`` (401/403), ``rate_limited`` (429, with OpenAI's
    ``retry-after``), ``upstream_error`` (any other status) and ``malformed_answer`` (an answer the SDK
    could not read). The message never repeats the vendor's text.

    Example
    -------
    >>> try:
    ...     client.embeddings.create(model="text-embedding-3-small", input=["..."])
    ... except openai.APIError as error:
    ...     raise map_openai_error("document_embedding", error) from error
    """
    import openai

    if isinstance(error, openai.APITimeoutError):
        message = f"OpenAI did not answer within {get_settings().openai_timeout_s:g} s."
        return _unavailable(purpose, "timeout", message)
    if isinstance(error, openai.APIConnectionError):
        return _unavailable(purpose, "unreachable", "OpenAI could not be reached.")
    if isinstance(error, (openai.AuthenticationError, openai.PermissionDeniedError)):
        message = f"OpenAI rejected the configured API key ({error.status_code}); check OPENAI_API_KEY."
        return _unavailable(purpose, "key_rejected", message)
    if isinstance(error, openai.RateLimitError):
        retry_after_s = _retry_after_s(error.response.headers)
        message = f"OpenAI is rate-limiting this account; try again in {retry_after_s} s."
        return _unavailable(purpose, "rate_limited", message, retry_after_s=retry_after_s)
    if isinstance(error, openai.APIStatusError):
        message = f"OpenAI answered with an error ({error.status_code}); try again shortly."
        return _unavailable(purpose, "upstream_error", message)
    return _unavailable(purpose, "malformed_answer", "OpenAI's answer could not be read.")


def _parse(purpose: str, completion: Any, result_model: type[T]) -> T:
    """The first choice's content, validated against ``result_model``; malformed: :class:`AIUnavailable`."""
    if not completion.choices:
        raise _unavailable(purpose, "malformed_answer", "OpenAI answered without a choice.")
    choice = completion.choices[0]
    if getattr(choice.message, "refusal", None):
        raise _unavailable(purpose, "refused", "OpenAI declined to analyse this content.")
    if choice.finish_reason != "stop":
        message = f"OpenAI's answer was cut short ({choice.finish_reason})."
        raise _unavailable(purpose, "malformed_answer", message)
    try:
        return result_model.model_validate(json.loads(choice.message.content or ""))
    except (ValueError, ValidationError) as error:
        message = "OpenAI's answer did not match the requested schema."
        raise _unavailable(purpose, "malformed_answer", message) from error


def _unavailable(purpose: str, cause: str, message: str, *, retry_after_s: int = 5) -> AIUnavailable:
    logger.warning("openai call for %s failed: %s", purpose, cause)
    return AIUnavailable(cause, message, retry_after_s=retry_after_s)


def _retry_after_s(headers: Any) -> int:
    """OpenAI's ``retry-after-ms`` / ``retry-after`` (seconds), bounded; our default when it sends neither."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        try:
            seconds = float(raw) * scale if raw is not None else None
        except ValueError:
            seconds = None
        if seconds is not None:
            return max(1, min(MAX_RETRY_AFTER_S, math.ceil(seconds)))
    return DEFAULT_RETRY_AFTER_S


def record_usage(
    purpose: str,
    model: str,
    *,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    total_tokens: int = 0,
    cached: bool = False,
    user_id: str | None = None,
) -> None:
    """One ``ai_usage`` row: what a call cost (``cached=True``: an answer served from the cache, no tokens)."""
    with connection() as conn:
        conn.execute(
            "INSERT INTO ai_usage (purpose, model, prompt_tokens, completion_tokens, total_tokens, cached, user_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (purpose, model[:100], prompt_tokens, completion_tokens, total_tokens, cached, user_id),
        )
