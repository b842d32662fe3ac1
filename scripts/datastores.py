#!/usr/bin/env python3
"""The data stores the hosts use, on this machine: MariaDB and Redis under the data layer's names.

    scripts/datastores.py up --prefix P [--ca-dir DIR] [--region R]
        read the data layer's outputs (/<P>/data/ in SSM) and the two secrets they name from
        the emulator (AWS_ENDPOINT_URL, as `scripts/emulator.py env` exports), boot one hostlab
        host for the environment (<P>-data) and run on it MariaDB (TLS required, the master
        user and the database) and Redis (TLS only, the AUTH token) on the published ports,
        with a certificate for the published endpoint names signed by the demo CA; print
        {"host": ..., "address": ..., "aliases": {endpoint: host}, "changed": [...]} as JSON
    scripts/datastores.py down --prefix P
        power the environment's data host off and remove it

On AWS the data layer makes an RDS instance (and its replica) and an ElastiCache
replication group, and publishes their endpoint names, ports, the database and the names
of the secrets under /<prefix>/data/. Here those names resolve, on the hosts booted with
`--alias <endpoint>=<data host>` (the returned aliases), to one host per environment whose
MariaDB and Redis take exactly what the secrets hold. Nothing about AWS is copied into this
file: the names, ports, database, user, password and token are the emulator's.

`up` is idempotent: files are compared before they are written, a service is restarted only
when its files changed, the user is altered only when its password or TLS requirement
differs (a rotated secret is applied, without a restart). The secrets never appear in an
argument list or a log: they reach the host over SSH's standard input, and are written
there in files readable by the service's user only (0600).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import dataplane  # noqa: E402 - the demo CA and its certificates
import hostlab  # noqa: E402 - the booted hosts

LOG = logging.getLogger("datastores")

# What the data layer publishes under /<prefix>/data/ (roles/data/tasks/outputs.yml) and
# what the backend needs of it (app/src/webstack_backend/aws.py: the same required names).
REQUIRED = (
    "mysql/writer-endpoint",
    "mysql/port",
    "mysql/database",
    "mysql/secret-name",
    "redis/primary-endpoint",
    "redis/port",
    "redis/secret-name",
)
OPTIONAL = ("mysql/reader-endpoint", "redis/reader-endpoint", "redis/tls")
PENDING = "pending-creation"  # what the data role publishes before a resource has an endpoint
DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
HOST_NAME_MAX = 40  # a host's name is its hostname and its nspawn machine name (at most 64)


def host_name(prefix: str) -> str:
    """The environment's data host: <prefix>-data, shortened (with a hash) when the prefix is long."""
    name = f"{prefix}-data"
    if len(name) <= HOST_NAME_MAX:
        return name
    digest = hashlib.sha256(prefix.encode()).hexdigest()[:6]
    return f"{prefix[: HOST_NAME_MAX - 12].rstrip('-')}-{digest}-data"


def aws(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)


# --- what the data layer published ---------------------------------------------------------


class Outputs:
    """The data layer's outputs and secrets; the secrets are kept out of repr() and logs."""

    def __init__(self, parameters: dict[str, str], username: str, password: str, token: str) -> None:
        self.parameters = parameters
        self.username, self.password, self.token = username, password, token

    def __repr__(self) -> str:
        return f"Outputs({self.parameters!r}, username={self.username!r}, password=***, token=***)"

    @property
    def mysql_names(self) -> list[str]:
        return unique([self.parameters["mysql/writer-endpoint"], self.parameters.get("mysql/reader-endpoint")])

    @property
    def redis_names(self) -> list[str]:
        return unique([self.parameters["redis/primary-endpoint"], self.parameters.get("redis/reader-endpoint")])

    @property
    def names(self) -> list[str]:
        return unique(self.mysql_names + self.redis_names)

    @property
    def redis_tls(self) -> bool:
        return self.parameters.get("redis/tls", "true").lower() == "true"


def unique(names: list[str | None]) -> list[str]:
    return list(dict.fromkeys(name for name in names if name and name != PENDING))


