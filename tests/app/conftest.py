"""Fixtures of the application tests: real Redis and MariaDB, the backend as a process.

Once per session: a CA and a server certificate (openssl), Redis with TLS and a
password (as ElastiCache with transit encryption and an AUTH token), MariaDB on a
throwaway datadir with ``require_secure_transport`` (as RDS MySQL), the schema
(``webstack-backend migrate``), and one backend. Everything on free ports on
127.0.0.1, in a temporary folder, stopped at the end. A test that stops a store
starts it again (``stopped``), on the same port.

All app tests run in one pytest-xdist group ("app"): they share the stores, and
some stop them.
"""

from __future__ import annotations

import http.client
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "app" / "dev"))
from localrun import Backend, MariaDB, Redis, TLSFiles, make_tls  # noqa: E402 - app/dev is not a package

BACKEND = str(Path(sys.executable).parent / "webstack-backend")
REDIS_TOKEN = "test-redis-auth-token-0123456789"  # noqa: S105 - a throwaway test server's
MYSQL_USER = "admin"
MYSQL_PASSWORD = "test-mysql-password-0123456789"  # noqa: S105 - a throwaway test server's
_ids = itertools.count(1000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.xdist_group("app"))


def new_id() -> int:
    """An item id no other test uses (the stores are shared by the session)."""
    return next(_ids) + 1_000_000 * (os.getpid() % 1000)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def cache(self) -> str | None:
        return self.headers.get("x-cache")


def request(base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        data = body if isinstance(body, bytes | None) else orjson.dumps(body)
        connection.request(method, path, body=data, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


@dataclass
class Stores:
    tls: TLSFiles
    redis: Redis
    mariadb: MariaDB

    def backend_env(self) -> dict[str, str]:
        """The backend's configuration through the environment (WEBSTACK_...)."""
        return {
            "WEBSTACK_REDIS_URL": self.redis.url,
            "WEBSTACK_REDIS_AUTH_TOKEN": REDIS_TOKEN,
            "WEBSTACK_REDIS_CA_FILE": str(self.tls.ca),
            "WEBSTACK_MYSQL_URL": self.mariadb.url(),
            "WEBSTACK_MYSQL_CA_FILE": str(self.tls.ca),
        }

    @contextmanager
    def stopped(self, store: Redis | MariaDB) -> Iterator[None]:
        """Stop a store for the body of the with-block; start it again whatever happens."""
        store.stop()
        try:
            yield
        finally:
            if store.process is None:
                store.start()


@pytest.fixture(scope="session")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    directory = tmp_path_factory.mktemp("stores")
    tls = make_tls(directory / "tls")
    redis = Redis(directory / "redis", tls, REDIS_TOKEN)
    mariadb = MariaDB(directory / "mariadb", tls, MYSQL_USER, MYSQL_PASSWORD)
    try:
        redis.start()
        mariadb.initialise()
        started = Stores(tls, redis, mariadb)
        subprocess.run(
            [BACKEND, "migrate"], env={**os.environ, **started.backend_env()}, check=True, capture_output=True
        )
        yield started
    finally:
        redis.stop()
        mariadb.stop()


@pytest.fixture(scope="session")
def backend(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """The session's backend; tests that stop a store use it too and start the store again."""
    started = Backend(tmp_path_factory.mktemp("backend"), ["--negative-ttl", "30"], stores.backend_env())
    started.start()
    yield started
    started.stop()


@pytest.fixture
def api(backend: Backend):
    def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
        return request(backend.base, method, path, body, headers)

    return call
