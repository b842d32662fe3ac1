"""Structured logs: one JSON object per line on standard output.

A record's fields are the standard ones (time, level, logger, message) plus
what the caller passes as ``extra={"fields": {...}}``, and the id of the
request being served, when there is one.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import sys
import time
from typing import Any

import orjson

# The id of the request this task serves (the request log middleware sets it).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

LEVELS = ("critical", "error", "warning", "info", "debug")


class _Clock:
    """The log's timestamp; the part down to the second is formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def format(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{int((created - second) * 1000):03d}Z"


CLOCK = _Clock()


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
    """Send every logger (ours, granian's, the drivers') to stdout as JSON lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("_granian", "granian.access", "asyncio", "aiomysql"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # granian's access log is replaced by ours (one line per request, with the cache result).
    logging.getLogger("granian.access").disabled = True


class AccessLog:
    """The request log: the same JSON lines as ``JsonFormatter``'s, logger ``webstack.request``.

    It bypasses the logging module's per-record machinery and writes the lines of
    one turn of the event loop with one system call: at tens of thousands of
    requests a second, a write per line would cost more than serving the hit.
    """

    def __init__(self, fd: int | None = None) -> None:
        self.fd = sys.stdout.fileno() if fd is None else fd
        self.enabled = logging.getLogger("webstack.request").isEnabledFor(logging.INFO)
        self._buffer = bytearray()

    def log(self, rid: str, method: str, path: str, status: int, seconds: float, cache: str | None) -> None:
        """One request's line: its id, method, path, status, latency and cache result."""
        if not self.enabled:
            return
        line = orjson.dumps(
            {
                "time": CLOCK.format(time.time()),
                "level": "info",
                "logger": "webstack.request",
                "message": "request",
                "request_id": rid,
                "method": method,
                "path": path,
                "status": status,
                "latency_ms": round(seconds * 1000, 3),
                "cache": cache,
            },
            option=orjson.OPT_APPEND_NEWLINE,
        )
        if not self._buffer:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:
                self._buffer += line
                self.flush()
                return
        self._buffer += line

    def flush(self) -> None:
        data, self._buffer = bytes(self._buffer), bytearray()
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.fd, view)
            except BlockingIOError:
                continue
            except OSError:
                return  # stdout gone (closed pipe): the service keeps serving
            view = view[written:]


def fields(**values: Any) -> dict[str, Any]:
    """``extra=`` argument of a logging call carrying structured fields."""
    return {"fields": values}