def read_outputs(prefix: str, region: str) -> Outputs:
    """The parameters under /<prefix>/data/ and the two secrets they name; SystemExit naming what is missing."""
    path = f"/{prefix}/data"
    found: dict[str, str] = {}
    for page in aws("ssm", region).get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True):
        for parameter in page["Parameters"]:
            found[parameter["Name"][len(path) + 1 :]] = parameter["Value"]
    missing = [f"{path}/{name}" for name in REQUIRED if name not in found]
    if missing:
        raise SystemExit(
            f"datastores: {', '.join(missing)} not published in SSM (found under {path}/: "
            f"{', '.join(sorted(found)) or 'nothing'}): run the data layer first"
        )
    pending = [f"{path}/{name}" for name in REQUIRED if found[name] == PENDING]
    if pending:
        raise SystemExit(f"datastores: {', '.join(pending)} is {PENDING!r}: run the data layer first")
    for name in ("mysql/port", "redis/port"):
        if not found[name].isdigit() or not 0 < int(found[name]) < 65536:
            raise SystemExit(f"datastores: {path}/{name} is {found[name]!r}, not a port")
    if found["mysql/port"] == found["redis/port"]:
        raise SystemExit(f"datastores: {path}/mysql/port and {path}/redis/port are both {found['mysql/port']}")
    for name in ("mysql/writer-endpoint", "mysql/reader-endpoint", "redis/primary-endpoint", "redis/reader-endpoint"):
        value = found.get(name)
        if value is not None and value != PENDING and not DNS_NAME.match(value):
            raise SystemExit(f"datastores: {path}/{name} is {value!r}, not a DNS name")
    if not re.fullmatch(r"[A-Za-z0-9_$-]{1,64}", found["mysql/database"]):
        raise SystemExit(f"datastores: {path}/mysql/database is {found['mysql/database']!r}, not a database name")
    secrets = aws("secretsmanager", region)

    def secret(name: str) -> str:
        try:
            return secrets.get_secret_value(SecretId=name)["SecretString"]
        except ClientError as error:
            code = error.response["Error"]["Code"]
            raise SystemExit(
                f"datastores: secret {name} (named by {path}/): {code}: run the data layer first"
            ) from None

    mysql_secret = found["mysql/secret-name"]
    try:
        credentials = json.loads(secret(mysql_secret))
        username, password = str(credentials["username"]), str(credentials["password"])
    except (ValueError, KeyError, TypeError) as error:
        raise SystemExit(
            f"datastores: secret {mysql_secret} should be JSON with 'username' and 'password': {type(error).__name__}"
        ) from None
    if not username or len(username) > 80 or not password:
        raise SystemExit(f"datastores: secret {mysql_secret} has an empty or too long username, or no password")
    token = secret(found["redis/secret-name"])
    if not token or any(c.isspace() or c in "\"'\\" for c in token):
        raise SystemExit(f"datastores: secret {found['redis/secret-name']} is empty or has spaces or quotes")
    return Outputs(found, username, password, token)


# --- the host's files ----------------------------------------------------------------------

REDIS_CONF = """\
# Written by scripts/datastores.py: ElastiCache's stand-in for {prefix} ({names}).
bind 0.0.0.0
protected-mode no
{listen}
tls-cert-file /etc/redis/tls/server.crt
tls-key-file /etc/redis/tls/server.key
tls-ca-cert-file /etc/redis/tls/ca.crt
tls-auth-clients no
requirepass {token}
pidfile /run/redis/redis-server.pid
dir /var/lib/redis
logfile ""
"""

MARIADB_CONF = """\
# Written by scripts/datastores.py: RDS's stand-in for {prefix} ({names}).
[mysqld]
bind-address = 0.0.0.0
port = {port}
ssl_cert = /etc/mysql/tls/server.crt
ssl_key = /etc/mysql/tls/server.key
ssl_ca = /etc/mysql/tls/ca.crt
require_secure_transport = ON
"""


def desired_files(prefix: str, outputs: Outputs, ca_dir: Path) -> list[dict[str, Any]]:
    """Every file the data host holds for its stores: path, content, owner, mode, and the unit it feeds."""
    paths = dataplane.Paths(ca_dir)
    cert, key = dataplane.ensure_server_certificate(paths, outputs.names)
    ca, cert_text, key_text = paths.ca_cert.read_text(), cert.read_text(), key.read_text()
    redis_port = outputs.parameters["redis/port"]
    listen = f"port 0\ntls-port {redis_port}" if outputs.redis_tls else f"port {redis_port}"
    files = []
    for unit, owner, tls in (
        ("redis-server.service", "redis", "/etc/redis/tls"),
        ("mariadb.service", "mysql", "/etc/mysql/tls"),
    ):
        files += [
            {"path": f"{tls}/ca.crt", "content": ca, "owner": owner, "mode": 0o644, "unit": unit},
            {"path": f"{tls}/server.crt", "content": cert_text, "owner": owner, "mode": 0o644, "unit": unit},
            {"path": f"{tls}/server.key", "content": key_text, "owner": owner, "mode": 0o600, "unit": unit},
        ]
    files.append(
        {
            "path": "/etc/redis/redis.conf",
            "content": REDIS_CONF.format(
                prefix=prefix, names=", ".join(outputs.redis_names), listen=listen, token=outputs.token
            ),
            "owner": "redis",
            "mode": 0o600,
            "unit": "redis-server.service",
        }
    )
    files.append(
        {
            "path": "/etc/mysql/mariadb.conf.d/99-datastores.cnf",
            "content": MARIADB_CONF.format(
                prefix=prefix, names=", ".join(outputs.mysql_names), port=outputs.parameters["mysql/port"]
            ),
            "owner": "root",
            "mode": 0o644,
            "unit": "mariadb.service",
        }
    )
    return files


