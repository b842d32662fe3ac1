"""The schema and its migrations: ``webstack-backend migrate``.

Migrations are numbered and applied in order, each once: the table
``schema_migrations`` records those applied. A named lock (GET_LOCK) keeps two
hosts that boot at the same time from migrating together. Running it again
changes nothing.
"""

from __future__ import annotations

import logging

import pymysql

from .config import Settings, parse_mysql_url
from .logs import fields
from .stores import mysql_ssl

LOG = logging.getLogger("webstack.migrate")

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "items table",
        [
            """CREATE TABLE IF NOT EXISTS items (
                id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
                name VARCHAR(200) NOT NULL,
                description TEXT NULL,
                updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
        ],
    ),
]
LOCK_NAME = "webstack_schema_migration"
LOCK_SECONDS = 60


def migrate(settings: Settings) -> list[int]:
    """Create the database if needed and apply the migrations not applied yet; return their numbers."""
    target = parse_mysql_url(settings.mysql_url, "--mysql-url")
    connection = pymysql.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        ssl=mysql_ssl(settings),
        connect_timeout=max(settings.store_timeout, 5.0),
        autocommit=True,
        charset="utf8mb4",
    )
    applied: list[int] = []
    with connection, connection.cursor() as cursor:
        database = target.database.replace("`", "``")
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4")
        cursor.execute(f"USE `{database}`")
        cursor.execute("SELECT GET_LOCK(%s, %s)", (LOCK_NAME, LOCK_SECONDS))
        if cursor.fetchone()[0] != 1:
            raise RuntimeError(f"another migration holds the lock {LOCK_NAME} for more than {LOCK_SECONDS} s")
        try:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INT NOT NULL PRIMARY KEY,"
                " description VARCHAR(200) NOT NULL,"
                " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"
                ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
            )
            cursor.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cursor.fetchall()}
            for version, description, statements in MIGRATIONS:
                if version in done:
                    continue
                for statement in statements:
                    cursor.execute(statement)
                cursor.execute(
                    "INSERT INTO schema_migrations (version, description) VALUES (%s, %s)", (version, description)
                )
                applied.append(version)
                LOG.info("migration applied", extra=fields(version=version, description=description))
        finally:
            cursor.execute("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))
    current = max(version for version, _, _ in MIGRATIONS)
    LOG.info(
        "schema up to date" if not applied else "schema upgraded",
        extra=fields(database=target.database, version=current, applied=applied),
    )
    return applied
