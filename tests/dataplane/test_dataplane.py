"""The load balancer stand-in: the emulator's ALBs realised by nginx, proved over real HTTPS.

The module deploys the cheapest set of layers that produces the public ALB, its
host rules, the target groups and Cognito (staging: shared_edge, identity,
edge; prod: edge) to an emulator of its own, registers two local HTTP servers
into prod's target group (as two instances of prod's VPC, their private IPs
mapped to 127.0.0.2 and 127.0.0.3 in the data plane's address map) and an
internal ALB with a third server, then starts the data plane on free ports and
asks it over HTTPS with the demo's CA, as `curl --cacert .demo/ca.pem
--resolve example.com:8443:127.0.0.1` would.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = [sys.executable, str(ROOT / "scripts" / "emulator.py")]
DATAPLANE = [sys.executable, str(ROOT / "scripts" / "dataplane.py")]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
sys.path.insert(0, str(ROOT / "scripts"))
import dataplane  # noqa: E402 - the project's script, not a package

# Staging creates the shared edge and its Cognito user pool; prod adds its entry.
DEPLOYS = [("staging", ["shared_edge", "identity", "edge"]), ("prod", ["edge"])]
TIMINGS: dict[str, float] = {}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Target:
    """A tiny HTTP server standing in for an instance: /healthz and a page naming itself."""

    def __init__(self, name: str, address: str) -> None:
        self.name, self.address = name, address
        self.port = free_port()
        self.server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        name = self.name

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(
                    {"target": name, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((self.address, self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@dataclass
class Plane:
    env: dict[str, str]
    directory: Path
    https: int
    http: int
    internal_base: int
    targets: dict[str, Target] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def command(self, *args: str) -> list[str]:
        ports = f"443={self.https},80={self.http}"
        return [
            *DATAPLANE,
            "--dir",
            str(self.directory),
            "--ports",
            ports,
            "--internal-base",
            str(self.internal_base),
            *args,
        ]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(self.command(*args), env=self.env, capture_output=True, text=True, timeout=120)
        if check:
            assert done.returncode == 0, done.stderr
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)

    def health_loop(self) -> subprocess.Popen:
        return subprocess.Popen(
            self.command("health", "--interval", "0.5", "--model-every", "1"),
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )


def request(plane: Plane, host: str, path: str = "/", *, port: int | None = None, tls: bool = True, **headers: str):
    """One request to the stand-in, TLS verified against the demo CA for `host` (curl --resolve does the same)."""
    import http.client

    sni = headers.pop("sni", host)
    connection = http.client.HTTPConnection("127.0.0.1", port or (plane.https if tls else plane.http), timeout=10)
    if tls:
        context = ssl.create_default_context(cafile=str(plane.directory / "ca.pem"))
        raw = socket.create_connection(("127.0.0.1", port or plane.https), timeout=10)
        connection.sock = context.wrap_socket(raw, server_hostname=sni)
    connection.request("GET", path, headers={"Host": host, **headers})
    answer = connection.getresponse()
    body = answer.read().decode()
    connection.close()
    return answer.status, dict(answer.getheaders()), body


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plane]:
    state = tmp_path_factory.mktemp("dataplane-emulator")
    emulator_env = {**os.environ, "EMULATOR_STATE_DIR": str(state), "EMULATOR_PORT": "0"}
    subprocess.run([*EMULATOR, "start"], env=emulator_env, check=True, capture_output=True, timeout=120)
    port = (state / "port").read_text().strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    ports = [free_port() for _ in range(2)]
    plane = Plane(env=env, directory=tmp_path_factory.mktemp("demo"), https=ports[0], http=ports[1], internal_base=0)
    plane.internal_base = free_port()
    try:
        started = time.monotonic()
        for inventory, layers in DEPLOYS:
            deploy = subprocess.run(
                [ANSIBLE_PLAYBOOK, "-i", f"inventories/{inventory}", "playbooks/provision.yml",
                 "-e", json.dumps({"provision_layers": layers})],
                cwd=ROOT, env=env | {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"},
                capture_output=True, text=True, timeout=900, check=False,
            )  # fmt: skip
            assert deploy.returncode == 0, deploy.stdout[-4000:] + deploy.stderr[-2000:]
        TIMINGS["deploy (staging shared_edge, identity, edge; prod edge)"] = time.monotonic() - started

        elb, ec2 = plane.client("elbv2"), plane.client("ec2")
        (prod_tg,) = elb.describe_target_groups(Names=["webstack-prod-frontend"])["TargetGroups"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [prod_tg["VpcId"]]}])["Subnets"]
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        # An internal ALB as the compute layer makes one: HTTP, forward to a group checking /healthz.
        internal_tg = elb.create_target_group(
            Name="dataplane-test-backend", Protocol="HTTP", Port=8080, VpcId=prod_tg["VpcId"],
            TargetType="instance", HealthCheckPath="/healthz", HealthCheckIntervalSeconds=5,
            HealthyThresholdCount=2, UnhealthyThresholdCount=2,
        )["TargetGroups"][0]  # fmt: skip
        internal = elb.create_load_balancer(
            Name="dataplane-test-internal", Scheme="internal", Subnets=[s["SubnetId"] for s in subnets[:2]]
        )["LoadBalancers"][0]
        elb.create_listener(
            LoadBalancerArn=internal["LoadBalancerArn"], Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": internal_tg["TargetGroupArn"]}],
        )  # fmt: skip

        addresses = {}
        for name, address, group in (
            ("web-a", "127.0.0.2", prod_tg),
            ("web-b", "127.0.0.3", prod_tg),
            ("app-a", "127.0.0.4", internal_tg),
        ):
            target = Target(name, address)
            target.start()
            (instance,) = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnets[0]["SubnetId"])[
                "Instances"
            ]
            elb.register_targets(
                TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": instance["InstanceId"], "Port": target.port}]
            )
            plane.targets[name], plane.instances[name] = target, instance["InstanceId"]
            addresses[instance["PrivateIpAddress"]] = address  # the private IP stands for this machine's address
        (plane.directory / "nginx").mkdir(parents=True, exist_ok=True)
        (plane.directory / "nginx" / "addresses.json").write_text(json.dumps(addresses))

        up = plane.json("up")
        TIMINGS.update({f"up: {step}": seconds for step, seconds in up["timings"].items()})
        assert up["started"]
        yield plane
    finally:
        plane.run("down", check=False)
        for target in plane.targets.values():
            target.stop()
        subprocess.run([*EMULATOR, "stop"], env=emulator_env, check=False, capture_output=True, timeout=60)


def test_the_model_is_the_emulators_control_plane(plane: Plane) -> None:
    model = plane.json("model")
    (public,) = [lb for lb in model["load_balancers"] if lb["scheme"] == "internet-facing"]
    listeners = {listener["port"]: listener for listener in public["listeners"]}
    assert listeners[80]["rules"][0]["actions"][0]["type"] == "redirect"
    https = listeners[443]
    assert https["protocol"] == "HTTPS"
    assert set(https["certificates"][0]["names"]) == {"example.com", "www.example.com", "staging.example.com"}
    assert [rule["priority"] for rule in https["rules"]] == [100, 200, "default"]
    prod, staging, default = https["rules"]
    assert prod["conditions"] == [{"field": "host-header", "values": ["example.com", "www.example.com"]}]
    assert [a["type"] for a in staging["actions"]] == ["authenticate-cognito", "forward"]
    cognito = staging["actions"][0]
    idp = plane.client("cognito-idp")
    (pool,) = [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Id"] == cognito["user_pool_id"]]
    (client,) = idp.list_user_pool_clients(UserPoolId=pool["Id"])["UserPoolClients"]
    assert cognito["client_id"] == client["ClientId"] and not cognito["errors"]
    assert cognito["hosted_ui"] == f"https://{cognito['domain']}.auth.us-east-1.amazoncognito.com"
    assert default["actions"] == [
        {"type": "fixed-response", "status": 404, "content_type": "text/plain", "body": "Not found"}
    ]
    groups = {g["name"]: g for g in model["target_groups"]}
    prod_group = groups["webstack-prod-frontend"]
    assert prod_group["health_check"]["path"] == "/healthz"
    assert {t["id"] for t in prod_group["targets"]} == {plane.instances["web-a"], plane.instances["web-b"]}
    assert all(t["address"] and t["address"] != "127.0.0.2" for t in prod_group["targets"])


def test_the_demo_ca_is_created_once_and_private(plane: Plane) -> None:
    ca, key = plane.directory / "ca.pem", plane.directory / "ca.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = ca.read_bytes()
    plane.run("reload")
    assert ca.read_bytes() == before
    # The listener's certificate carries the ACM certificate's names and chains to the CA.
    with socket.create_connection(("127.0.0.1", plane.https), timeout=5) as raw:
        context = ssl.create_default_context(cafile=str(ca))
        with context.wrap_socket(raw, server_hostname="www.example.com") as tls:
            leaf = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(names) == ["example.com", "staging.example.com", "www.example.com"]


def test_prods_host_is_forwarded_to_its_targets(plane: Plane) -> None:
    seen = set()
    for host in ("example.com", "www.example.com", "EXAMPLE.com"):
        for _ in range(2):
            status, _, body = request(plane, host, "/api/items/1?fresh=1", sni="example.com")
            assert status == 200, body
            answer = json.loads(body)
            seen.add(answer["target"])
            assert answer["path"] == "/api/items/1?fresh=1"
            assert answer["headers"]["x-forwarded-proto"] == "https"
            assert answer["headers"]["x-forwarded-port"] == "443"
            assert answer["headers"]["x-amzn-trace-id"].startswith("Root=1-")
    assert seen == {"web-a", "web-b"}


def test_stagings_host_redirects_to_its_cognito_sign_in(plane: Plane) -> None:
    idp = plane.client("cognito-idp")
    (pool,) = [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"].startswith("webstack-staging")]
    (client,) = idp.list_user_pool_clients(UserPoolId=pool["Id"])["UserPoolClients"]
    domain = idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["Domain"]
    status, headers, _ = request(plane, "staging.example.com", "/api/items/1")
    assert status == 302
    location = urllib.parse.urlsplit(headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"https://{domain}.auth.us-east-1.amazoncognito.com/oauth2/authorize"
    )
    query = urllib.parse.parse_qs(location.query)
    assert query["client_id"] == [client["ClientId"]]
    assert query["redirect_uri"] == ["https://staging.example.com/oauth2/idpresponse"]
    assert query["response_type"] == ["code"] and query["scope"] == ["openid"] and query["state"]
    # With a session cookie the rule goes on to forward: staging has no target registered, so 503 as on AWS.
    status, _, _ = request(plane, "staging.example.com", "/", Cookie="AWSELBAuthSessionCookie-0=abc")
    assert status == 503


def test_an_unknown_host_gets_the_listeners_fixed_404(plane: Plane) -> None:
    status, headers, body = request(plane, "unknown.example.org", "/", sni="example.com")
    assert (status, headers["Content-Type"], body) == (404, "text/plain", "Not found")


def test_http_redirects_to_https(plane: Plane) -> None:
    status, headers, _ = request(plane, "www.example.com", "/a/b?c=1&d=2", tls=False)
    assert status == 301
    assert headers["Location"] == f"https://www.example.com:{plane.https}/a/b?c=1&d=2"


def test_the_internal_alb_forwards_on_its_own_port(plane: Plane) -> None:
    listeners = plane.json("status")["listeners"]
    (internal,) = [lsn for lsn in listeners if lsn["load_balancer"] == "dataplane-test-internal"]
    assert internal["protocol"] == "HTTP" and internal["port"] == 80
    port = int(internal["local"].rsplit(":", 1)[1])
    status, _, body = request(plane, "internal-alb", "/api/items/1", port=port, tls=False)
    assert status == 200 and json.loads(body)["target"] == "app-a"


def test_an_unchanged_model_does_not_reload_nginx(plane: Plane) -> None:
    before = plane.json("status")
    workers = subprocess.run(["pgrep", "-P", str(before["nginx_pid"])], capture_output=True, text=True).stdout
    started = time.monotonic()
    again = plane.json("reload")
    TIMINGS["reload, nothing changed (model read, generation, compare)"] = time.monotonic() - started
    assert again["changed"] is False and again["reloaded"] is False
    assert again["reloads"] == before["reloads"] and again["nginx_pid"] == before["nginx_pid"]
    assert subprocess.run(["pgrep", "-P", str(before["nginx_pid"])], capture_output=True, text=True).stdout == workers


def test_a_changed_rule_in_the_emulator_changes_routing_after_reload(plane: Plane) -> None:
    elb = plane.client("elbv2")
    (public,) = [lb for lb in elb.describe_load_balancers()["LoadBalancers"] if lb["Scheme"] == "internet-facing"]
    (https,) = [lsn for lsn in elb.describe_listeners(LoadBalancerArn=public["LoadBalancerArn"])["Listeners"]
                if lsn["Protocol"] == "HTTPS"]  # fmt: skip
    # A rule before prod's: its maintenance page for one path, wildcard host.
    rule = elb.create_rule(
        ListenerArn=https["ListenerArn"],
        Priority=50,
        Conditions=[
            {"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}},
            {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/maintenance*"]}},
        ],
        Actions=[{"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": "503", "ContentType": "application/json", "MessageBody": '{"down": "$maintenance"}'}}],
    )["Rules"][0]  # fmt: skip
    try:
        assert request(plane, "www.example.com", "/maintenance/now")[0] == 200  # not yet: nginx still has the old rules
        started = time.monotonic()
        reloaded = plane.json("reload")
        TIMINGS["reload after a rule changed"] = time.monotonic() - started
        assert reloaded["reloaded"] is True
        time.sleep(0.3)  # the old worker finishes, the new one answers
        status, headers, body = request(plane, "www.example.com", "/maintenance/now")
        assert (status, headers["Content-Type"], body) == (503, "application/json", '{"down": "$maintenance"}')
        assert request(plane, "www.example.com", "/other")[0] == 200  # the path condition holds too
        assert request(plane, "example.com", "/maintenance", sni="example.com")[0] == 200  # *. needs a label
    finally:
        elb.delete_rule(RuleArn=rule["RuleArn"])
        plane.run("reload")
    time.sleep(0.3)
    assert request(plane, "www.example.com", "/maintenance/now")[0] == 200


def test_a_stopped_target_leaves_the_upstream_and_requests_keep_succeeding(plane: Plane) -> None:
    loop = plane.health_loop()
    try:
        deadline = time.monotonic() + 30

        def healthy() -> set[str]:
            targets = plane.json("status")["targets"]["webstack-prod-frontend"]
            return {t["id"] for t in targets if t["health"] == "healthy"}

        while healthy() != {plane.instances["web-a"], plane.instances["web-b"]} and time.monotonic() < deadline:
            time.sleep(0.3)
        assert healthy() == {plane.instances["web-a"], plane.instances["web-b"]}

        plane.targets["web-a"].stop()
        stopped = time.monotonic()
        while plane.instances["web-a"] in healthy() and time.monotonic() < deadline:
            time.sleep(0.2)
        TIMINGS["stopped target out of the upstream (3 probes at 0.5 s)"] = time.monotonic() - stopped
        assert healthy() == {plane.instances["web-b"]}
        time.sleep(0.5)  # the reload lands
        for _ in range(10):
            status, _, body = request(plane, "example.com", "/", sni="example.com")
            assert status == 200 and json.loads(body)["target"] == "web-b"
        status_targets = plane.json("status")["targets"]["webstack-prod-frontend"]
        (down,) = [t for t in status_targets if t["id"] == plane.instances["web-a"]]
        assert down["health"] == "unhealthy" and "refused" in down["reason"].lower()

        # Back: after the healthy threshold it takes traffic again.
        plane.targets["web-a"].start()
        while healthy() != {plane.instances["web-a"], plane.instances["web-b"]} and time.monotonic() < deadline + 30:
            time.sleep(0.2)
        assert healthy() == {plane.instances["web-a"], plane.instances["web-b"]}
    finally:
        loop.terminate()
        loop.wait(timeout=10)
    assert loop.returncode == 0, loop.stderr.read() if loop.stderr else ""


def test_a_target_registered_in_the_emulator_takes_traffic_with_no_command(plane: Plane) -> None:
    """As an Auto Scaling group's new instance: registered, it passes the health check and takes requests;
    deregistered, it leaves the upstream. The health checker reads the emulator again (every 1 s here)."""
    elb, ec2 = plane.client("elbv2"), plane.client("ec2")
    (prod_tg,) = elb.describe_target_groups(Names=["webstack-prod-frontend"])["TargetGroups"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [prod_tg["VpcId"]]}])["Subnets"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    target = Target("web-c", "127.0.0.5")
    target.start()
    (instance,) = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnets[0]["SubnetId"])["Instances"]
    addresses_path = plane.directory / "nginx" / "addresses.json"
    addresses = json.loads(addresses_path.read_text())
    addresses_path.write_text(json.dumps(addresses | {instance["InstanceId"]: "127.0.0.5"}))
    plane.targets["web-c"] = target
    loop = plane.health_loop()
    try:
        registered = time.monotonic()
        elb.register_targets(
            TargetGroupArn=prod_tg["TargetGroupArn"], Targets=[{"Id": instance["InstanceId"], "Port": target.port}]
        )
        seen: set[str] = set()
        while "web-c" not in seen and time.monotonic() < registered + 30:
            seen.add(json.loads(request(plane, "example.com", "/", sni="example.com")[2])["target"])
            time.sleep(0.1)
        TIMINGS["registered target takes traffic (model read every 1 s, 2 probes at 0.5 s)"] = (
            time.monotonic() - registered
        )
        assert "web-c" in seen

        elb.deregister_targets(
            TargetGroupArn=prod_tg["TargetGroupArn"], Targets=[{"Id": instance["InstanceId"], "Port": target.port}]
        )
        deregistered = time.monotonic()
        ids = lambda: {t["id"] for t in plane.json("status")["targets"]["webstack-prod-frontend"]}  # noqa: E731
        while instance["InstanceId"] in ids() and time.monotonic() < deregistered + 30:
            time.sleep(0.2)
        assert instance["InstanceId"] not in ids()
        time.sleep(0.5)  # the reload lands
        answers = {json.loads(request(plane, "example.com", "/", sni="example.com")[2])["target"] for _ in range(8)}
        assert answers == {"web-a", "web-b"}
    finally:
        loop.terminate()
        loop.wait(timeout=10)


def test_down_stops_nginx_and_removes_the_runtime_files(plane: Plane) -> None:
    pid = plane.json("status")["nginx_pid"]
    plane.run("down")
    assert not Path(f"/proc/{pid}").exists()
    left = sorted(p.name for p in (plane.directory / "nginx").iterdir())
    assert left == ["addresses.json"]  # the hosts' starter owns the address map
    assert (plane.directory / "ca.pem").exists() and (plane.directory / "ca.key").exists()
    # Up again reuses the CA.
    assert plane.json("up")["started"]


def test_timings() -> None:
    """How long the deploy, the model read, the configuration and nginx's start took."""
    print("\ndata plane timings\n" + "".join(f"  {step:<60} {seconds:7.3f} s\n" for step, seconds in TIMINGS.items()))