# What runs on the data host (Debian 12's python3), fed over SSH's standard input with its
# payload: no secret in an argument list, nothing printed but what changed and the PIDs.
REMOTE = r'''
import json, os, pwd, subprocess, sys

changed, restart = [], set()


def ensure_dir(path, owner):
    os.makedirs(path, mode=0o750, exist_ok=True)
    user = pwd.getpwnam(owner)
    stat = os.stat(path)
    if (stat.st_uid, stat.st_gid, stat.st_mode & 0o7777) != (user.pw_uid, user.pw_gid, 0o750):
        os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(path, 0o750)
        changed.append(path)


def ensure_file(spec):
    path, content = spec["path"], spec["content"].encode()
    user = pwd.getpwnam(spec["owner"])
    want = (user.pw_uid, user.pw_gid, spec["mode"])
    try:
        with open(path, "rb") as handle:
            same = handle.read() == content
        stat = os.stat(path)
        same = same and (stat.st_uid, stat.st_gid, stat.st_mode & 0o7777) == want
    except FileNotFoundError:
        same = False
    if same:
        return
    temporary = path + ".datastores"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    os.chown(temporary, user.pw_uid, user.pw_gid)
    os.chmod(temporary, spec["mode"])
    os.replace(temporary, path)
    changed.append(path)
    restart.add(spec["unit"])


def systemctl(*args):
    return subprocess.run(["systemctl", *args], capture_output=True, text=True)


def ensure_running(unit):
    if systemctl("is-enabled", "--quiet", unit).returncode != 0:
        systemctl("enable", "--quiet", unit)
        changed.append(f"{unit} enabled")
    if systemctl("is-active", "--quiet", unit).returncode != 0:
        done = systemctl("start", unit)
        changed.append(f"{unit} started")
    elif unit in restart:
        done = systemctl("restart", unit)
        changed.append(f"{unit} restarted")
    else:
        return
    if done.returncode != 0:
        status = systemctl("status", "--no-pager", "--lines=15", unit).stdout
        sys.exit(f"{unit} did not start: {done.stderr.strip()}\n{status}")


def sql(text, statement):
    # As root over the socket (unix_socket authentication); the statement on stdin, never in argv.
    done = subprocess.run(["mariadb", "--batch", "--skip-column-names"], input=statement,
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"MariaDB refused to {text}: {done.stderr.strip()[:300]}")
    return done.stdout.strip()


def literal(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


payload = json.load(sys.stdin)
ensure_dir("/etc/redis/tls", "redis")
ensure_dir("/etc/mysql/tls", "mysql")
for spec in payload["files"]:
    ensure_file(spec)
for unit in ("mariadb.service", "redis-server.service"):
    ensure_running(unit)

user = literal(payload["username"]) + "@'%'"
password = literal(payload["password"])
database = payload["database"]
state = sql("read the master user", f"""
SELECT COUNT(*) FROM mysql.user WHERE User = {literal(payload["username"])} AND Host = '%';
SELECT COUNT(*) FROM mysql.user WHERE User = {literal(payload["username"])} AND Host = '%'
    AND authentication_string = PASSWORD({password}) AND ssl_type = 'ANY';
SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {literal(database)};
""").split()
if state[0] == "0":
    sql("create the master user", f"CREATE USER {user} IDENTIFIED BY {password} REQUIRE SSL;")
    changed.append("mysql user created")
elif state[1] == "0":
    sql("alter the master user", f"ALTER USER {user} IDENTIFIED BY {password} REQUIRE SSL;")
    changed.append("mysql user password or TLS requirement")
grants = sql("read the master user's grants", f"SHOW GRANTS FOR {user};")
if "GRANT ALL PRIVILEGES ON *.* TO" not in grants:
    sql("grant to the master user", f"GRANT ALL PRIVILEGES ON *.* TO {user};")
    changed.append("mysql user privileges")
if state[2] == "0":
    sql("create the database", "CREATE DATABASE `" + database.replace("`", "``") + "`;")
    changed.append(f"database {database} created")


def main_pid(unit):
    return int(systemctl("show", "--property=MainPID", "--value", unit).stdout.strip() or 0)


print(json.dumps({"changed": changed, "pids": {"mariadb": main_pid("mariadb.service"),
                                               "redis": main_pid("redis-server.service")}}))
'''


