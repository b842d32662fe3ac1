"""The HTTP service: routes, validation, the request log.

GET    /api/items/{id}   Redis, then MySQL on a miss (stored back with a TTL); X-Cache: hit|miss|bypass
PUT    /api/items/{id}   JSON {"name": ..., "description": ...} to MySQL, then the key is evicted
DELETE /api/items/{id}   from MySQL, then the key is evicted
GET    /healthz          200 while the process serves
GET    /readyz           200 when Redis and MySQL answer, else 503 naming what failed
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import __version__
from .aws import credentials_from
from .config import HEALTH_CHECK_PATH, Settings
from .logs import AccessLog, fields, request_id, setup_logging
from .stores import ABSENT, Cache, Database, StoreUnavailable, item_key

LOG = logging.getLogger("webstack.backend")

JSON = "application/json"
MAX_ID = 2**63 - 1
NAME_MAX = 200
DESCRIPTION_MAX = 2000
FIELDS = {"id", "name", "description"}

SELECT_ITEM = "SELECT id, name, description FROM items WHERE id = %s"
UPSERT_ITEM = (
    # VALUES() rather than a row alias: MariaDB, which stands in for MySQL in the tests, has no alias.
    "INSERT INTO items (id, name, description) VALUES (%s, %s, %s) "
    "ON DUPLICATE KEY UPDATE name = VALUES(name), description = VALUES(description)"
)
DELETE_ITEM = "DELETE FROM items WHERE id = %s"


class ClientError(Exception):
    """A request the service refuses: status, a short error and what was expected and found."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


def json_response(status: int, body: Any, cache: str | None = None, **headers: str) -> Response:
    if cache is not None:
        headers["X-Cache"] = cache
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers or None)


def error_response(status: int, error: str, detail: str, cache: str | None = None, **extra: Any) -> Response:
    headers = {"Retry-After": "1"} if status == 503 else {}
    return json_response(status, {"error": error, "detail": detail, **extra}, cache, **headers)


def unavailable_body(problem: StoreUnavailable) -> bytes:
    detail = f"the {problem.store} store does not answer; retry later"
    return orjson.dumps({"error": "service unavailable", "detail": detail, "store": problem.store})


def unavailable(problem: StoreUnavailable, cache: str | None = None) -> Response:
    LOG.error("store unavailable", extra=fields(store=problem.store, error=problem.reason))
    headers = {"X-Cache": cache} if cache else {}
    return Response(unavailable_body(problem), 503, media_type=JSON, headers={"Retry-After": "1", **headers})


def not_found_body(item_id: int) -> bytes:
    return orjson.dumps({"error": "not found", "detail": f"no item {item_id}", "id": item_id})


def parse_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 1 <= int(raw) <= MAX_ID:
        raise ClientError(400, "invalid id", f"expected a positive integer up to {MAX_ID}, found {raw[:40]!r}")
    return int(raw)


