"""The two data stores: Redis (the cache) and MySQL (the truth).

Cache-aside with two guards against serving an old value after a write:

- A reader that misses takes a short *lease* (``SET key:lease token NX``) and
  stores what it read from MySQL only if it still holds the lease (a Lua
  script). A write deletes the lease with the key, so a reader that read the
  old row before the write cannot put it back into the cache after it.
- A write leaves a *recent write* marker for a few seconds; a miss on that id
  reads the writer instead of the replica, which may lag.

Reads are batched: every GET asked for during one turn of the event loop goes
to Redis as one MGET (auto-pipelining). With many requests in flight, that
turns one round trip per request into one per turn, which is what lets a
single worker answer cache hits at tens of thousands per second.

When Redis fails, the cache is marked degraded: requests go straight to MySQL
(``X-Cache: bypass``) and Redis is tried again after a second, so it recovers by
itself. Keys whose eviction failed are remembered and evicted on recovery.

A rotated secret is picked up without a restart (``aws.Credentials``): when
MySQL refuses the password (error 1045), the pool reads the secret again,
starts a new pool with the new password and runs the statement once more; when
Redis refuses the AUTH token (WRONGPASS, NOAUTH), the request is answered from
MySQL as for any Redis failure while the token is read again, and new
connections use the new one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomysql
import pymysql
import redis.asyncio as aioredis
from pymysql.constants import ER
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, RedisError
from redis.retry import Retry

from .aws import Credentials
from .config import MySQLTarget, Settings, parse_mysql_url
from .logs import fields

LOG = logging.getLogger("webstack.stores")

# Seconds the cache is left alone after a failure before it is tried again.
CACHE_RETRY_SECONDS = 1.0
# A lease outlives a slow MySQL read, not much more.
LEASE_MS = 10_000
# An absent id is cached as this value (an item is never empty JSON).
ABSENT = b""

STORE_SCRIPT = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class StoreUnavailable(Exception):
    """A store did not answer; ``store`` names it for the client."""

    def __init__(self, store: str, error: BaseException | str) -> None:
        self.store = store
        self.reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}".rstrip(": ")
        super().__init__(f"{store} unavailable: {self.reason}")


def item_key(item_id: int) -> str:
    return f"webstack:item:{item_id}"


def access_denied(error: BaseException | None) -> bool:
    """Whether MySQL refused the user or password (ER_ACCESS_DENIED_ERROR, 1045)."""
    return (
        isinstance(error, pymysql.err.OperationalError) and bool(error.args) and error.args[0] == ER.ACCESS_DENIED_ERROR
    )


class Cache:
    """Redis through one blocking connection pool, with the degraded state."""

    def __init__(self, settings: Settings, credentials: Credentials | None = None) -> None:
        self.ttl = settings.cache_ttl
        self.negative_ttl = settings.negative_ttl
        self.recent_write_seconds = settings.recent_write_seconds if settings.mysql_reader_url else 0
        kwargs: dict[str, Any] = {
            "max_connections": settings.redis_pool_size,
            "timeout": settings.store_timeout,
            "socket_timeout": settings.store_timeout,
            "socket_connect_timeout": settings.store_timeout,
            # One immediate retry replaces a pooled connection that a Redis restart closed;
            # redis-py's default waits seconds between retries.
            "retry": Retry(NoBackoff(), 1),
        }
        if settings.redis_auth_token:
            kwargs["password"] = settings.redis_auth_token
        if urlsplit(settings.redis_url).scheme == "rediss":
            kwargs["ssl_cert_reqs"] = "required"
            if settings.redis_ca_file:
                kwargs["ssl_ca_certs"] = settings.redis_ca_file
        self._url, self._kwargs = settings.redis_url, kwargs
        self._connect()
        # Pools left for a new AUTH token: disconnected at close.
        self._retired: list[aioredis.BlockingConnectionPool] = []
        self._retry_at = 0.0
        self.degraded = False
        # Reads the AUTH token again when Redis refuses it (a rotation), if it came from the secret.
        self.credentials = credentials if credentials is not None and credentials.covers("redis") else None
        self._renewing: asyncio.Task[None] | None = None
        # GETs waiting for this turn's MGET, and the MGETs under way.
        self._batch: list[tuple[str, asyncio.Future[bytes | None]]] = []
        self._sending: set[asyncio.Task[None]] = set()
        # Keys whose eviction failed while Redis was down: evicted first when it answers again.
        self._pending_evictions: set[str] = set()

    def _connect(self) -> None:
        """The pool, the client and its scripts, with the URL and options as they are now."""
        self.pool = aioredis.BlockingConnectionPool.from_url(self._url, **self._kwargs)
        self.client = aioredis.Redis(connection_pool=self.pool)
        self._store = self.client.register_script(STORE_SCRIPT)
        self._release = self.client.register_script(RELEASE_SCRIPT)

    @property
    def usable(self) -> bool:
        """False for a second after a failure: requests bypass the cache instead of waiting on it."""
        return not self.degraded or time.monotonic() >= self._retry_at

    def failed(self, error: BaseException) -> None:
        self._retry_at = time.monotonic() + CACHE_RETRY_SECONDS
        if isinstance(error, AuthenticationError) and self.credentials is not None and self._renewing is None:
            self._renewing = asyncio.ensure_future(self._renew_token())
        if not self.degraded:
            self.degraded = True
            LOG.warning(
                "cache degraded: Redis does not answer, serving from MySQL",
                extra=fields(store="redis", error=f"{type(error).__name__}: {error}"),
            )

    async def _renew_token(self) -> None:
        """Redis refused the AUTH token: read the secret again; new connections use what it holds now."""
        try:
            endpoints = await self.credentials.reread("redis")
            password = urlsplit(endpoints.redis_url).password if endpoints is not None else None
            token = unquote(password) if password else None
            if token is None or token == self.pool.connection_kwargs.get("password"):
                return
            # A new pool and client; what is under way on the old pool finishes there.
            retired = self.pool
            self._url = endpoints.redis_url  # the token is in the URL, as resolve() builds it
            self._connect()
            self._retired.append(retired)
            await retired.disconnect(inuse_connections=False)
            self._retry_at = 0.0
            LOG.warning(
                "Redis refused the AUTH token: the secret holds a new one, used from now on",
                extra=fields(store="redis"),
            )
        finally:
            self._renewing = None

    async def recover(self) -> None:
        """Leave the degraded state: first evict what writes could not while Redis was down."""
        if self._pending_evictions:
            pending = set(self._pending_evictions)
            await self.client.delete(*pending)
            self._pending_evictions -= pending
        else:
            await self.client.ping()
        self.degraded = False
        LOG.info("cache recovered: Redis answers again", extra=fields(store="redis"))

    async def get(self, key: str) -> bytes | None:
        """The cached value (``ABSENT`` for a known absence), or None on a miss; raises RedisError/OSError."""
        if self.degraded:
            await self.recover()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes | None] = loop.create_future()
        self._batch.append((key, future))
        if len(self._batch) == 1:
            loop.call_soon(self._send_batch)
        return await future

    def _send_batch(self) -> None:
        batch, self._batch = self._batch, []
        task = asyncio.ensure_future(self._mget(batch))
        # Keep a reference until it is done (the loop holds only weak ones).
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _mget(self, batch: list[tuple[str, asyncio.Future[bytes | None]]]) -> None:
        try:
            values = await self.client.execute_command("MGET", *[key for key, _ in batch])
        except BaseException as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for (_, future), value in zip(batch, values, strict=True):
            if not future.done():
                future.set_result(value)

    async def begin_miss(self, key: str) -> tuple[str | None, bool]:
        """Take the lease on a missed key: (token or None if another reader holds it, whether it was just written)."""
        token = os.urandom(8).hex()
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.set(f"{key}:lease", token, nx=True, px=LEASE_MS)
            pipe.exists(f"{key}:written")
            taken, written = await pipe.execute()
        return (token if taken else None), bool(written)

    async def store(self, key: str, token: str, value: bytes, ttl: int) -> bool:
        """Cache ``value`` if the lease ``token`` still holds (no write happened since the miss)."""
        return bool(await self._store(keys=[key, f"{key}:lease"], args=[token, value, ttl]))

    async def release(self, key: str, token: str) -> None:
        """Give the lease up (the read failed, or its answer is not to be cached)."""
        await self._release(keys=[f"{key}:lease"], args=[token])

    async def evict(self, key: str) -> bool:
        """Drop the key and its lease after a write; False (and remembered) when Redis is down."""
        if not self.usable:
            self._pending_evictions.add(key)
            return False
        try:
            if self.degraded:
                await self.recover()
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.delete(key, f"{key}:lease")
                if self.recent_write_seconds:
                    pipe.set(f"{key}:written", b"1", ex=self.recent_write_seconds)
                await pipe.execute()
        except (RedisError, OSError) as error:
            self._pending_evictions.add(key)
            self.failed(error)
            return False
        return True

    async def ping(self) -> None:
        if self.degraded:
            await self.recover()
        else:
            await self.client.ping()

    async def close(self) -> None:
        await self.client.aclose()
        await self.pool.disconnect()
        for pool in self._retired:
            await pool.disconnect()


def mysql_ssl(settings: Settings) -> ssl.SSLContext | None:
    """TLS to MySQL with its certificate and host name checked against the system's CAs plus
    ``--mysql-ca-file`` (RDS: its CA bundle, which no system store holds). A public CA cannot
    issue a certificate for an ``*.rds.amazonaws.com`` name, so adding them costs nothing."""
    if settings.mysql_tls == "off":
        return None
    context = ssl.create_default_context()
    if settings.mysql_ca_file:
        context.load_verify_locations(cafile=settings.mysql_ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class MySQLPool:
    """One aiomysql pool (writer or reader). Connections are made on demand, so the service
    starts, and recovers, whether MySQL answers or not."""

    def __init__(
        self, name: str, target: MySQLTarget, settings: Settings, credentials: Credentials | None = None
    ) -> None:
        self.name = name
        self.target = target
        self.settings = settings
        self.timeout = settings.store_timeout
        self._pool: aiomysql.Pool | None = None
        self._lock = asyncio.Lock()
        # Reads the password again when MySQL refuses it (a rotation), if it came from the secret.
        self.credentials = credentials if credentials is not None and credentials.covers("mysql") else None
        # Pools left for a new password: their connections close as they come back.
        self._retired: list[aiomysql.Pool] = []

    async def pool(self) -> aiomysql.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await aiomysql.create_pool(
                        minsize=0,
                        maxsize=self.settings.mysql_pool_size,
                        host=self.target.host,
                        port=self.target.port,
                        user=self.target.user,
                        password=self.target.password,
                        db=self.target.database,
                        ssl=mysql_ssl(self.settings),
                        connect_timeout=self.timeout,
                        autocommit=True,
                        charset="utf8mb4",
                        pool_recycle=3600,
                    )
        return self._pool

    async def execute(self, sql: str, params: tuple[Any, ...] = (), *, fetch: bool = True) -> tuple[int, list[Any]]:
        """Run one statement: (rows affected, rows). A refused password is read again and the statement
        run once more with the new one (a rotated secret)."""
        target = self.target
        try:
            return await self._execute(sql, params, fetch)
        except StoreUnavailable as problem:
            if not (access_denied(problem.__cause__) and await self.renew(target)):
                raise
        return await self._execute(sql, params, fetch)

    async def renew(self, refused: MySQLTarget) -> bool:
        """After MySQL refused ``refused``: whether the pool now holds other credentials to try."""
        if self.target != refused:
            return True  # another request read them meanwhile
        if self.credentials is None:
            return False
        endpoints = await self.credentials.reread("mysql")
        url = None if endpoints is None else endpoints.mysql_reader_url if self.name != "mysql" else endpoints.mysql_url
        if self.target != refused:
            return True
        if url is None:
            return False
        target = parse_mysql_url(url, "--parameter-path")
        if target == refused:
            return False
        self.target = target
        if self._pool is not None:
            self._pool.close()
            self._retired.append(self._pool)
            self._pool = None
        LOG.warning(
            "MySQL refused the password: the secret holds a new one, used from now on", extra=fields(store=self.name)
        )
        return True

    async def _execute(self, sql: str, params: tuple[Any, ...], fetch: bool) -> tuple[int, list[Any]]:
        """Run one statement: (rows affected, rows). A failed connection is closed, never reused."""
        try:
            pool = await self.pool()
            conn = await asyncio.wait_for(pool.acquire(), self.timeout)
        except (pymysql.err.MySQLError, OSError, TimeoutError) as error:
            raise StoreUnavailable(self.name, error) from error
        try:
            count, rows = await asyncio.wait_for(self._run(conn, sql, params, fetch), self.timeout)
        except (pymysql.err.OperationalError, pymysql.err.InterfaceError, OSError, TimeoutError) as error:
            conn.close()
            raise StoreUnavailable(self.name, error) from error
        except BaseException:
            conn.close()
            raise
        finally:
            pool.release(conn)
        return count, rows

    @staticmethod
    async def _run(conn: aiomysql.Connection, sql: str, params: tuple[Any, ...], fetch: bool) -> tuple[int, list[Any]]:
        async with conn.cursor() as cursor:
            count = await cursor.execute(sql, params)
            rows = list(await cursor.fetchall()) if fetch else []
        return count, rows

    async def close(self) -> None:
        for pool in [*self._retired, *([self._pool] if self._pool is not None else [])]:
            pool.close()
            await pool.wait_closed()


class Database:
    """The writer pool and, when configured, the reader pool for misses."""

    def __init__(self, settings: Settings, credentials: Credentials | None = None) -> None:
        self.writer = MySQLPool("mysql", parse_mysql_url(settings.mysql_url, "--mysql-url"), settings, credentials)
        self.reader = (
            MySQLPool(
                "mysql-reader",
                parse_mysql_url(settings.mysql_reader_url, "--mysql-reader-url"),
                settings,
                credentials,
            )
            if settings.mysql_reader_url
            else None
        )

    async def read(self, sql: str, params: tuple[Any, ...], *, from_writer: bool = False) -> list[Any]:
        pool = self.writer if from_writer or self.reader is None else self.reader
        try:
            return (await pool.execute(sql, params))[1]
        except StoreUnavailable:
            # Once more with a new connection: a pooled one may have been closed by a restart or failover.
            return (await pool.execute(sql, params))[1]

    async def write(self, sql: str, params: tuple[Any, ...]) -> int:
        # PUT and DELETE are idempotent, so a write may be retried like a read.
        try:
            return (await self.writer.execute(sql, params, fetch=False))[0]
        except StoreUnavailable:
            return (await self.writer.execute(sql, params, fetch=False))[0]

    def pools(self) -> list[MySQLPool]:
        return [self.writer] + ([self.reader] if self.reader else [])

    async def close(self) -> None:
        for pool in self.pools():
            await pool.close()
