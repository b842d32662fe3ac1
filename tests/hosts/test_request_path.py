"""The whole request path on this machine: `make demo`'s serve step over both deployed environments.

The test deploys prod and staging (site.yml: every layer and the bundles) to an
emulator of its own, then runs `scripts/demo.py serve` as `make demo` does: the
load balancer stand-in from the emulator's listeners and rules
(scripts/dataplane.py), each environment's data stores under the data layer's
names with the secrets' passwords (scripts/datastores.py), and the instances the
Auto Scaling groups launched as booted hosts that configure themselves from their
user data and bundle (scripts/fleet.py), with the AWS names, TLS and metadata
service of scripts/hostaws.py. No controller run touches a host.

Then, through the public stand-in over HTTPS (the demo CA): prod's page and API
(a miss, a hit, a write that evicts), staging's Cognito redirect, the default
404, HTTP to HTTPS; each environment reaching its own stores only; one prod
frontend stopped without a failed request; a scale-out of staging's frontends in
the emulator booting a host that takes traffic. It prints the timeline and the
throughput through the whole path next to a backend alone.

Needs root, systemd-nspawn and the cached root file system (`make hosts-test`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from .lab import free_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
HOSTLAB = [PYTHON, str(ROOT / "scripts" / "hostlab.py")]
EMULATOR = [PYTHON, str(ROOT / "scripts" / "emulator.py")]
HTTPS, HTTP = 18443, 18080
PROD, STAGING = "example.com", "staging.example.com"
SESSION = {"Cookie": "AWSELBAuthSessionCookie-0=test-session"}

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("systemd-nspawn") or not shutil.which("debootstrap"),
    reason="booted hosts need root, systemd-nspawn and debootstrap (scripts/bootstrap.sh)",
)


class Path_:
    """The served stack: environment, state folders, the demo's output and its timeline."""

    def __init__(self, env: dict[str, str], demo: Path) -> None:
        self.env, self.demo = env, demo
        self.output = ""
        self.deploy_seconds = 0.0
        self.serve_seconds = 0.0

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip

    def fleet(self) -> dict[str, Any]:
        return json.loads((self.demo / "fleet" / "fleet.json").read_text())

    def hosts(self, group: str) -> list[str]:
        return sorted(i for i, h in self.fleet()["hosts"].items() if h["group"] == group and h.get("address"))

    def dataplane_status(self) -> dict[str, Any]:
        done = subprocess.run([PYTHON, str(ROOT / "scripts" / "dataplane.py"), "status"], env=self.env,
                              capture_output=True, text=True, check=True)  # fmt: skip
        return json.loads(done.stdout)


def on_host(host: str, command: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HOSTLAB, "ssh", host, command], capture_output=True, text=True, check=False, timeout=120)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def request(path: Path_, host: str, url_path: str, method: str = "GET", body: dict | None = None,
            headers: dict | None = None, scheme: str = "https") -> tuple[int, dict[str, str], str]:  # fmt: skip
    port = HTTPS if scheme == "https" else HTTP
    context = ssl.create_default_context(cafile=str(path.demo / "ca.pem"))
    context.check_hostname = False  # the address is 127.0.0.1; the chain is checked against the demo CA
    data = json.dumps(body).encode() if body is not None else None
    sent = urllib.request.Request(  # noqa: S310 - http(s) to the local stand-in only
        f"{scheme}://127.0.0.1:{port}{url_path}", data=data, method=method,
        headers={"Host": host, "Content-Type": "application/json", **(headers or {})},
    )  # fmt: skip
    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(sent, timeout=15) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()