def configure(host: str, address: str, files: list[dict[str, Any]], outputs: Outputs) -> dict[str, Any]:
    """Run REMOTE on the host with its payload on stdin; what changed and the services' PIDs."""
    payload = {
        "files": files,
        "username": outputs.username,
        "password": outputs.password,
        "database": outputs.parameters["mysql/database"],
    }
    launcher = 'python3 -c "import sys; exec(sys.stdin.readline())"'
    # The first line of stdin is the program (one line, as a JSON string literal), the rest its payload.
    program = f"exec({json.dumps(REMOTE)})\n"
    done = subprocess.run(
        hostlab.ssh_command(address, launcher),
        input=program + json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        message = done.stderr.strip()[-3000:]
        for secret in (outputs.password, outputs.token):
            message = message.replace(secret, "***")
        raise SystemExit(f"datastores: configuring {host} failed: {message}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- up and down ---------------------------------------------------------------------------


def running(host: str) -> str | None:
    """The host's address when it runs and answers SSH."""
    address = hostlab.host_address(host)
    if not address or not hostlab.status().get(host, {}).get("running"):
        return None
    probe = subprocess.run(hostlab.ssh_command(address, "true"), capture_output=True, check=False, timeout=30)
    return address if probe.returncode == 0 else None


def up(prefix: str, *, ca_dir: Path | str, region: str = "us-east-1") -> dict[str, Any]:
    """Boot (when not running) and configure the environment's data host; its name, address and aliases."""
    started = time.monotonic()
    outputs = read_outputs(prefix, region)  # before anything boots: a missing output stops here
    files = desired_files(prefix, outputs, Path(ca_dir))
    host = host_name(prefix)
    address = running(host)
    booted = address is None
    if booted:
        # In a process of its own: the container's nspawn must not be a child of this one
        # (an unreaped child stays in /proc, and hostlab's down would wait for it).
        booting = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "hostlab.py"), "up", host],
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        if booting.returncode != 0:
            raise SystemExit(f"datastores: booting {host} failed: {booting.stderr.strip()[-2000:]}")
        address = json.loads(booting.stdout)[host]
    boot_seconds = time.monotonic() - started
    result = configure(host, address, files, outputs)
    seconds = time.monotonic() - started
    LOG.info(
        "%s: %s at %s (%s), %s in %.1f s (boot %.1f s)",
        prefix,
        host,
        address,
        ", ".join(outputs.names),
        f"{len(result['changed'])} changes" if result["changed"] else "nothing changed",
        seconds,
        boot_seconds,
    )
    return {
        "host": host,
        "address": address,
        "aliases": dict.fromkeys(outputs.names, host),
        "changed": result["changed"],
        "pids": result["pids"],
        "booted": booted,
        "seconds": {"boot": round(boot_seconds, 1), "total": round(seconds, 1)},
    }


def down(prefix: str) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "hostlab.py"), "down", host_name(prefix)], check=True, timeout=120
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="boot and configure the environment's data host")
    up_parser.add_argument("--prefix", required=True)
    up_parser.add_argument(
        "--ca-dir", default=os.environ.get("DATAPLANE_DIR", str(ROOT / ".demo")), help="the demo CA's folder"
    )
    up_parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    down_parser = commands.add_parser("down", help="remove the environment's data host")
    down_parser.add_argument("--prefix", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    if os.geteuid() != 0:
        parser.error("needs root (the data host is a hostlab host)")
    if args.command == "up":
        if not os.environ.get("AWS_ENDPOINT_URL"):
            parser.error('AWS_ENDPOINT_URL is not set: eval "$(scripts/emulator.py env)" first')
        print(json.dumps(up(args.prefix, ca_dir=args.ca_dir, region=args.region), indent=2))
    else:
        down(args.prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
