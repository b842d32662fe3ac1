"""scripts/datastores.py: MariaDB and Redis under the data layer's names, per environment, with TLS.

The data layer itself is not run (RDS and ElastiCache creation is slow in the emulator):
the test publishes what it publishes, as roles/data names and shapes it (the SSM
parameters under /<prefix>/data/, the master secret as JSON with username and password,
the AUTH token as a plain string), for prod and staging with different secrets. Then
`up` for both, and a client host booted with the returned aliases and the demo CA
trusted checks, over TLS with the server's certificate verified: the right password
logs in and sees its database, the other environment's does not; no plain connection
is taken; Redis answers PONG with the token and NOAUTH without; the environments'
stores are apart; a second `up` is a no-op; a rotated password is applied without a
restart; a missing output is refused before anything boots.

Needs root, systemd-nspawn and the cached root file system (`make hosts-test`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from .lab import demo_ca, free_port

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import datastores  # noqa: E402
import hostaws  # noqa: E402 - trust_ca: the client host trusts the demo CA as an AMI trusts Amazon's
import hostlab  # noqa: E402

HOSTLAB = [sys.executable, str(ROOT / "scripts" / "hostlab.py")]
EMULATOR = [sys.executable, str(ROOT / "scripts" / "emulator.py")]
REGION = "us-east-1"
CLIENT = "datastores-client"
CA_ON_HOST = "/etc/ssl/certs/ca-certificates.crt"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("systemd-nspawn") or not shutil.which("debootstrap"),
    reason="booted hosts need root, systemd-nspawn and debootstrap (scripts/bootstrap.sh)",
)


def environment(prefix: str, replica: bool) -> dict[str, Any]:
    """What roles/data publishes for ``prefix`` (outputs.yml, secrets.yml, vars/main.yml), in moto's shapes."""
    writer = f"{prefix}-mysql.aaaaaaaaaa.{REGION}.rds.amazonaws.com"
    primary = f"master.{prefix}-redis.d2yqgc.use1.cache.amazonaws.com"
    return {
        "prefix": prefix,
        "password": secrets.token_urlsafe(24),
        "token": secrets.token_hex(32),
        "outputs": {
            "mysql/writer-endpoint": writer,
            # prod has a read replica; staging's reader is its writer (no replica), as outputs.yml writes it
            "mysql/reader-endpoint": f"{prefix}-mysql-replica.aaaaaaaaaa.{REGION}.rds.amazonaws.com"
            if replica
            else writer,
            "mysql/port": "3306",
            "mysql/database": "app",
            "mysql/secret-name": f"{prefix}/mysql/master",
            "mysql/primary-id": f"{prefix}-mysql",
            "mysql/replica-id": f"{prefix}-mysql-replica" if replica else "none",
            "redis/primary-endpoint": primary,
            "redis/reader-endpoint": f"replica.{prefix}-redis.d2yqgc.use1.cache.amazonaws.com" if replica else primary,
            "redis/port": "6379",
            "redis/tls": "true",
            "redis/secret-name": f"{prefix}/redis/auth-token",
            "redis/replication-group-id": f"{prefix}-redis",
            "redis/member-clusters": f"{prefix}-redis-001,{prefix}-redis-002" if replica else f"{prefix}-redis-001",
            "redis/primary-cluster": f"{prefix}-redis-001",
        },
    }


def publish(env: dict[str, Any]) -> None:
    prefix, ssm, sm = env["prefix"], client("ssm"), client("secretsmanager")
    for name, value in env["outputs"].items():
        ssm.put_parameter(Name=f"/{prefix}/data/{name}", Value=value, Type="String", Overwrite=True)
    master = json.dumps({"username": "admin", "password": env["password"]})
    sm.create_secret(Name=env["outputs"]["mysql/secret-name"], SecretString=master)
    sm.create_secret(Name=env["outputs"]["redis/secret-name"], SecretString=env["token"])


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