# --------------------------------------------------------------------------- #
# The generation alone, on a model written here (no emulator)
# --------------------------------------------------------------------------- #
def group(name: str, *targets: tuple[str, int]) -> dict[str, Any]:
    return {
        "arn": f"arn:tg/{name}",
        "name": name,
        "in_use": True,
        "health_check": {"port": "traffic-port"},
        "targets": [{"id": address, "address": address, "port": port} for address, port in targets],
    }


def test_no_healthy_target_routes_to_all_as_the_alb_fails_open() -> None:
    tg = group("g", ("127.0.0.5", 80), ("127.0.0.6", 80))
    health = {dataplane.target_key(tg, tg["targets"][0]): {"state": "unhealthy"}}
    assert dataplane.upstream_servers(tg, health, {})[0] == ["127.0.0.5:80", "127.0.0.6:80"]
    health[dataplane.target_key(tg, tg["targets"][1])] = {"state": "healthy"}
    assert dataplane.upstream_servers(tg, health, {})[0] == ["127.0.0.6:80"]


def test_a_target_is_reached_only_on_this_machine() -> None:
    """An emulator's private IP may be routed off this machine: without an entry in the address map it is
    neither probed nor sent a request."""
    tg = group("g", ("10.20.16.4", 80), ("10.20.16.5", 80))
    assert dataplane.upstream_servers(tg, {}, {})[0] == []
    assert dataplane.upstream_servers(tg, {}, {"10.20.16.5": "127.0.0.9"})[0] == ["127.0.0.9:80"]
    ok, reason = dataplane.probe(tg | {"health_check": {"port": "traffic-port"}}, tg["targets"][0], None)
    assert not ok and "not on this machine" in reason


