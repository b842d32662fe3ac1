"""Resolve the data stores from what the data layer publishes on AWS.

The data role writes under ``/<prefix>/data/`` in SSM Parameter Store the
endpoints, ports, database name, whether Redis uses TLS, and the *names* of two
Secrets Manager secrets: the MySQL master credentials (JSON with ``username``
and ``password``) and the Redis AUTH token (a plain string). One
GetParametersByPath (paginated, though the data layer publishes fewer than ten)
and one GetSecretValue per secret give everything the service needs.

The secrets rotate (playbooks/rotate-secrets.yml): when MySQL or Redis refuses
the password the service holds, ``Credentials`` reads them again the same way,
at most once per store in ``--secrets-reread-seconds``, so that a wrong
password cannot hammer Secrets Manager.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .logs import fields

LOG = logging.getLogger("webstack.aws")

OPTIONAL = ("mysql/reader-endpoint", "redis/reader-endpoint", "redis/tls")
REQUIRED = (
    "mysql/writer-endpoint",
    "mysql/port",
    "mysql/database",
    "mysql/secret-name",
    "redis/primary-endpoint",
    "redis/port",
    "redis/secret-name",
)
# What the data role writes before the resource has an endpoint (check mode, first run).
PENDING = "pending-creation"


class ResolveError(Exception):
    """The parameters or secrets are missing or not what the data layer publishes."""


@dataclass(frozen=True)
class Endpoints:
    redis_url: str
    mysql_url: str
    mysql_reader_url: str | None


def data_path(parameter_path: str) -> str:
    """``/webstack-prod`` -> ``/webstack-prod/data`` (a path already ending in /data is kept)."""
    path = "/" + parameter_path.strip("/")
    return path if path.endswith("/data") else path + "/data"


def read_parameters(ssm: Any, path: str) -> dict[str, str]:
    """The parameters under ``path``, keyed by their names relative to it.

    A page holds at most 10, and the data layer publishes 10: AWS may still hand
    back a token for a next, empty page. Reading stops as soon as every name the
    service knows is there, so one call is the rule.
    """
    found: dict[str, str] = {}
    wanted = set(REQUIRED) | set(OPTIONAL)
    paginator = ssm.get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=path, Recursive=True, WithDecryption=True, MaxResults=10):
        for parameter in page["Parameters"]:
            found[parameter["Name"][len(path) + 1 :]] = parameter["Value"]
        if wanted <= found.keys():
            break
    return found


def resolve(parameter_path: str, region: str | None = None) -> Endpoints:
    """Build the Redis and MySQL URLs from the SSM outputs and secrets under ``parameter_path``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return _resolve(parameter_path, region)
    except (BotoCoreError, ClientError) as error:
        raise ResolveError(f"AWS refused or failed: {error}") from None


def _resolve(parameter_path: str, region: str | None) -> Endpoints:
    import boto3  # imported here: a service given its URLs directly never loads boto3

    session = boto3.session.Session(region_name=region)
    path = data_path(parameter_path)
    parameters = read_parameters(session.client("ssm"), path)
    missing = [name for name in REQUIRED if name not in parameters]
    if missing:
        raise ResolveError(
            f"SSM parameters missing under {path}/: {', '.join(missing)} "
            f"(found: {', '.join(sorted(parameters)) or 'none'}); has the data layer been deployed?"
        )
    pending = [name for name in REQUIRED if parameters[name] == PENDING]
    if pending:
        raise ResolveError(f"the data layer under {path}/ has no endpoint yet for: {', '.join(pending)}")

    secrets = session.client("secretsmanager")
    mysql_secret_name = parameters["mysql/secret-name"]
    try:
        credentials = json.loads(secrets.get_secret_value(SecretId=mysql_secret_name)["SecretString"])
        username, password = credentials["username"], credentials["password"]
    except (ValueError, KeyError, TypeError) as error:
        raise ResolveError(
            f"secret {mysql_secret_name} should be JSON with 'username' and 'password': {type(error).__name__}"
        ) from None
    token = secrets.get_secret_value(SecretId=parameters["redis/secret-name"])["SecretString"]

    database = parameters["mysql/database"]
    userinfo = f"{quote(username, safe='')}:{quote(password, safe='')}"
    mysql_port = parameters["mysql/port"]
    writer = parameters["mysql/writer-endpoint"]
    reader = parameters.get("mysql/reader-endpoint")
    scheme = "rediss" if parameters.get("redis/tls", "true").lower() == "true" else "redis"
    redis_host = f"{parameters['redis/primary-endpoint']}:{parameters['redis/port']}"
    has_reader = bool(reader) and reader not in (writer, PENDING)
    endpoints = Endpoints(
        redis_url=f"{scheme}://:{quote(token, safe='')}@{redis_host}/0",
        mysql_url=f"mysql://{userinfo}@{writer}:{mysql_port}/{database}",
        # A reader endpoint equal to the writer (no replica) is no reader.
        mysql_reader_url=(f"mysql://{userinfo}@{reader}:{mysql_port}/{database}" if has_reader else None),
    )
    LOG.info(
        "data stores resolved from AWS",
        extra=fields(
            parameter_path=path,
            redis=f"{scheme}://{redis_host}",
            mysql_writer=f"{writer}:{mysql_port}/{database}",
            mysql_reader=f"{reader}:{mysql_port}" if endpoints.mysql_reader_url else None,
        ),
    )
    return endpoints


class Credentials:
    """The secrets read again after a store refused them, at most once per store in ``interval`` seconds.

    Requests that meet the refusal while one of them reads wait for that read and get its answer;
    within the interval every caller gets the last answer, and AWS is not asked again.
    """

    def __init__(
        self,
        parameter_path: str,
        region: str | None,
        stores: tuple[str, ...],
        interval: float,
        read: Callable[[str, str | None], Endpoints] = resolve,
    ) -> None:
        self.parameter_path = parameter_path
        self.region = region
        self.stores = stores
        self.interval = interval
        self._read = read
        self._locks: dict[str, asyncio.Lock] = {}
        self._read_at: dict[str, float] = {}
        self._answer: dict[str, Endpoints | None] = {}

    def covers(self, store: str) -> bool:
        """Whether ``store``'s credentials came from the secrets (and so may be read again)."""
        return store in self.stores

    async def reread(self, store: str) -> Endpoints | None:
        """The endpoints with the secrets as they are now; None when they cannot be read."""
        async with self._locks.setdefault(store, asyncio.Lock()):
            now = time.monotonic()
            if store in self._read_at and now - self._read_at[store] < self.interval:
                return self._answer[store]
            self._read_at[store] = now
            try:
                answer: Endpoints | None = await asyncio.to_thread(self._read, self.parameter_path, self.region)
            except ResolveError as error:
                LOG.error("secrets not read again", extra=fields(store=store, error=str(error)))
                answer = None
            else:
                LOG.info("secrets read again", extra=fields(store=store, parameter_path=self.parameter_path))
            self._answer[store] = answer
            return answer


def credentials_from(settings: Any) -> Credentials | None:
    """The re-reader of the settings' secrets, or None when no store's credentials came from AWS."""
    if not settings.parameter_path or not settings.secrets_from_aws:
        return None
    return Credentials(
        settings.parameter_path,
        settings.aws_region,
        tuple(settings.secrets_from_aws),
        settings.secrets_reread_seconds,
    )
