"""Structured logs: one JSON object per line on standard output.

A record's fields are the standard ones (time, level, logger, message) plus
what the caller passes as ``extra={"fields": {...}}``, and the id of the
request being served, when there is one.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from typing import Any

import orjson

# The id of the request this task serves (the request log middleware sets it).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

LEVELS = ("critical", "error", "warning", "info", "debug")


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            entry["request_id"] = rid
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            # Kept on one line: the traceback is a field, never bare lines in the log.
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def setup_logging(level: str) -> None:
    """Send every logger (ours, uvicorn's, the drivers') to stdout as JSON lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "asyncio", "aiomysql"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # uvicorn's access log is replaced by ours (one line per request, with the cache result).
    logging.getLogger("uvicorn.access").disabled = True


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` argument of a logging call carrying structured fields."""
    return {"fields": values}