def test_matcher_and_wildcards() -> None:
    assert dataplane.matcher_accepts("200", 200) and not dataplane.matcher_accepts("200", 204)
    assert dataplane.matcher_accepts("200-299", 204) and dataplane.matcher_accepts("200,302", 302)
    import re

    assert re.fullmatch(dataplane.wildcard_regex("*.Example.com", True), "www.example.COM")
    assert not re.fullmatch(dataplane.wildcard_regex("*.example.com", True), "example.com")
    assert re.fullmatch(dataplane.wildcard_regex("/api/?tem*", False), "/api/items/1")
    assert not re.fullmatch(dataplane.wildcard_regex("/API/*", False), "/api/items")


def test_a_weighted_forward_splits_between_groups(tmp_path: Path) -> None:
    """A model written here (no emulator): a rule forwarding to two groups weighted 3:1, served by nginx."""
    a, b = Target("blue", "127.0.0.6"), Target("green", "127.0.0.7")
    a.start()
    b.start()
    blue = group("blue", ("127.0.0.6", a.port)) | {"arn": "arn:tg/blue"}
    green = group("green", ("127.0.0.7", b.port)) | {"arn": "arn:tg/green"}
    port = free_port()
    model = {
        "load_balancers": [
            {"arn": "arn:lb", "name": "lb", "scheme": "internet-facing", "dns_name": "lb.local", "listeners": [{
                "arn": "arn:listener", "port": 80, "protocol": "HTTP", "certificates": [], "rules": [
                    {"arn": "arn:rule/1", "priority": 1,
                     "conditions": [{"field": "path-pattern", "values": ["/split*"]}],
                     "actions": [{"type": "forward", "target_groups": [
                         {"arn": "arn:tg/blue", "weight": 3}, {"arn": "arn:tg/green", "weight": 1}]}]},
                    {"arn": "arn:rule/default", "priority": "default", "conditions": [],
                     "actions": [{"type": "forward", "target_groups": [{"arn": "arn:tg/green", "weight": 1}]}]},
                ]}],
            }
        ],
        "target_groups": [blue, green],
    }  # fmt: skip
    import argparse

    options = argparse.Namespace(ports=f"80={port}", internal_base=free_port(), bind="127.0.0.1")
    paths = dataplane.Paths(tmp_path)
    try:
        assert dataplane.apply(paths, options, model)["started"]
        plane = Plane(env={}, directory=tmp_path, https=0, http=port, internal_base=0)
        answers = [json.loads(request(plane, "any", "/split/x", tls=False)[2])["target"] for _ in range(200)]
        assert 0.6 < answers.count("blue") / len(answers) < 0.9, answers.count("blue")
        assert {json.loads(request(plane, "any", "/other", tls=False)[2])["target"] for _ in range(5)} == {"green"}

        # A configuration nginx -t refuses (an address that is none) replaces nothing: the old one keeps serving.
        served = paths.conf.read_text()
        with pytest.raises(SystemExit, match="nginx -t refused"):
            dataplane.apply(paths, argparse.Namespace(**vars(options) | {"bind": "256.0.0.1"}), model)
        assert paths.conf.read_text() == served
        assert json.loads(request(plane, "any", "/other", tls=False)[2])["target"] == "green"
    finally:
        dataplane.down(paths)
        a.stop()
        b.stop()


