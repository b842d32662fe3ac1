"""``migrate`` is idempotent; ``--parameter-path`` reads what the data layer publishes."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import boto3
import pymysql
import pytest
from localrun import Backend

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


def publish_data_layer(prefix: str, stores, aws_env: dict[str, str]) -> None:
    """What roles/data publishes (tasks/outputs.yml, tasks/secrets.yml), pointing at the local stores."""
    session = boto3.session.Session(
        aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
        region_name=aws_env["AWS_DEFAULT_REGION"],
    )
    endpoint = aws_env["AWS_ENDPOINT_URL"]
    ssm = session.client("ssm", endpoint_url=endpoint)
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    secrets.create_secret(
        Name=f"{prefix}/mysql/master", SecretString=json.dumps({"username": MYSQL_USER, "password": MYSQL_PASSWORD})
    )
    secrets.create_secret(Name=f"{prefix}/redis/auth-token", SecretString=REDIS_TOKEN)
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
