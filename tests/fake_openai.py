"""A local fake of the OpenAI API's chat completions and embeddings, answering in the real API's shapes.

Example
-------
>>> with FakeOpenAI() as fake:
...     os.environ["WARROOM_OPENAI_BASE_URL"] = fake.base_url       # http://127.0.0.1:<port>/v1
...     os.environ["OPENAI_API_KEY"] = fake.api_key
...     fake.faults.extend(["429:2", "malformed"])                  # the next two requests fail so
...     fake.replies.append({...})                                  # the next good answer's content

``POST /v1/chat/completions`` answers a ``chat.completion`` object (``id``, ``object``, ``created``,
``model``, ``choices[0].message.content`` holding a JSON string that obeys the request's
``response_format.json_schema.schema``, ``finish_reason``, ``usage``), as the API does with structured
outputs. The content is the next of ``replies`` when there is one, otherwise a document generated from
the requested schema (every required property, enums' first value, numbers within their bounds).

A wrong bearer token gets the API's 401. Faults, taken one per request from ``faults``: ``429`` (no
``retry-after``), ``429:<s>`` (``retry-after: <s>``), ``500``, ``401``, ``malformed`` (a 200 whose content
is cut-off JSON), ``invalid`` (a 200 whose JSON content breaks the schema), ``slow:<s>`` (answers after
``<s>`` seconds, to trip a client timeout); any other value (``ok``) is no fault. Errors carry the API's body,
``{"error": {"message", "type", "param", "code"}}``; with ``retry_after_ms`` set, every 429 and 500 also
says ``retry-after-ms`` (which the SDK honours), so tests of its retries do not wait half a second a try.
Every request is recorded in ``requests`` with its path and parsed body, so tests can check the model, the
messages and the ``response_format`` -- or how inputs were batched.

``POST /v1/embeddings`` answers a ``list`` of ``embedding`` objects (``index``, ``embedding``) with
``model`` and ``usage`` (``prompt_tokens`` = ``total_tokens``, four characters a token), as the API does:
each vector is :func:`embedding_for` its input (deterministic, unit length, 1536 dimensions), as floats or,
when the request says ``encoding_format: "base64"`` (the SDK's default), as base64 little-endian float32.
``shuffle_embeddings = True`` returns the items out of index order, as the API is free to. It enforces the
API's limits: more than 2,048 inputs, an empty input or more than 300,000 tokens in one request is the
API's 400. The same ``faults`` apply, one per request of either endpoint; for embeddings ``malformed`` is a
200 whose vectors are cut to 8 dimensions and ``invalid`` a 200 missing the last input's item.
"""

from __future__ import annotations

import array
import asyncio
import base64
import functools
import hashlib
import json
import math
import random
import secrets
import threading
import time
from collections import deque
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from localcloud.services import free_port

RATE_LIMITED = {
    "message": "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): "
    "Limit 3, Used 3, Requested 1. Please try again in 20s.",
    "type": "requests",
    "param": None,
    "code": "rate_limit_exceeded",
}
SERVER_ERROR = {
    "message": "The server had an error while processing your request. Sorry about that!",
    "type": "server_error",
    "param": None,
    "code": None,
}


EMBEDDING_DIMENSIONS = 1536
MAX_EMBEDDING_INPUTS = 2048
MAX_EMBEDDING_TOKENS = 300_000


def invalid_request_error(message: str, param: str | None = "input") -> dict[str, Any]:
    """The API's 400 body for a request it will not take."""
    return {"message": message, "type": "invalid_request_error", "param": param, "code": None}


@functools.lru_cache(maxsize=16_384)
def _embedding(text: str) -> tuple[float, ...]:
    raw = hashlib.shake_256(text.encode()).digest(EMBEDDING_DIMENSIONS)
    values = [(byte - 127.5) / 127.5 for byte in raw]
    scale = 1.0 / math.hypot(*values)
    # Rounded to float32, so the floats and the base64 encodings of a vector read back identical.
    return tuple(array.array("f", [value * scale for value in values]))


def embedding_for(text: str) -> list[float]:
    """The fake's embedding of ``text``: deterministic, unit length (to float32 precision), 1536 dimensions."""
    return list(_embedding(text))