def test_the_health_state_machine_is_the_albs(tmp_path: Path) -> None:
    """initial until `healthy_threshold` passes, unhealthy after `unhealthy_threshold` failures, forgotten when
    deregistered; a 200 fails a matcher of 404 (no emulator: the model is written here)."""
    server = Target("probe", "127.0.0.8")
    server.start()
    tg = group("g", ("127.0.0.8", server.port)) | {
        "health_check": {"enabled": True, "protocol": "HTTP", "port": "traffic-port", "path": "/healthz",
                         "interval": 30, "timeout": 2, "healthy_threshold": 3, "unhealthy_threshold": 2,
                         "matcher": "200-299"},
    }  # fmt: skip
    model = {"load_balancers": [], "target_groups": [tg]}
    paths = dataplane.Paths(tmp_path)
    paths.nginx.mkdir(parents=True)
    key = dataplane.target_key(tg, tg["targets"][0])

    def state(now: float, interval: float | None = 0) -> str:
        dataplane.check_health(paths, model, now, interval)
        return json.loads(paths.health.read_text())[key]["state"]

    try:
        assert [state(t) for t in (1, 2, 3)] == ["initial", "initial", "healthy"]
        assert state(4, interval=None) == "healthy"  # not due: the group's own interval is 30 s
        server.stop()
        assert [state(t) for t in (5, 6)] == ["healthy", "unhealthy"]
        assert "refused" in json.loads(paths.health.read_text())[key]["reason"].lower()
        tg["health_check"]["path"] = "/"
        server.start()
        tg["health_check"]["matcher"] = "404"  # the server answers 200 everywhere: now a failure
        assert [state(t) for t in (7, 8, 9)] == ["unhealthy"] * 3
        tg["targets"] = []
        assert dataplane.check_health(paths, model, 10, 0) is True
        assert json.loads(paths.health.read_text()) == {}
    finally:
        server.stop()
