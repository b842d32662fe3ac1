"""The console script ``webstack-backend``: ``serve`` and ``migrate``."""

from __future__ import annotations

import logging
import os
import sys

from .config import ConfigError, Settings, build_parser, env_name, redact, resolve_settings
from .logs import LEVELS, fields, setup_logging

LOG = logging.getLogger("webstack.backend")
# The ALB closes idle connections after 60 s: the backend must keep them open longer,
# or the ALB may send a request on a connection the backend is closing (a 502).
KEEP_ALIVE_SECONDS = 65


def serve(settings: Settings) -> int:
    import uvicorn

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
    # Each worker process builds its app from these (uvicorn starts workers from an import string).
    os.environ.update(settings.to_env())
    uvicorn.run(
        "webstack_backend.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        server_header=False,
        # The client address is not used (the ALB sends X-Forwarded-For); one ASGI layer less per request.
        proxy_headers=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        backlog=4096,
    )
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