def embedding_tokens(text: str) -> int:
    """What the fake bills for one input: four characters a token, at least one."""
    return max(1, len(text) // 4)


def invalid_key_error(token: str) -> dict[str, Any]:
    """The API's 401 body, which quotes the start and end of the key it was given."""
    shown = f"{token[:3]}{'*' * 4}{token[-4:]}" if len(token) > 8 else token
    return {
        "message": f"Incorrect API key provided: {shown}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }


def document_for(schema: dict[str, Any], root: dict[str, Any] | None = None, name: str = "value") -> Any:
    """A value obeying ``schema`` (the subset structured outputs allow), deterministic."""
    root = root or schema
    if "$ref" in schema:
        return document_for(root["$defs"][schema["$ref"].rsplit("/", 1)[-1]], root, name)
    if "anyOf" in schema:
        return document_for(next(s for s in schema["anyOf"] if s.get("type") != "null"), root, name)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {key: document_for(value, root, key) for key, value in schema.get("properties", {}).items()}
    if kind == "array":
        return [document_for(schema["items"], root, name) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind in ("number", "integer"):
        low, high = schema.get("minimum", float("-inf")), schema.get("maximum", float("inf"))
        value = min(max(0, low), high)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    return f"fake {name}"


class FakeOpenAI:
    def __init__(self) -> None:
        self.api_key = "sk-fake-" + secrets.token_hex(12)
        self.faults: deque[str] = deque()
        self.replies: deque[dict[str, Any]] = deque()
        self.requests: list[dict[str, Any]] = []
        self.retry_after_ms: int | None = None
        self.shuffle_embeddings = False
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            ]
        )
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake OpenAI did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    def embedding_requests(self) -> list[dict[str, Any]]:
        """The bodies of the embeddings requests received, in order."""
        return [entry["body"] for entry in self.requests if entry["path"] == "/v1/embeddings"]

    async def _take_fault(self, request: Request) -> tuple[dict[str, Any], str | None, Response | None]:
        """Record the request and take its fault: (headers, fault, the error answer if the fault is one)."""
        body = await request.json()
        self.requests.append({"path": request.url.path, "body": body, "at": time.monotonic()})
        headers = {"x-request-id": "req_" + secrets.token_hex(8), "openai-processing-ms": "42"}
        token = (request.headers.get("authorization") or "").removeprefix("Bearer ").strip()
        fault = self.faults.popleft() if self.faults else None
        retry = {"retry-after-ms": str(self.retry_after_ms)} if self.retry_after_ms is not None else {}
        if token != self.api_key or fault == "401":
            return headers, fault, JSONResponse({"error": invalid_key_error(token)}, status_code=401, headers=headers)
        if fault is not None and fault.startswith("429"):
            _, _, seconds = fault.partition(":")
            return (
                headers,
                fault,
                JSONResponse(
                    {"error": RATE_LIMITED},
                    status_code=429,
                    headers={**headers, **({"retry-after": seconds} if seconds else {}), **retry},
                ),
            )
        if fault == "500":
            return headers, fault, JSONResponse({"error": SERVER_ERROR}, status_code=500, headers={**headers, **retry})
        if fault is not None and fault.startswith("slow:"):
            await asyncio.sleep(float(fault.partition(":")[2]))
        return headers, fault, None

    async def _completions(self, request: Request) -> Response:
        headers, fault, failure = await self._take_fault(request)
        if failure is not None:
            return failure
        body = self.requests[-1]["body"]
        schema = body.get("response_format", {}).get("json_schema", {}).get("schema", {"type": "object"})
        if fault == "malformed":
            content = '{"summary": "cut off", "sentiment": {"score": 0.4, "lab'
        elif fault == "invalid":
            content = json.dumps({"unexpected": True})
        else:
            content = json.dumps(self.replies.popleft() if self.replies else document_for(schema))
        return JSONResponse(self._completion(body, content), headers=headers)

    async def _embeddings(self, request: Request) -> Response:
        headers, fault, failure = await self._take_fault(request)
        if failure is not None:
            return failure
        body = self.requests[-1]["body"]
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(inputs, list) or not all(isinstance(text, str) for text in inputs):
            return JSONResponse({"error": invalid_request_error("'input' must be a string or strings.")}, 400)
        if not inputs or len(inputs) > MAX_EMBEDDING_INPUTS:
            message = f"'$.input' is invalid: {len(inputs)} inputs, at most {MAX_EMBEDDING_INPUTS} per request."
            return JSONResponse({"error": invalid_request_error(message)}, 400, headers=headers)
        if any(not text for text in inputs):
            message = (
                "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference"
            )
            return JSONResponse({"error": invalid_request_error(message)}, 400, headers=headers)
        tokens = sum(embedding_tokens(text) for text in inputs)
        if tokens > MAX_EMBEDDING_TOKENS:
            message = f"Requested {tokens} tokens, max {MAX_EMBEDDING_TOKENS} tokens per request"
            return JSONResponse({"error": invalid_request_error(message)}, 400, headers=headers)
        vectors = [embedding_for(text) for text in inputs]
        if fault == "malformed":
            vectors = [vector[:8] for vector in vectors]
        data = [
            {"object": "embedding", "index": index, "embedding": self._encoded(vector, body.get("encoding_format"))}
            for index, vector in enumerate(vectors)
        ]
        if fault == "invalid":
            data = data[:-1]
        if self.shuffle_embeddings:
            random.Random(len(data)).shuffle(data)
        answer = {
            "object": "list",
            "data": data,
            "model": body.get("model"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return JSONResponse(answer, headers=headers)

    @staticmethod
    def _encoded(vector: list[float], encoding_format: str | None) -> list[float] | str:
        if encoding_format == "base64":
            return base64.b64encode(array.array("f", vector).tobytes()).decode()
        return vector

    @staticmethod
    def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
        prompt_tokens = sum(len(str(message.get("content", ""))) for message in body.get("messages", [])) // 4 + 7
        completion_tokens = len(content) // 4 + 1
        return {
            "id": "chatcmpl-" + secrets.token_hex(12),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }
