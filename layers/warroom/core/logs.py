"""Structured JSON logs through Powertools, for a function and for every ``warroom.*`` module logger.

Example
-------
>>> logger = configure_logging("system")
>>> @logger.inject_lambda_context
... def handler(event, context):
...     logger.info("data mode changed", extra={"mode": "LIVE"})

Layer modules keep using ``logging.getLogger(__name__)``; while a function's handler runs, their records are
written by that function's logger, with its keys (service, function name, request id, cold start). The function
being invoked is kept in a context variable rather than in the shared ``warroom`` logger's handlers: locally every
function runs in one process (one thread per container), and a handler list shared by all of them would give a
layer line the keys of whichever function configured logging last.
"""

from __future__ import annotations

import functools
import logging
import sys
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

LAYER_LOGGER_NAME = "warroom"
_configured: dict[str, FunctionLogger] = {}
_invoking: ContextVar[FunctionLogger | None] = ContextVar("warroom_invoking_function_logger", default=None)


class FunctionLogger(Logger):
    """A function's Powertools logger; while a handler it decorates runs, the layer's records carry its keys."""

    def inject_lambda_context(  # type: ignore[override]
        self,
        lambda_handler: Any = None,
        log_event: bool | None = None,
        correlation_id_path: str | None = None,
        clear_state: bool | None = False,
        flush_buffer_on_uncaught_error: bool = False,
    ) -> Any:
        options = {
            "log_event": log_event,
            "correlation_id_path": correlation_id_path,
            "clear_state": clear_state,
            "flush_buffer_on_uncaught_error": flush_buffer_on_uncaught_error,
        }
        if lambda_handler is None:  # used with arguments: @logger.inject_lambda_context(log_event=True)
            return functools.partial(self.inject_lambda_context, **options)
        with_context = super().inject_lambda_context(lambda_handler, **options)

        @functools.wraps(lambda_handler)
        def handler(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            invoking = _invoking.set(self)
            try:
                return with_context(event, context, *args, **kwargs)
            finally:
                _invoking.reset(invoking)

        return handler


class _StdoutHandler(logging.StreamHandler):
    """A stream handler on whatever ``sys.stdout`` is when it writes (not the one it was made with)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stdout

    @stream.setter
    def stream(self, value: Any) -> None:
        """Ignored: the stream is always the current standard output."""


class _InvokingFunctionHandler(logging.Handler):
    """Writes each layer record through the handler of the function being invoked.

    Outside an invocation (import time, a thread the handler started) that is the function's logger when the process
    has only one, as in AWS; with several (the local cloud) no function can be told, so the record gets a neutral
    ``warroom`` service rather than a wrong one.
    """

    def __init__(self) -> None:
        super().__init__()
        self._neutral: logging.Handler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        function_logger = _invoking.get()
        if function_logger is None and len(_configured) == 1:
            function_logger = next(iter(_configured.values()))
        target = function_logger.registered_handler if function_logger is not None else self._neutral_handler()
        target.handle(record)

    def _neutral_handler(self) -> logging.Handler:
        if self._neutral is None:
            self._neutral = _StdoutHandler()
            self._neutral.setFormatter(LambdaPowertoolsFormatter(service=LAYER_LOGGER_NAME))
        return self._neutral


_layer_handler = _InvokingFunctionHandler()


def configure_logging(service: str) -> FunctionLogger:
    """The function's Powertools logger; also formats the layer's own module loggers as JSON."""
    if service not in _configured:
        logger = FunctionLogger(service=service)
        layer_logger = logging.getLogger(LAYER_LOGGER_NAME)
        layer_logger.handlers = [_layer_handler]
        layer_logger.setLevel(logger.log_level)
        layer_logger.propagate = False
        _configured[service] = logger
    return _configured[service]
