"""Structured JSON logs through Powertools, for a function and for every ``warroom.*`` module logger.

Example
-------
>>> logger = configure_logging("system")
>>> logger.append_keys(request_id="c6af9ac6-...")
>>> logger.info("data mode changed", extra={"mode": "LIVE"})

Layer modules keep using ``logging.getLogger(__name__)``; their records get the function's JSON
formatter and keys (service, request id, cold start) once the function has configured logging.
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger

_configured: dict[str, Logger] = {}


def configure_logging(service: str) -> Logger:
    """The function's Powertools logger; also formats the layer's own module loggers as JSON."""
    if service not in _configured:
        logger = Logger(service=service)
        layer_logger = logging.getLogger("warroom")
        layer_logger.handlers = list(logger.handlers)
        layer_logger.setLevel(logger.log_level)
        layer_logger.propagate = False
        _configured[service] = logger
    return _configured[service]