class Lab:
    def __init__(self, envs: dict[str, dict[str, Any]], results: dict[str, dict[str, Any]], ca: Path) -> None:
        self.envs, self.results, self.ca = envs, results, ca


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    envs = {"prod": environment("webstack-prod", replica=True), "staging": environment("webstack-staging", False)}
    hosts = [CLIENT, *(datastores.host_name(env["prefix"]) for env in envs.values())]
    running = [host for host, state in hostlab.status().items() if host in hosts and state["running"]]
    if running:  # a demo's data hosts: `up` of the same names would replace them
        pytest.skip(f"{', '.join(running)} run already (make teardown first)")
    folder = tmp_path_factory.mktemp("datastores")
    port = str(free_port())
    emulator_env = {**os.environ, "EMULATOR_STATE_DIR": str(folder / "emulator"), "EMULATOR_PORT": port}
    subprocess.run([*EMULATOR, "start"], env=emulator_env, check=True, capture_output=True, timeout=120)
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing"
    )
    try:
        ca = demo_ca(folder / "ca")
        for env in envs.values():
            publish(env)
        results = {}
        for name, env in envs.items():
            started = time.monotonic()
            results[name] = datastores.up(env["prefix"], ca_dir=folder / "ca", region=REGION)
            print(f"\nup {env['prefix']}: {time.monotonic() - started:.1f} s {results[name]['seconds']}")
        aliases = {alias: host for result in results.values() for alias, host in result["aliases"].items()}
        alias_args = [arg for alias, host in sorted(aliases.items()) for arg in ("--alias", f"{alias}={host}")]
        subprocess.run([*HOSTLAB, "up", CLIENT, *alias_args], check=True, capture_output=True, timeout=300)
        hostaws.trust_ca(CLIENT, ca)
        yield Lab(envs, results, ca)
    finally:
        subprocess.run([*HOSTLAB, "down", *hosts], check=False, capture_output=True, timeout=180)
        subprocess.run([*EMULATOR, "stop"], env=emulator_env, check=False, capture_output=True, timeout=60)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def on_client(command: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """A command on the client host; secrets go in ``stdin`` (as an option file or a variable), never argv."""
    return subprocess.run(
        [*HOSTLAB, "ssh", CLIENT, command], input=stdin, capture_output=True, text=True, check=False, timeout=120
    )


def mysql(env: dict[str, Any], sql: str, password: str | None = None, endpoint: str = "mysql/writer-endpoint",
          tls: bool = True) -> subprocess.CompletedProcess:  # fmt: skip
    """``sql`` as the master user on ``endpoint``, the password read from an option file on stdin."""
    options = f"[client]\nuser=admin\npassword={password or env['password']}\n"
    flags = f"--ssl --ssl-verify-server-cert --ssl-ca={CA_ON_HOST}" if tls else "--skip-ssl"
    host, port = env["outputs"][endpoint], env["outputs"]["mysql/port"]
    return on_client(
        f"f=$(mktemp) && cat > $f && mariadb --defaults-extra-file=$f {flags} -h {host} -P {port} "
        f"--batch --skip-column-names -e '{sql}'; rc=$?; rm -f $f; exit $rc",
        options,
    )


def redis(env: dict[str, Any], command: str, token: bool = True, tls: bool = True) -> subprocess.CompletedProcess:
    """``command`` on the environment's primary; the token in REDISCLI_AUTH from stdin, not argv."""
    host, port = env["outputs"]["redis/primary-endpoint"], env["outputs"]["redis/port"]
    flags = f"--tls --cacert {CA_ON_HOST}" if tls else ""
    auth = "read -r REDISCLI_AUTH && export REDISCLI_AUTH && " if token else ""
    return on_client(f"{auth}redis-cli {flags} -h {host} -p {port} {command}", env["token"] + "\n")


def test_up_returns_the_endpoint_names_as_aliases_of_the_data_host(lab: Lab) -> None:
    prod, staging = lab.results["prod"], lab.results["staging"]
    assert prod["host"] == "webstack-prod-data" and staging["host"] == "webstack-staging-data"
    assert prod["address"] != staging["address"]
    outputs = lab.envs["prod"]["outputs"]
    assert prod["aliases"] == {
        outputs[name]: "webstack-prod-data"
        for name in (
            "mysql/writer-endpoint",
            "mysql/reader-endpoint",
            "redis/primary-endpoint",
            "redis/reader-endpoint",
        )
    }
    assert set(staging["aliases"]) == {
        lab.envs["staging"]["outputs"]["mysql/writer-endpoint"],
        lab.envs["staging"]["outputs"]["redis/primary-endpoint"],
    }


def test_mysql_over_verified_tls_with_the_environments_password(lab: Lab) -> None:
    prod = lab.envs["prod"]
    writer = mysql(prod, 'SELECT CURRENT_USER(); SHOW DATABASES LIKE "app"; SHOW STATUS LIKE "Ssl_version"')
    reader = mysql(prod, "SELECT 1", endpoint="mysql/reader-endpoint")

    assert writer.returncode == 0, writer.stderr
    lines = writer.stdout.split("\n")
    assert lines[0] == "admin@%" and lines[1] == "app"
    assert lines[2].startswith("Ssl_version\tTLSv1."), lines
    assert reader.returncode == 0 and reader.stdout.strip() == "1", reader.stderr


def test_mysql_refuses_the_other_environments_password(lab: Lab) -> None:
    result = mysql(lab.envs["prod"], "SELECT 1", password=lab.envs["staging"]["password"])
    assert result.returncode != 0
    assert "Access denied for user 'admin'" in result.stderr


def test_mysql_refuses_a_plain_connection(lab: Lab) -> None:
    """The server takes no plain connection (require_secure_transport), and the user requires TLS anyway."""
    result = mysql(lab.envs["prod"], "SELECT 1", tls=False)
    setting = mysql(lab.envs["prod"], "SELECT @@require_secure_transport")

    assert result.returncode != 0
    assert "insecure transport" in result.stderr or "Access denied for user 'admin'" in result.stderr, result.stderr
    assert setting.stdout.strip() == "1", setting.stderr


def test_redis_answers_over_verified_tls_with_the_token_only(lab: Lab) -> None:
    prod = lab.envs["prod"]
    with_token = redis(prod, "PING")
    without = redis(prod, "PING", token=False)
    plain = redis(prod, "PING", tls=False)

    assert with_token.stdout.strip() == "PONG", with_token.stderr
    assert "NOAUTH" in without.stdout + without.stderr
    assert "PONG" not in plain.stdout
    wrong = on_client(
        f"read -r REDISCLI_AUTH && export REDISCLI_AUTH && redis-cli --tls --cacert {CA_ON_HOST} "
        f"-h {prod['outputs']['redis/primary-endpoint']} -p 6379 PING",
        lab.envs["staging"]["token"] + "\n",
    )
    assert "PONG" not in wrong.stdout and ("WRONGPASS" in wrong.stdout + wrong.stderr), wrong.stdout


def test_the_environments_stores_are_apart(lab: Lab) -> None:
    prod, staging = lab.envs["prod"], lab.envs["staging"]
    marker = secrets.token_hex(4)

    assert redis(prod, f"SET only-prod {marker}").stdout.strip() == "OK"
    created = mysql(prod, f'CREATE TABLE app.only_prod (v VARCHAR(16)); INSERT INTO app.only_prod VALUES ("{marker}")')  # noqa: S608 - a hex marker
    assert created.returncode == 0, created.stderr

    assert redis(prod, "GET only-prod").stdout.strip() == marker
    assert redis(staging, "GET only-prod").stdout.strip() == ""
    assert mysql(prod, "SELECT v FROM app.only_prod").stdout.strip() == marker
    missing = mysql(staging, "SELECT v FROM app.only_prod")
    assert missing.returncode != 0 and "doesn't exist" in missing.stderr, missing.stderr


def test_a_second_up_changes_nothing_and_restarts_nothing(lab: Lab) -> None:
    for name, env in lab.envs.items():
        started = time.monotonic()
        again = datastores.up(env["prefix"], ca_dir=lab.ca.parent, region=REGION)
        print(f"\nsecond up {env['prefix']}: {time.monotonic() - started:.1f} s")
        assert again["changed"] == [], again["changed"]
        assert again["booted"] is False
        assert again["pids"] == lab.results[name]["pids"]
        assert all(again["pids"].values())


def test_a_rotated_password_is_applied_without_a_restart(lab: Lab) -> None:
    staging = lab.envs["staging"]
    old = staging["password"]
    new = secrets.token_urlsafe(24)
    client("secretsmanager").put_secret_value(
        SecretId=staging["outputs"]["mysql/secret-name"],
        SecretString=json.dumps({"username": "admin", "password": new}),
    )
    staging["password"] = new

    again = datastores.up(staging["prefix"], ca_dir=lab.ca.parent, region=REGION)

    assert again["changed"] == ["mysql user password or TLS requirement"]
    assert again["pids"] == lab.results["staging"]["pids"]
    assert mysql(staging, "SELECT 1").stdout.strip() == "1"
    assert mysql(staging, "SELECT 1", password=old).returncode != 0


def test_the_secrets_are_in_no_argument_list_and_no_world_readable_file(lab: Lab) -> None:
    prod = lab.envs["prod"]
    host = lab.results["prod"]["host"]
    listing = subprocess.run(
        [*HOSTLAB, "ssh", host, "ps -eo args; stat -c '%a %U %n' /etc/redis/redis.conf /etc/*/tls/server.key"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert prod["token"] not in listing.stdout and prod["password"] not in listing.stdout
    modes = [line.split()[:2] for line in listing.stdout.splitlines() if line.startswith("6")]
    assert modes == [["600", "redis"], ["600", "mysql"], ["600", "redis"]], listing.stdout


def test_a_missing_output_is_refused_before_anything_boots(lab: Lab) -> None:
    prefix = "webstack-nodata"
    client("ssm").put_parameter(Name=f"/{prefix}/data/mysql/port", Value="3306", Type="String")
    before = hostlab.status()

    with pytest.raises(SystemExit) as refused:
        datastores.up(prefix, ca_dir=lab.ca.parent, region=REGION)

    message = str(refused.value)
    assert f"/{prefix}/data/mysql/writer-endpoint" in message and "run the data layer first" in message
    assert hostlab.status() == before
    assert datastores.host_name(prefix) not in hostlab.status()


def test_a_missing_secret_is_refused_naming_it_before_anything_boots(lab: Lab) -> None:
    prefix = "webstack-nosecret"
    outputs = environment(prefix, replica=False)["outputs"]
    ssm = client("ssm")
    for name, value in outputs.items():
        ssm.put_parameter(Name=f"/{prefix}/data/{name}", Value=value, Type="String", Overwrite=True)

    with pytest.raises(SystemExit) as refused:
        datastores.up(prefix, ca_dir=lab.ca.parent, region=REGION)

    assert f"secret {prefix}/mysql/master" in str(refused.value) and "run the data layer first" in str(refused.value)
    assert datastores.host_name(prefix) not in hostlab.status()


def test_a_long_prefix_gives_a_short_host_name() -> None:
    long = "webstack-" + "x" * 60
    assert datastores.host_name("webstack-prod") == "webstack-prod-data"
    assert len(datastores.host_name(long)) <= datastores.HOST_NAME_MAX
    assert datastores.host_name(long) != datastores.host_name(long + "y")
    assert datastores.host_name(long).endswith("-data")
