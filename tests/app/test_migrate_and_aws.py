"""``migrate`` is idempotent; ``--parameter-path`` reads what the data layer publishes, and reads a
rotated secret again without a restart when MySQL or Redis refuses the old one."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pymysql
import pytest
import redis
from localrun import Backend
from webstack_backend.aws import Credentials, Endpoints

from .conftest import BACKEND, MYSQL_PASSWORD, MYSQL_USER, REDIS_TOKEN, new_id, request

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from emulator import endpoint_env  # noqa: E402 - the project's script, not a package


def test_migrate_twice_is_a_no_op(stores):
    env = {**os.environ, **stores.backend_env()}
    runs = [subprocess.run([BACKEND, "migrate"], env=env, capture_output=True, text=True) for _ in range(2)]

    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
        last = json.loads(run.stdout.strip().splitlines()[-1])
        assert (last["message"], last["applied"], last["version"]) == ("schema up to date", [], 1)
    connection = pymysql.connect(
        host="127.0.0.1",
        port=stores.mariadb.port,
        user=MYSQL_USER,
        password=MYSQL_PASSWORD,
        database="app",
        ssl={"ca": str(stores.tls.ca)},
    )
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT version FROM schema_migrations")
        assert cursor.fetchall() == ((1,),)


def test_mysql_refuses_a_connection_without_tls(stores):
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(
            host="127.0.0.1", port=stores.mariadb.port, user=MYSQL_USER, password=MYSQL_PASSWORD, ssl_disabled=True
        )


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    """A private AWS emulator (moto in server mode), stopped at the end."""
    state = tmp_path_factory.mktemp("emulator")
    emulator = str(ROOT / "scripts" / "emulator.py")
    env = {**os.environ, "EMULATOR_STATE_DIR": str(state), "EMULATOR_PORT": "0"}
    subprocess.run([sys.executable, emulator, "start"], env=env, check=True, capture_output=True)
    try:
        yield endpoint_env(int((state / "port").read_text())), state
    finally:
        subprocess.run([sys.executable, emulator, "stop"], env=env, capture_output=True)


def aws_client(aws_env: dict[str, str], service: str):
    session = boto3.session.Session(
        aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
        region_name=aws_env["AWS_DEFAULT_REGION"],
    )
    return session.client(service, endpoint_url=aws_env["AWS_ENDPOINT_URL"])


def publish_data_layer(
    prefix: str,
    stores,
    aws_env: dict[str, str],
    user: str = MYSQL_USER,
    password: str = MYSQL_PASSWORD,
    token: str = REDIS_TOKEN,
) -> None:
    """What roles/data publishes (tasks/outputs.yml, tasks/secrets.yml), pointing at the local stores."""
    ssm = aws_client(aws_env, "ssm")
    secrets = aws_client(aws_env, "secretsmanager")
    secrets.create_secret(
        Name=f"{prefix}/mysql/master", SecretString=json.dumps({"username": user, "password": password})
    )
    secrets.create_secret(Name=f"{prefix}/redis/auth-token", SecretString=token)
    outputs = {
        "mysql/writer-endpoint": "127.0.0.1",
        "mysql/reader-endpoint": "localhost",
        "mysql/port": str(stores.mariadb.port),
        "mysql/database": "app",
        "mysql/secret-name": f"{prefix}/mysql/master",
        "redis/primary-endpoint": "127.0.0.1",
        "redis/reader-endpoint": "127.0.0.1",
        "redis/port": str(stores.redis.port),
        "redis/tls": "true",
        "redis/secret-name": f"{prefix}/redis/auth-token",
    }
    for name, value in outputs.items():
        ssm.put_parameter(Name=f"/{prefix}/data/{name}", Value=value, Type="String")


def test_parameter_path_reads_the_data_layers_outputs_and_secrets(stores, aws, tmp_path):
    aws_env, state = aws
    publish_data_layer("webstack-test", stores, aws_env)
    log = state / "requests.log"
    before = len(log.read_text().splitlines()) if log.exists() else 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBSTACK_")}
    env |= aws_env | {"WEBSTACK_REDIS_CA_FILE": str(stores.tls.ca), "WEBSTACK_MYSQL_CA_FILE": str(stores.tls.ca)}
    backend = Backend(tmp_path, ["--parameter-path", "/webstack-test"], env)
    backend.start()
    try:
        ready = request(backend.base, "GET", "/readyz")
        item_id = new_id()
        written = request(backend.base, "PUT", f"/api/items/{item_id}", {"name": "from SSM"})
        read = request(backend.base, "GET", f"/api/items/{item_id}")
    finally:
        backend.stop()

    # The reader endpoint differs from the writer's: it is used, and checked, as the replica.
    assert (ready.status, ready.json["checks"]) == (200, {"redis": "ok", "mysql": "ok", "mysql-reader": "ok"})
    assert (written.status, read.status, read.json["name"]) == (201, 200, "from SSM")
    calls = [json.loads(line) for line in log.read_text().splitlines()[before:]]
    actions = [call.get("action") for call in calls]
    assert actions.count("GetParametersByPath") == 1
    assert actions.count("GetSecretValue") == 2
    text = backend.log.read_text()
    assert MYSQL_PASSWORD not in text and REDIS_TOKEN not in text


def test_parameter_path_says_what_is_missing(aws):
    aws_env, _ = aws
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBSTACK_")} | aws_env
    result = subprocess.run(
        [BACKEND, "serve", "--parameter-path", "/webstack-nowhere"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "SSM parameters missing under /webstack-nowhere/data/" in result.stderr


def test_mysql_tls_trusts_rds_cas_besides_the_systems():
    """What the backend role installs (RDS's bundle) is added to the system's CAs, not put in their place."""
    from webstack_backend.config import Settings
    from webstack_backend.stores import mysql_ssl

    bundle = ROOT / "roles" / "backend" / "files" / "rds-ca-bundle.pem"
    system = mysql_ssl(Settings(redis_url="redis://x", mysql_url="mysql://u:p@h/d")).cert_store_stats()["x509_ca"]
    context = mysql_ssl(Settings(redis_url="redis://x", mysql_url="mysql://u:p@h/d", mysql_ca_file=str(bundle)))

    names = [dict(n[0] for n in ca["subject"]).get("commonName") for ca in context.get_ca_certs()]
    assert "Amazon RDS us-east-1 Root CA RSA2048 G1" in names  # the data layer pins rds-ca-rsa2048-g1
    assert context.cert_store_stats()["x509_ca"] == system + bundle.read_text().count("BEGIN CERTIFICATE")
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert mysql_ssl(Settings(redis_url="redis://x", mysql_url="mysql://u:p@h/d", mysql_tls="off")) is None


def test_secrets_are_read_again_at_most_once_per_interval_per_store():
    reads: list[str] = []
    endpoints = Endpoints(
        redis_url="rediss://:t@cache:6379/0", mysql_url="mysql://u:p@db:3306/app", mysql_reader_url=None
    )

    def read(path: str, region: str | None) -> Endpoints:
        reads.append(path)
        time.sleep(0.05)  # while one reads, the others wait for its answer
        return endpoints

    async def scenario() -> list[Endpoints | None]:
        credentials = Credentials("/webstack-test", None, ("redis", "mysql"), 30.0, read)
        refused = [credentials.reread("mysql") for _ in range(20)] + [credentials.reread("redis") for _ in range(20)]
        answers = await asyncio.gather(*refused)
        return [*answers, await credentials.reread("mysql")]

    answers = asyncio.run(scenario())
    assert answers == [endpoints] * 41
    assert reads == ["/webstack-test"] * 2  # one read per store, however many requests met the refusal


class Rotation:
    """The local stores as ElastiCache and RDS are during a rotation, for one MySQL user and the Redis token."""

    def __init__(self, stores, aws_env: dict[str, str], prefix: str) -> None:
        self.stores, self.prefix = stores, prefix
        self.secrets = aws_client(aws_env, "secretsmanager")
        self.redis = redis.Redis(
            host="127.0.0.1", port=stores.redis.port, password=REDIS_TOKEN, ssl=True, ssl_ca_certs=str(stores.tls.ca)
        )

    def mysql(self, sql: str, *args: str) -> list:
        connection = pymysql.connect(
            host="127.0.0.1",
            port=self.stores.mariadb.port,
            user=MYSQL_USER,
            password=MYSQL_PASSWORD,
            ssl={"ca": str(self.stores.tls.ca)},
            autocommit=True,
        )
        with connection, connection.cursor() as cursor:
            cursor.execute(sql, args)
            return list(cursor.fetchall())

    def drop_connections(self, user: str) -> None:
        """As a restart or a failover would: the service's pooled connections are gone, new ones log in."""
        for (process_id,) in self.mysql("SELECT id FROM information_schema.processlist WHERE user = %s", user):
            self.mysql(f"KILL {int(process_id)}")
        self.redis.execute_command("CLIENT", "KILL", "USER", "default")

    def put(self, name: str, value: str) -> None:
        self.secrets.put_secret_value(SecretId=f"{self.prefix}/{name}", SecretString=value)


def test_the_service_keeps_answering_through_a_rotation_of_both_secrets(stores, aws, tmp_path):
    aws_env, state = aws
    prefix, user = "webstack-rotate", "rotating"
    old_password, new_password = "rotate-old-password-0123456789", "rotate-new-password-0123456789"
    old_token, new_token = "rotate-old-token-0123456789", "rotate-new-token-0123456789"
    rotation = Rotation(stores, aws_env, prefix)
    rotation.mysql("CREATE USER %s@'%%' IDENTIFIED BY %s REQUIRE SSL", user, old_password)
    rotation.mysql("GRANT ALL PRIVILEGES ON app.* TO %s@'%%'", user)
    # The service's own token beside the session's (which the other tests keep using).
    rotation.redis.execute_command("ACL", "SETUSER", "default", f">{old_token}")
    publish_data_layer(prefix, stores, aws_env, user=user, password=old_password, token=old_token)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBSTACK_")}
    env |= aws_env | {"WEBSTACK_REDIS_CA_FILE": str(stores.tls.ca), "WEBSTACK_MYSQL_CA_FILE": str(stores.tls.ca)}
    backend = Backend(tmp_path, ["--parameter-path", f"/{prefix}"], env)
    item_id = new_id()
    replies = []

    def traffic(count: int = 5) -> None:
        for turn in range(count):
            replies.append(request(backend.base, "PUT", f"/api/items/{item_id}", {"name": f"turn {turn}"}))
            replies.append(request(backend.base, "GET", f"/api/items/{item_id}"))

    requests_log = state / "requests.log"
    before = len(requests_log.read_text().splitlines()) if requests_log.exists() else 0
    backend.start()
    try:
        traffic()
        # MySQL: the password changes on the database, then in the secret (rotate-secrets.yml's order).
        rotation.mysql("ALTER USER %s@'%%' IDENTIFIED BY %s", user, new_password)
        rotation.put("mysql/master", json.dumps({"username": user, "password": new_password}))
        rotation.drop_connections(user)
        traffic()
        # Redis, as ElastiCache's ROTATE (both tokens valid) and the secret updated, then SET (only the new one).
        rotation.redis.execute_command("ACL", "SETUSER", "default", f">{new_token}")
        rotation.put("redis/auth-token", new_token)
        traffic()
        rotation.redis.execute_command("ACL", "SETUSER", "default", f"<{old_token}")
        rotation.drop_connections(user)
        traffic()
        deadline = time.monotonic() + 10
        while replies[-1].cache == "bypass" and time.monotonic() < deadline:
            traffic(1)
            time.sleep(0.2)
        ready = request(backend.base, "GET", "/readyz")
    finally:
        backend.stop()
        rotation.redis.execute_command("ACL", "SETUSER", "default", "resetpass", f">{REDIS_TOKEN}")
        rotation.mysql("DROP USER IF EXISTS %s@'%%'", user)

    assert [reply.status for reply in replies if reply.status not in (200, 201)] == []
    assert replies[-1].json["name"] == replies[-2].json["name"]
    # Redis is used again after the SET: the service holds the new token.
    assert replies[-1].cache in ("hit", "miss")
    assert (ready.status, ready.json["checks"]) == (200, {"redis": "ok", "mysql": "ok", "mysql-reader": "ok"})
    log = backend.log.read_text()
    assert "MySQL refused the password: the secret holds a new one" in log
    assert "Redis refused the AUTH token: the secret holds a new one" in log
    for value in (old_password, new_password, old_token, new_token):
        assert value not in log
    # Both secrets at start, then once again for each store (the reader pool shares the writer's read).
    calls = [json.loads(line).get("action") for line in requests_log.read_text().splitlines()[before:]]
    assert calls.count("GetSecretValue") == 6
