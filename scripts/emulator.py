#!/usr/bin/env python3
"""Local AWS emulator (moto in server mode) shared by the demo and the tests.

    scripts/emulator.py start    start it in the background (no-op when it runs)
    scripts/emulator.py stop     stop it
    scripts/emulator.py status   say whether it runs, on which port, with which pid
    scripts/emulator.py env      print the shell exports that point boto3 at it
    scripts/emulator.py serve    run it in the foreground (what `start` spawns)

State (pid, port, log, request log) lives in EMULATOR_STATE_DIR, by default
`.emulator/` at the project's root (git-ignored). The port comes from
EMULATOR_PORT (default 5055; 0 picks a free one).

Every request the emulator answers is appended to `requests.log` as one JSON
line (service, action): the tests use it to prove that a bad inventory sent
nothing, and the benchmark to count requests per managed resource. Roles,
inventories and modules know nothing of this: they only see AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 5055
DEFAULT_REGION = "us-east-1"
LOG = logging.getLogger("emulator")


def state_dir() -> Path:
    return Path(os.environ.get("EMULATOR_STATE_DIR", ROOT / ".emulator")).resolve()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def read_state() -> tuple[int, int] | None:
    """Return (pid, port) of a running emulator, or None."""
    directory = state_dir()
    try:
        pid = int((directory / "pid").read_text().strip())
        port = int((directory / "port").read_text().strip())
    except (OSError, ValueError):
        return None
    if pid_alive(pid) and port_open(port):
        return pid, port
    return None


# --------------------------------------------------------------------------- #
# Request log middleware
# --------------------------------------------------------------------------- #
def _service_from_auth(environ: dict[str, Any]) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    # AWS4-HMAC-SHA256 Credential=KEY/20260101/us-east-1/ec2/aws4_request, ...
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        return scope[3]
    except IndexError:
        return "unknown"


def _action(environ: dict[str, Any], body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    if body and b"Action=" in body:
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in fields:
            return fields["Action"][0]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    return f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}"


class RequestLog:
    """WSGI middleware: one JSON line per AWS request, then moto answers."""

    def __init__(self, app: Callable[..., Iterable[bytes]], path: Path) -> None:
        self.app = app
        self.path = path
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        record = {"service": _service_from_auth(environ), "action": _action(environ, body)}
        with self.lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        return self.app(environ, start_response)


def patch_moto() -> None:
    """Make moto behave as AWS where the roles' teardown depends on it (moto 5.2.5).

    - DeleteReplicationGroup: AWS removes the group once its nodes are gone;
      moto leaves it "deleting" forever. Here it is gone at once.
    - DeleteCacheSubnetGroup: not implemented by moto. Here it deletes the
      group, and refuses with CacheSubnetGroupInUse while a replication group
      or cache cluster uses it, as AWS does.
    Nothing else of moto is changed; the roles never learn they run against it.
    """
    from moto.core.responses import EmptyResult
    from moto.elasticache.exceptions import CacheSubnetGroupNotFound, ElastiCacheException
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse

    class CacheSubnetGroupInUse(ElastiCacheException):
        code = "CacheSubnetGroupInUse"

    moto_delete_replication_group = ElastiCacheBackend.delete_replication_group

    def delete_replication_group(self: Any, replication_group_id: str, retain_primary_cluster: bool | None) -> Any:
        group = moto_delete_replication_group(self, replication_group_id, retain_primary_cluster)
        del self.replication_groups[replication_group_id]
        return group

    def delete_cache_subnet_group(self: Any, name: str) -> None:
        if name not in self.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(name)
        users = [*self.replication_groups.values(), *self.cache_clusters.values()]
        if any(getattr(user, "cache_subnet_group_name", None) == name for user in users):
            raise CacheSubnetGroupInUse(f"Cache subnet group {name} is currently in use by a cache cluster.")
        del self.cache_subnet_groups[name]

    def respond_delete_cache_subnet_group(self: Any) -> EmptyResult:
        self.elasticache_backend.delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
        return EmptyResult()

    ElastiCacheBackend.delete_replication_group = delete_replication_group
    ElastiCacheBackend.delete_cache_subnet_group = delete_cache_subnet_group
    ElastiCacheResponse.delete_cache_subnet_group = respond_delete_cache_subnet_group


def serve(port: int) -> None:
    from moto.moto_server.threaded_moto_server import MotoRequestHandler
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    os.environ.setdefault("MOTO_PORT", str(port))
    patch_moto()
    app = DomainDispatcherApplication(create_backend_app)
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    logged = RequestLog(app, directory / "requests.log")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple("127.0.0.1", port, logged, threaded=True, request_handler=MotoRequestHandler)


# --------------------------------------------------------------------------- #
# Commands
# --------------------------------------------------------------------------- #
def start() -> int:
    running = read_state()
    if running:
        print(f"emulator already running: pid {running[0]}, http://127.0.0.1:{running[1]}")
        return 0
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    port = int(os.environ.get("EMULATOR_PORT", DEFAULT_PORT)) or free_port()
    if port_open(port):
        print(f"port {port} is taken by another program; set EMULATOR_PORT", file=sys.stderr)
        return 1
    env = dict(os.environ)
    # AWS-managed policies (AmazonSSMManagedInstanceCore) must exist to be attached.
    env.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    env.setdefault("MOTO_ACM_VALIDATION_WAIT", "1")
    log = (directory / "emulator.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    (directory / "pid").write_text(f"{process.pid}\n")
    (directory / "port").write_text(f"{port}\n")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(f"emulator exited with {process.returncode}; see {directory / 'emulator.log'}", file=sys.stderr)
            return 1
        if port_open(port):
            print(f"emulator running: pid {process.pid}, http://127.0.0.1:{port}")
            return 0
        time.sleep(0.1)
    print(f"emulator did not open port {port} within 30 s; see {directory / 'emulator.log'}", file=sys.stderr)
    return 1


def stop() -> int:
    directory = state_dir()
    try:
        pid = int((directory / "pid").read_text().strip())
    except (OSError, ValueError):
        print("emulator not running")
        return 0
    if pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    for name in ("pid", "port"):
        (directory / name).unlink(missing_ok=True)
    print(f"emulator stopped (pid {pid})")
    return 0


def status() -> int:
    running = read_state()
    if not running:
        print("emulator not running")
        return 3
    print(f"emulator running: pid {running[0]}, http://127.0.0.1:{running[1]}, state in {state_dir()}")
    return 0


def env_exports() -> int:
    running = read_state()
    if not running:
        print("emulator not running; run `scripts/emulator.py start` first", file=sys.stderr)
        return 3
    for key, value in endpoint_env(running[1]).items():
        print(f"export {key}={value}")
    return 0


def endpoint_env(port: int) -> dict[str, str]:
    """The environment that points boto3 (and so every amazon.aws module) at the emulator."""
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": DEFAULT_REGION,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop", "status", "env", "serve"])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port for `serve`")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.command == "serve":
        serve(args.port)
        return 0
    return {"start": start, "stop": stop, "status": status, "env": env_exports}[args.command]()


if __name__ == "__main__":
    sys.exit(main())