def parse_item(item_id: int, body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ClientError(400, "invalid JSON", f"the body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise ClientError(400, "invalid item", f"expected a JSON object, found {type(data).__name__}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise ClientError(400, "invalid item", f"unknown fields {unknown}; expected {sorted(FIELDS)}")
    if "id" in data and data["id"] != item_id:
        raise ClientError(400, "invalid item", f"field 'id' is {data['id']!r}, the path says {item_id}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        raise ClientError(
            400, "invalid item", f"field 'name' must be a non-empty string of at most {NAME_MAX} characters"
        )
    description = data.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > DESCRIPTION_MAX):
        raise ClientError(
            400, "invalid item", f"field 'description' must be a string of at most {DESCRIPTION_MAX} characters"
        )
    return {"id": item_id, "name": name, "description": description}


async def read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise ClientError(413, "body too large", f"expected at most {limit} bytes, found {length}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ClientError(413, "body too large", f"expected at most {limit} bytes, found more")
    return bytes(body)


class Service:
    """The stores and the handlers that use them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The secrets read again when a store refuses them (a rotation), when they came from AWS.
        credentials = credentials_from(settings)
        self.cache = Cache(settings, credentials)
        self.db = Database(settings, credentials)

    async def close(self) -> None:
        await self.cache.close()
        await self.db.close()

    async def lookup(self, raw_id: str) -> tuple[int, bytes, str | None]:
        """GET /api/items/{raw_id}: (status, JSON body, X-Cache). The hot path: plain values, no objects."""
        try:
            item_id = parse_id(raw_id)
        except ClientError as error:
            return error.status, orjson.dumps({"error": error.error, "detail": error.detail}), None
        key = item_key(item_id)
        cache = self.cache
        label = "bypass"
        token, written = None, False
        if cache.usable:
            try:
                value = await cache.get(key)
                if value is not None:
                    if value == ABSENT:
                        return 404, not_found_body(item_id), "hit"
                    return 200, value, "hit"
                token, written = await cache.begin_miss(key)
                label = "miss"
            except (RedisError, OSError) as error:
                cache.failed(error)
        try:
            rows = await self.db.read(SELECT_ITEM, (item_id,), from_writer=written)
        except StoreUnavailable as problem:
            if token:
                await self.release(key, token)
            LOG.error("store unavailable", extra=fields(store=problem.store, error=problem.reason))
            return 503, unavailable_body(problem), label
        value = orjson.dumps({"id": rows[0][0], "name": rows[0][1], "description": rows[0][2]}) if rows else ABSENT
        if token:
            ttl = self.settings.cache_ttl if rows else self.settings.negative_ttl
            try:
                if ttl > 0:
                    await cache.store(key, token, value, ttl)
                else:
                    await cache.release(key, token)
            except (RedisError, OSError) as error:
                cache.failed(error)
        if not rows:
            return 404, not_found_body(item_id), label
        return 200, value, label

    async def get_item(self, request: Request) -> Response:
        """The same as the hot path, for what reaches Starlette (HEAD)."""
        status, body, label = await self.lookup(request.path_params["item_id"])
        headers = {"X-Cache": label} if label else {}
        if status == 503:
            headers["Retry-After"] = "1"
        return Response(body, status_code=status, media_type=JSON, headers=headers)

    async def release(self, key: str, token: str) -> None:
        try:
            await self.cache.release(key, token)
        except (RedisError, OSError) as error:
            self.cache.failed(error)

    async def put_item(self, request: Request) -> Response:
        item_id = parse_id(request.path_params["item_id"])
        item = parse_item(item_id, await read_body(request, self.settings.max_body_bytes))
        try:
            count = await self.db.write(UPSERT_ITEM, (item_id, item["name"], item["description"]))
        except StoreUnavailable as problem:
            return unavailable(problem)
        label = "evict" if await self.cache.evict(item_key(item_id)) else "bypass"
        return json_response(201 if count == 1 else 200, item, label)

    async def delete_item(self, request: Request) -> Response:
        item_id = parse_id(request.path_params["item_id"])
        try:
            count = await self.db.write(DELETE_ITEM, (item_id,))
        except StoreUnavailable as problem:
            return unavailable(problem)
        label = "evict" if await self.cache.evict(item_key(item_id)) else "bypass"
        if not count:
            return error_response(404, "not found", f"no item {item_id}", label, id=item_id)
        return Response(status_code=204, headers={"X-Cache": label})

    async def healthz(self, request: Request) -> Response:
        return json_response(200, {"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            await self.cache.ping()
            checks["redis"] = "ok"
        except (RedisError, OSError) as error:
            self.cache.failed(error)
            checks["redis"] = f"failed: {type(error).__name__}"
        for pool in self.db.pools():
            try:
                await pool.execute("SELECT 1")
                checks[pool.name] = "ok"
            except StoreUnavailable as problem:
                checks[pool.name] = f"failed: {problem.reason.split(':')[0]}"
        failed = sorted(name for name, result in checks.items() if result != "ok")
        if failed:
            return json_response(503, {"status": "not ready", "failed": failed, "checks": checks})
        return json_response(200, {"status": "ready", "checks": checks})


async def client_error(request: Request, error: ClientError) -> Response:  # type: ignore[override]
    return error_response(error.status, error.error, error.detail)


async def http_error(request: Request, error: HTTPException) -> Response:  # type: ignore[override]
    reason = {404: "not found", 405: "method not allowed"}.get(error.status_code, "error")
    detail = f"no route for {request.method} {request.url.path}" if error.status_code in (404, 405) else error.detail
    return error_response(error.status_code, reason, str(detail), **(error.headers or {}))


async def server_error(request: Request, error: Exception) -> Response:
    return error_response(500, "internal error", "the request failed; the log has the details")


def create_app(settings: Settings) -> ASGIApp:
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        LOG.info(
            "backend started",
            extra=fields(
                version=__version__,
                pid=os.getpid(),
                cache_ttl=settings.cache_ttl,
                mysql_reader=settings.mysql_reader_url is not None,
            ),
        )
        # What start-up built (modules, the app, the pools) leaves the collector's view: the full
        # collections that requests' allocations trigger then walk only what requests left, not
        # the whole heap (a pause of milliseconds, each one in the p99 of the requests it holds up).
        gc.collect()
        gc.freeze()
        yield
        await service.close()
        LOG.info("backend stopped: pools closed", extra=fields(pid=os.getpid()))

    routes = [
        Route("/api/items/{item_id}", service.get_item, methods=["GET"]),
        Route("/api/items/{item_id}", service.put_item, methods=["PUT"]),
        Route("/api/items/{item_id}", service.delete_item, methods=["DELETE"]),
        Route(HEALTH_CHECK_PATH, service.healthz, methods=["GET"]),
        Route("/readyz", service.readyz, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ClientError: client_error, HTTPException: http_error, Exception: server_error},
    )
    return RequestLog(app, service)


def trace_id(value: bytes) -> str:
    """The ``Root=`` part of an ALB trace header (the same on every hop), else the whole header."""
    text = value.decode("latin-1")[:256]
    for part in text.split(";"):
        if part.startswith("Root="):
            return part[5:]
    return text


ITEMS_PREFIX = "/api/items/"
ITEMS_PREFIX_LENGTH = len(ITEMS_PREFIX)


# The hot path's constant headers, encoded once.
CONTENT_TYPE_JSON = (b"content-type", b"application/json")
X_CACHE = {label: (b"x-cache", label.encode()) for label in ("hit", "miss", "bypass")}
RETRY_AFTER = (b"retry-after", b"1")


class RequestIds:
    """Request ids for requests without an ALB trace id: 16 hex digits, a random prefix per
    process and a counter (unique, and no system call per request as ``os.urandom`` would be)."""

    def __init__(self) -> None:
        self.prefix = os.urandom(4).hex()
        self.count = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}{next(self.count) & 0xFFFFFFFF:08x}"


class RequestLog:
    """The outermost ASGI layer: the request id, one JSON log line per request, and the hot path.

    ``GET /api/items/{id}`` is answered here, without Starlette's request and
    response objects (it is most of the traffic); everything else goes to Starlette.
    """

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service
        self.access = AccessLog()
        self.ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = None
        for name, value in scope["headers"]:
            if name == b"x-amzn-trace-id":
                rid = trace_id(value)
                break
        if rid is None:
            rid = self.ids.next()
        token = request_id.set(rid)
        status = 500
        cache = None
        path = scope["path"]
        method = scope["method"]
        logged = False
        try:
            if method == "GET" and path.startswith(ITEMS_PREFIX) and "/" not in path[ITEMS_PREFIX_LENGTH:]:
                status, body, cache = await self.service.lookup(path[ITEMS_PREFIX_LENGTH:])
                headers = [
                    CONTENT_TYPE_JSON,
                    (b"content-length", b"%d" % len(body)),
                    (b"x-request-id", rid.encode("latin-1")),
                ]
                if cache:
                    headers.append(X_CACHE[cache])
                if status == 503:
                    headers.append(RETRY_AFTER)
                await send({"type": "http.response.start", "status": status, "headers": headers})
                # Logged before the body goes: granian writes it from its own thread, and the line
                # (written at the end of this loop turn) should not trail the answer by more.
                self.access.log(rid, method, path, status, time.perf_counter() - started, cache)
                logged = True
                await send({"type": "http.response.body", "body": body})
                return

            async def send_with_id(message: Message) -> None:
                nonlocal status, cache
                if message["type"] == "http.response.start":
                    status = message["status"]
                    headers = list(message.get("headers", ()))
                    for name, value in headers:
                        if name == b"x-cache":
                            cache = value.decode()
                    headers.append((b"x-request-id", rid.encode("latin-1")))
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_id)
        except Exception:
            # Starlette answered 500 (JSON) already; the traceback goes to the log, once, on one line.
            status = 500
            LOG.exception("unhandled error", extra=fields(method=method, path=path))
        finally:
            if not logged:
                self.access.log(rid, method, path, status, time.perf_counter() - started, cache)
            request_id.reset(token)


def app_from_environment() -> ASGIApp:
    """granian's factory: the settings ``serve`` resolved, passed to each worker process."""
    settings = Settings.from_env()
    setup_logging(settings.log_level)
    return create_app(settings)
