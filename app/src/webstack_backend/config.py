"""Command-line options, each with an environment fallback (WEBSTACK_...).

Precedence: the command line, then the environment, then (for the data
stores only) what ``--parameter-path`` resolves from AWS, then the default.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import asdict, dataclass, fields
from typing import Any
from urllib.parse import unquote, urlsplit

from . import __version__
from .logs import LEVELS

# The values every layer agrees on (inventories/shared/service.yml).
DEFAULT_PORT = 8080
HEALTH_CHECK_PATH = "/healthz"
DEFAULT_MYSQL_PORT = 3306
DEFAULT_REDIS_PORT = 6379


class ConfigError(Exception):
    """An option is missing or wrong; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Everything the service and ``migrate`` need, resolved."""

    redis_url: str
    mysql_url: str
    mysql_reader_url: str | None = None
    redis_auth_token: str | None = None
    redis_ca_file: str | None = None
    mysql_ca_file: str | None = None
    mysql_tls: str = "verify"
    host: str = "0.0.0.0"  # noqa: S104 - a service behind the internal ALB listens on every address
    port: int = DEFAULT_PORT
    workers: int = 1
    cache_ttl: int = 300
    negative_ttl: int = 5
    recent_write_seconds: int = 5
    max_body_bytes: int = 65536
    store_timeout: float = 2.0
    mysql_pool_size: int = 10
    redis_pool_size: int = 64
    shutdown_timeout: float = 30.0
    log_level: str = "info"
    # Where the stores' credentials came from, when from AWS (--parameter-path): the stores
    # ("redis", "mysql") whose secret the service reads again when the store refuses it.
    parameter_path: str | None = None
    aws_region: str | None = None
    secrets_from_aws: tuple[str, ...] = ()
    secrets_reread_seconds: float = 30.0

    def to_env(self) -> dict[str, str]:
        """The settings as one environment value (how granian's worker processes receive them)."""
        import json

        return {"WEBSTACK_RESOLVED_SETTINGS": json.dumps(asdict(self))}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        import json

        raw = (environ or os.environ).get("WEBSTACK_RESOLVED_SETTINGS")
        if not raw:
            raise ConfigError("WEBSTACK_RESOLVED_SETTINGS is not set: start the service with `webstack-backend serve`")
        values = json.loads(raw)
        values["secrets_from_aws"] = tuple(values.get("secrets_from_aws", ()))
        return cls(**values)


@dataclass(frozen=True)
class MySQLTarget:
    host: str
    port: int
    user: str
    password: str
    database: str


def parse_mysql_url(url: str, option: str) -> MySQLTarget:
    """``mysql://user:password@host:port/db`` -> its parts; the error names the option."""
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mariadb") or not parts.hostname or not parts.username:
        raise ConfigError(f"{option}: expected mysql://user:password@host:port/database, found {redact(url)}")
    database = parts.path.lstrip("/")
    if not database:
        raise ConfigError(f"{option}: the URL names no database ({redact(url)})")
    return MySQLTarget(
        host=parts.hostname,
        port=parts.port or DEFAULT_MYSQL_PORT,
        user=unquote(parts.username),
        password=unquote(parts.password or ""),
        database=unquote(database),
    )


def check_redis_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ConfigError(f"--redis-url: expected redis://host:port/0 or rediss://host:port/0, found {redact(url)}")


def redact(url: str) -> str:
    """A URL without its password, fit for a log line or an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()


# (option, environment variable, type, default, help) of every option.
COMMON_OPTIONS: list[tuple[str, type, Any, str]] = [
    ("--redis-url", str, None, "Redis URL: redis://host:6379/0, or rediss://host:6379/0 for TLS (ElastiCache)"),
    ("--redis-auth-token", str, None, "Redis AUTH token (ElastiCache); overrides a password in --redis-url"),
    ("--redis-ca-file", str, None, "CA bundle that signs Redis's certificate (default: the system's CAs)"),
    ("--mysql-url", str, None, "MySQL writer: mysql://user:password@host:3306/database"),
    ("--mysql-reader-url", str, None, "MySQL reader (read replica) for cache misses; default: the writer"),
    ("--mysql-ca-file", str, None, "CA bundle trusted for MySQL's certificate besides the system's CAs (RDS's bundle)"),
    (
        "--mysql-tls",
        str,
        "verify",
        "verify: TLS with certificate and host name checked (RDS with require_secure_transport); off: no TLS",
    ),
    (
        "--parameter-path",
        str,
        None,
        "resolve the stores from AWS: read the data layer's SSM outputs under "
        "PATH/data/ (for example /webstack-prod) and the secrets they name; explicit URLs win",
    ),
    ("--aws-region", str, None, "AWS region for --parameter-path (default: boto3's, AWS_REGION)"),
    ("--store-timeout", float, 2.0, "seconds a Redis or MySQL operation may take before it counts as failed"),
    ("--mysql-pool-size", int, 10, "MySQL connections per pool and worker"),
    ("--log-level", str, "info", "log level: " + ", ".join(LEVELS)),
]
SERVE_OPTIONS: list[tuple[str, type, Any, str]] = [
    ("--host", str, "0.0.0.0", "listen address"),  # noqa: S104 - see Settings.host
    ("--port", int, DEFAULT_PORT, "listen port"),
    ("--workers", int, 1, "worker processes (about one per core)"),
    ("--cache-ttl", int, 300, "seconds an item stays in Redis"),
    ("--negative-ttl", int, 5, "seconds an unknown id is remembered as absent (0: never); a write clears it at once"),
    (
        "--recent-write-seconds",
        int,
        5,
        "after a write, misses of that id read the writer for this long, not the replica (replication lag)",
    ),
    ("--max-body-bytes", int, 65536, "largest request body accepted (larger: 413)"),
    ("--redis-pool-size", int, 64, "Redis connections per worker"),
    ("--shutdown-timeout", float, 30.0, "on SIGTERM, seconds requests in flight may take to finish"),
    (
        "--secrets-reread-seconds",
        float,
        30.0,
        "with --parameter-path: when MySQL or Redis refuses the password (a rotation), its secret is read again,"
        " at most once in this many seconds",
    ),
]


def env_name(option: str) -> str:
    return "WEBSTACK_" + option.lstrip("-").replace("-", "_").upper()


def add_options(parser: argparse.ArgumentParser, options: list[tuple[str, type, Any, str]]) -> None:
    for option, kind, default, text in options:
        env = env_name(option)
        shown = "" if default is None else f" (default: {default})"
        kwargs: dict[str, Any] = {"type": kind, "default": None, "help": f"{text}{shown} [env {env}]"}
        if option == "--log-level":
            kwargs["choices"] = LEVELS
        if option == "--mysql-tls":
            kwargs["choices"] = ("verify", "off")
        parser.add_argument(option, metavar=option.lstrip("-").split("-")[-1].upper(), **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webstack-backend",
        description="Cache-aside JSON API of webstack: Redis first, MySQL on a miss, a write evicts.",
        epilog="Every option also reads the environment variable shown with it; the command line wins. "
        "The data stores are given as URLs or resolved with --parameter-path.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service", description="Run the HTTP service (granian).")
    add_options(serve, COMMON_OPTIONS + SERVE_OPTIONS)
    migrate = commands.add_parser(
        "migrate",
        help="create or upgrade the schema (idempotent)",
        description="Create the database and tables, or upgrade them; a second run changes nothing.",
    )
    add_options(migrate, COMMON_OPTIONS)
    return parser


def option_value(args: argparse.Namespace, option: str, kind: type, default: Any, environ: dict[str, str]) -> Any:
    value = getattr(args, option.lstrip("-").replace("-", "_"), None)
    if value is not None:
        return value
    raw = environ.get(env_name(option))
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{option} (env {env_name(option)}): expected {kind.__name__}, found {raw!r}") from None
    if option == "--log-level" and value not in LEVELS:
        raise ConfigError(f"{option} (env {env_name(option)}): expected one of {', '.join(LEVELS)}, found {raw!r}")
    if option == "--mysql-tls" and value not in ("verify", "off"):
        raise ConfigError(f"{option} (env {env_name(option)}): expected verify or off, found {raw!r}")
    return value


def resolve_settings(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Settings:
    """Settings from the parsed command line, the environment and, if asked, AWS."""
    environ = dict(os.environ if environ is None else environ)
    options = COMMON_OPTIONS + (SERVE_OPTIONS if args.command == "serve" else [])
    values = {
        option.lstrip("-").replace("-", "_"): option_value(args, option, kind, default, environ)
        for option, kind, default, _ in options
    }
    parameter_path = values.pop("parameter_path")
    region = values.pop("aws_region")
    if parameter_path and not (values["redis_url"] and values["mysql_url"]):
        from .aws import ResolveError, resolve

        try:
            endpoints = resolve(parameter_path, region)
        except ResolveError as error:
            raise ConfigError(f"--parameter-path {parameter_path}: {error}") from None
        # Only the stores whose credentials come from the secrets read them again on a refusal.
        from_aws = []
        if not values["redis_url"] and not values["redis_auth_token"]:
            from_aws.append("redis")
        if not values["mysql_url"]:
            from_aws.append("mysql")
        values["redis_url"] = values["redis_url"] or endpoints.redis_url
        if not values["mysql_url"]:
            values["mysql_url"] = endpoints.mysql_url
            values["mysql_reader_url"] = values["mysql_reader_url"] or endpoints.mysql_reader_url
        values.update(parameter_path=parameter_path, aws_region=region, secrets_from_aws=tuple(from_aws))
    for option in ("--redis-url", "--mysql-url"):
        if not values[option.lstrip("-").replace("-", "_")]:
            raise ConfigError(
                f"missing option {option} (or env {env_name(option)}), or --parameter-path to resolve it from AWS"
            )
    check_redis_url(values["redis_url"])
    parse_mysql_url(values["mysql_url"], "--mysql-url")
    if values["mysql_reader_url"]:
        parse_mysql_url(values["mysql_reader_url"], "--mysql-reader-url")
    for name in ("port", "workers", "max_body_bytes", "mysql_pool_size", "redis_pool_size", "cache_ttl"):
        if name in values and values[name] < 1:
            raise ConfigError(f"--{name.replace('_', '-')}: expected a positive number, found {values[name]}")
    if values.get("secrets_reread_seconds", 0) < 0:
        raise ConfigError(f"--secrets-reread-seconds: expected 0 or more, found {values['secrets_reread_seconds']}")
    known = {field.name for field in fields(Settings)}
    return Settings(**{name: value for name, value in values.items() if name in known})
