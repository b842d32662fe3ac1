"""The console script ``webstack-backend``: ``serve`` and ``migrate``."""

from __future__ import annotations

import logging
import math
import os
import sys

from .config import ConfigError, Settings, build_parser, env_name, redact, resolve_settings
from .logs import LEVELS, fields, setup_logging

LOG = logging.getLogger("webstack.backend")
# The ALB closes idle connections after 60 s: the backend must keep them open longer,
# or the ALB may send a request on a connection the backend is closing (a 502).
KEEP_ALIVE_SECONDS = 65


def serve(settings: Settings) -> int:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, Loops, RuntimeModes
    from granian.http import HTTP1Settings
    from granian.log import LogLevels

    LOG.info(
        "starting backend",
        extra=fields(
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            redis=redact(settings.redis_url),
            mysql=redact(settings.mysql_url),
            mysql_reader=redact(settings.mysql_reader_url) if settings.mysql_reader_url else None,
        ),
    )
    # Each worker process builds its app from these (granian starts workers from an import string).
    os.environ.update(settings.to_env())
    server = Granian(
        "webstack_backend.app:app_from_environment",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        # One Rust I/O thread and one event loop (uvloop) per worker: with a worker per core,
        # more threads only add switches.
        runtime_mode=RuntimeModes.st,
        loop=Loops.uvloop,
        http=HTTPModes.http1,
        websockets=False,
        backlog=4096,
        # The idle keep-alive connection is closed when no request starts within this time; granian's
        # command line caps it at 60 s, its API does not. It must outlast the ALB's 60 s (see above).
        http1_settings=HTTP1Settings(header_read_timeout=KEEP_ALIVE_SECONDS * 1000),
        # granian's own lines go to the root logger (JSON, setup_logging); no access log (ours has the cache result).
        log_level=LogLevels(settings.log_level),
        log_dictconfig={"loggers": {"_granian": {"propagate": True}, "granian.access": {"propagate": True}}},
        log_access=False,
        # SIGTERM: stop accepting, let requests in flight finish, then the lifespan shutdown closes the pools;
        # a worker still busy after --shutdown-timeout is killed.
        workers_kill_timeout=max(1, math.ceil(settings.shutdown_timeout)),
        respawn_failed_workers=True,
    )
    server.serve()
    return 0


def run_migrate(settings: Settings) -> int:
    import pymysql

    from .schema import migrate

    try:
        migrate(settings)
    except (pymysql.err.MySQLError, OSError, RuntimeError) as error:
        LOG.error("migration failed", extra=fields(error=f"{type(error).__name__}: {error}"))
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = args.log_level or os.environ.get(env_name("--log-level")) or "info"
    setup_logging(level if level in LEVELS else "info")
    try:
        settings = resolve_settings(args)
    except ConfigError as error:
        print(f"webstack-backend {args.command}: error: {error}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    if args.command == "migrate":
        return run_migrate(settings)
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