def keep_logs(demo: Path) -> None:
    """The demo's logs (stand-ins, metadata service, fleet, hosts' bootstrap) in .cache/request-path/,
    where they outlive pytest's temporary folders, to read after a failed run."""
    kept = ROOT / ".cache" / "request-path"
    shutil.rmtree(kept, ignore_errors=True)
    for log in demo.rglob("*.log"):
        target = kept / log.relative_to(demo)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(log, target)
    for state in demo.rglob("*.json"):
        target = kept / state.relative_to(demo)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(state, target)
    # Each host's own account: nginx's errors, the backend's last lines, the resolver it was given.
    fleet = demo / "fleet" / "fleet.json"
    hosts = json.loads(fleet.read_text())["hosts"] if fleet.exists() else {}
    for instance_id, host in hosts.items():
        if host.get("address"):
            command = ("tail -n 100 /var/log/nginx/error.log /var/log/webstack/backend.log 2>/dev/null;"
                       " journalctl -n 100 --no-pager 2>/dev/null")  # fmt: skip
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                (kept / "hosts").mkdir(parents=True, exist_ok=True)
                (kept / "hosts" / f"{instance_id}.log").write_text(on_host(instance_id, command).stdout)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path_]:
    folder = tmp_path_factory.mktemp("request-path")
    port = str(free_port())
    emulator_env = {**os.environ, "EMULATOR_STATE_DIR": str(folder / "emulator"), "EMULATOR_PORT": port}
    subprocess.run([*EMULATOR, "start"], env=emulator_env, check=True, capture_output=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "DATAPLANE_DIR": str(folder / "demo"),
        "FLEET_STATE": str(folder / "demo" / "fleet"),
        "DATAPLANE_PORTS": f"443={HTTPS},80={HTTP}",
    }
    served = Path_(env, folder / "demo")
    try:
        started = time.monotonic()
        for inventory in ("prod", "staging"):
            deploy = subprocess.run(
                [str(Path(PYTHON).parent / "ansible-playbook"), "-i", f"inventories/{inventory}", "playbooks/site.yml"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200, check=False,
            )  # fmt: skip
            assert deploy.returncode == 0, deploy.stdout[-4000:] + deploy.stderr[-2000:]
        served.deploy_seconds = time.monotonic() - started
        started = time.monotonic()
        demo = subprocess.run([PYTHON, str(ROOT / "scripts" / "demo.py"), "serve", "--wait", "300"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False)  # fmt: skip
        served.serve_seconds = time.monotonic() - started
        served.output = demo.stdout + demo.stderr
        assert demo.returncode == 0, served.output[-6000:]
        yield served
    finally:
        keep_logs(folder / "demo")
        subprocess.run([PYTHON, str(ROOT / "scripts" / "demo.py"), "stop"], env=env, capture_output=True, timeout=600)
        subprocess.run([*EMULATOR, "stop"], env=emulator_env, check=False, capture_output=True, timeout=60)


def test_every_instance_became_a_configured_host(served: Path_) -> None:
    hosts = served.fleet()["hosts"]
    by_group: dict[str, int] = {}
    for instance_id, host in hosts.items():
        if host["result"] != "configured":  # the host's own account of it, in full
            pytest.fail(f"{instance_id} ({host['group']}): {host['result']}\n{host.get('log_tail', '')}")
        by_group[host["group"]] = by_group.get(host["group"], 0) + 1
    # As many as each group's desired capacity, capped at 2: prod runs two per tier, staging one.
    assert by_group == {"webstack-prod-frontend": 2, "webstack-prod-backend": 2,
                        "webstack-staging-frontend": 1, "webstack-staging-backend": 1}  # fmt: skip
    assert "first 200 through the public stand-in" in served.output


def test_prod_serves_the_page_and_the_api_miss_hit_and_a_write_that_evicts(served: Path_) -> None:
    status, _, page = request(served, PROD, "/")
    assert status == 200 and "<html" in page.lower()
    written, _, _ = request(served, PROD, "/api/items/4242", "PUT", {"name": "from prod", "description": "v1"})
    assert written in (200, 201, 204)
    first = request(served, PROD, "/api/items/4242")
    second = request(served, PROD, "/api/items/4242")
    assert (first[0], second[0]) == (200, 200)
    assert (first[1].get("x-cache"), second[1].get("x-cache")) == ("miss", "hit")
    assert json.loads(second[2])["name"] == "from prod"
    request(served, PROD, "/api/items/4242", "PUT", {"name": "from prod", "description": "v2"})
    after = request(served, PROD, "/api/items/4242")
    assert after[1].get("x-cache") == "miss" and json.loads(after[2])["description"] == "v2"


def test_staging_redirects_to_its_cognito_sign_in(served: Path_) -> None:
    status, headers, _ = request(served, STAGING, "/api/items/1")
    domain = served.client("ssm").get_parameter(Name="/webstack-staging/identity/domain")["Parameter"]["Value"]
    assert status == 302
    assert headers["location"].startswith(f"https://{domain}.auth.us-east-1.amazoncognito.com/oauth2/authorize?")


def test_an_unknown_host_gets_the_default_404_and_http_goes_to_https(served: Path_) -> None:
    assert request(served, "nobody.example.org", "/")[0] == 404
    status, headers, _ = request(served, PROD, "/api/items/1", scheme="http")
    assert status == 301 and headers["location"].startswith(f"https://{PROD}:{HTTPS}/")


def test_each_environment_reads_only_its_own_database(served: Path_) -> None:
    request(served, PROD, "/api/items/5151", "PUT", {"name": "prod only", "description": "p"})
    request(served, STAGING, "/api/items/6161", "PUT", {"name": "staging only", "description": "s"}, SESSION)

    assert request(served, PROD, "/api/items/5151")[0] == 200
    assert request(served, STAGING, "/api/items/5151", headers=SESSION)[0] == 404
    assert request(served, STAGING, "/api/items/6161", headers=SESSION)[0] == 200
    assert request(served, PROD, "/api/items/6161")[0] == 404
    # In the stores themselves, and in the backends' own logs.
    for prefix, mine, other in (("webstack-prod", "5151", "6161"), ("webstack-staging", "6161", "5151")):
        database = served.client("ssm").get_parameter(Name=f"/{prefix}/data/mysql/database")["Parameter"]["Value"]
        query = "mysql -N -D " + shlex.quote(database) + " -e 'SELECT id FROM items' 2>&1"  # noqa: S608 - a shell command
        rows = on_host(f"{prefix}-data", query).stdout.split()
        assert mine in rows and other not in rows, (prefix, rows)
        logs = "".join(
            on_host(h, "cat /var/log/webstack/backend.log").stdout for h in served.hosts(f"{prefix}-backend")
        )
        # Each environment's write reached its own backends only (the reads of the other's id above did not).
        writes = [json.loads(line)["path"] for line in logs.splitlines() if '"method":"PUT"' in line]
        assert f"/api/items/{mine}" in writes and f"/api/items/{other}" not in writes, (prefix, writes)


def test_one_prod_frontend_stopped_no_request_fails_and_the_data_plane_marks_it(served: Path_) -> None:
    stopped = served.hosts("webstack-prod-frontend")[0]
    assert on_host(stopped, "systemctl stop nginx").returncode == 0
    try:
        statuses = []
        deadline = time.monotonic() + 60
        unhealthy = False
        while time.monotonic() < deadline and not (unhealthy and len(statuses) >= 30):
            statuses.append(request(served, PROD, "/healthz")[0])
            targets = served.dataplane_status()["targets"]["webstack-prod-frontend"]
            unhealthy = any(t["id"] == stopped and t["health"] == "unhealthy" for t in targets)
            time.sleep(0.3)
        assert unhealthy, targets
        # The ALB stand-in sends no request to a target it has not found unhealthy yet except those in flight:
        # before the checks mark it, a request to it is answered 502 at most once per probe interval.
        assert statuses[-20:] == [200] * 20, statuses
    finally:
        on_host(stopped, "systemctl start nginx")


def test_a_scale_out_in_the_emulator_boots_a_host_that_takes_traffic(served: Path_) -> None:
    before = set(served.hosts("webstack-staging-frontend"))
    served.client("autoscaling").set_desired_capacity(AutoScalingGroupName="webstack-staging-frontend",
                                                      DesiredCapacity=2)  # fmt: skip
    deadline = time.monotonic() + 600
    new: set[str] = set()
    while time.monotonic() < deadline and not new:
        new = set(served.hosts("webstack-staging-frontend")) - before
        time.sleep(5)
    assert new, served.fleet()
    (host,) = new
    assert served.fleet()["hosts"][host]["result"] == "configured"
    taking = False
    while time.monotonic() < deadline and not taking:
        for _ in range(10):
            request(served, STAGING, f"/?from-{host}", headers=SESSION)
        taking = f"from-{host}" in on_host(host, "cat /var/log/nginx/access.json 2>/dev/null").stdout
        time.sleep(2)
    assert taking


def test_a_rotation_of_stagings_secrets_keeps_it_answering(served: Path_) -> None:
    """playbooks/rotate-secrets.yml on staging while requests go through the public stand-in.

    The data host takes the new values as RDS and ElastiCache would (fleet.py's loop: Redis restarts
    with the new token, MariaDB's user gets the new password). No request fails; the backend, never
    restarted, reads the secrets again when a new connection is refused, and answers from both stores."""
    ssm, secrets = served.client("ssm"), served.client("secretsmanager")
    names = {store: ssm.get_parameter(Name=f"/webstack-staging/data/{store}/secret-name")["Parameter"]["Value"]
             for store in ("mysql", "redis")}  # fmt: skip
    before = {store: secrets.get_secret_value(SecretId=name)["VersionId"] for store, name in names.items()}
    (backend,) = served.hosts("webstack-staging-backend")
    started_at = on_host(backend, "systemctl show --property=ActiveEnterTimestampMonotonic --value webstack-backend")
    assert request(served, STAGING, "/api/items/7070", "PUT", {"name": "rotated", "description": "0"}, SESSION)[0] in (
        200, 201, 204)  # fmt: skip
    statuses: list[int] = []
    stop = threading.Event()

    def load() -> None:
        count = 0
        while not stop.is_set():
            count += 1
            if count % 5 == 0:
                body = {"name": "rotated", "description": str(count)}
                statuses.append(request(served, STAGING, "/api/items/7070", "PUT", body, SESSION)[0])
            else:
                statuses.append(request(served, STAGING, "/api/items/7070", headers=SESSION)[0])
            time.sleep(0.2)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        rotate = subprocess.run(
            [str(Path(PYTHON).parent / "ansible-playbook"), "-i", "inventories/staging", "playbooks/rotate-secrets.yml",
             "-e", "data_rotate_redis_grace_seconds=5"],
            cwd=ROOT, env=served.env, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        time.sleep(15)  # fleet.py's loop (every 5 s) hands the data host the promoted values
    finally:
        stop.set()
        thread.join(timeout=60)
    assert rotate.returncode == 0, rotate.stdout[-4000:] + rotate.stderr[-2000:]
    after = {store: secrets.get_secret_value(SecretId=name)["VersionId"] for store, name in names.items()}
    assert all(after[store] != before[store] for store in names), (before, after)
    failed = [status for status in statuses if status not in (200, 201, 204)]
    assert len(statuses) > 20 and not failed, statuses

    # MariaDB restarted (as after a failover): the backend's new connections need the new password.
    assert on_host("webstack-staging-data", "systemctl restart mariadb").returncode == 0
    deadline, answers = time.monotonic() + 90, []
    while time.monotonic() < deadline and answers[-2:] != ["hit", "hit"]:
        body = {"name": "rotated", "description": "after"} if not answers else None
        status, headers, _ = request(served, STAGING, "/api/items/7070", "PUT" if body else "GET", body, SESSION)
        answers.append(headers.get("x-cache", str(status)) if status == 200 else str(status))
        time.sleep(1)
    assert answers[-2:] == ["hit", "hit"], answers
    log = on_host(backend, "cat /var/log/webstack/backend.log").stdout.splitlines()
    reread = {json.loads(line).get("store") for line in log if '"secrets read again"' in line}
    assert reread == {"mysql", "redis"}, [line for line in log if "secret" in line][-10:]
    # The same service process: no restart, no redeploy.
    assert (
        on_host(backend, "systemctl show --property=ActiveEnterTimestampMonotonic --value webstack-backend").stdout
        == started_at.stdout
    )


def test_the_timeline_and_the_whole_path_next_to_a_backend_alone(served: Path_) -> None:
    """Prints the demo's times and wrk through the public stand-in next to one backend, for cache hits."""
    request(served, PROD, "/api/items/7", "PUT", {"name": "hot", "description": "bench"})
    request(served, PROD, "/api/items/7")
    backend = served.fleet()["hosts"][served.hosts("webstack-prod-backend")[0]]["address"]

    def wrk(url: str, *headers: str) -> dict[str, float]:
        extra = [arg for header in headers for arg in ("-H", header)]
        out = subprocess.run(["wrk", "-t1", "-c16", "-d5s", "--latency", *extra, url],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)", out, re.MULTILINE)
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
        return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p99": float(p99.group(1)) * scale}

    whole = wrk(f"https://127.0.0.1:{HTTPS}/api/items/7", f"Host: {PROD}")
    alone = wrk(f"http://{backend}:8080/api/items/7")
    timeline = "\n".join(line for line in served.output.splitlines() if line.startswith("demo:   "))
    print(
        f"\nrequest path: deploy of both environments {served.deploy_seconds:.1f} s, "
        f"serve {served.serve_seconds:.1f} s\n"
        f"{timeline}\n"
        f"cache hits, wrk -c16 5 s: whole path {whole['rps']:.0f} req/s p99 {whole['p99']:.2f} ms; "
        f"one backend alone {alone['rps']:.0f} req/s p99 {alone['p99']:.2f} ms"
    )
    assert whole["rps"] > 0 and alone["rps"] > 0
