#!/usr/bin/env python3
"""The local data plane: the emulator's load balancers realised by nginx on this machine.

    scripts/dataplane.py model             print the control plane read from the emulator, as JSON
    scripts/dataplane.py up [--watch]      write nginx's configuration, check it (nginx -t), start or reload nginx;
                                           --watch then runs the health checker in the foreground
    scripts/dataplane.py reload            regenerate; reload nginx only when the configuration changed
    scripts/dataplane.py health [--once]   probe every registered target as its target group says and
                                           reload when the set of healthy targets (or the model) changed
    scripts/dataplane.py status            nginx's pid, the listeners' local ports, the targets' health
    scripts/dataplane.py down              stop nginx and remove its runtime files (the CA stays)

Everything comes from the emulator (AWS_ENDPOINT_URL, `scripts/emulator.py env`):
the load balancers, their listeners and certificates (ACM), their rules in
priority order, the target groups with their health checks, the registered
targets (an instance's private IP from EC2) and, for authenticate-cognito, the
user pool's domain and app client (Cognito). Nothing about the stack is
written here. docs/DATAPLANE.md describes what it does and does not do.

Files live in DATAPLANE_DIR (default `.demo/` at the project's root,
git-ignored): the demo's CA (`ca.pem`, `ca.key`, created once and reused),
and under `nginx/` the generated configuration, certificates, pid, logs,
temp directories, the target health (`health.json`) and the local address
map (`addresses.json`: a target's instance id or IP -> the local address that
stands in for it; whoever starts the hosts writes it, absent means "as
registered") and the load balancers' own addresses (`binds.json`: a load
balancer's name -> the address its listeners take, on their real ports; absent
means --bind and local ports).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import hashlib
import http.client
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NGINX = os.environ.get("DATAPLANE_NGINX", "/usr/sbin/nginx")
# The public ALB's listeners on this machine: AWS port -> local port (DATAPLANE_PORTS="443=8443,80=8080").
DEFAULT_PORTS = "443=8443,80=8080"
# Listeners of the other load balancers (the internal ALBs) take local ports from here on.
DEFAULT_INTERNAL_BASE = 8100


def log(message: str) -> None:
    print(f"dataplane: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- #
# The model: what the emulator holds
# --------------------------------------------------------------------------- #
def clients() -> dict[str, Any]:
    import boto3

    if not os.environ.get("AWS_ENDPOINT_URL"):
        raise SystemExit('dataplane: AWS_ENDPOINT_URL is not set: eval "$(scripts/emulator.py env)" first')
    session = boto3.session.Session(region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    return {name: session.client(name) for name in ("elbv2", "acm", "ec2", "cognito-idp")}


def pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    if client.can_paginate(operation):
        return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]
    return client.__getattribute__(operation)(**kwargs)[key]


def rule_priority(rule: dict[str, Any]) -> float:
    return float("inf") if rule.get("IsDefault") else int(rule["Priority"])


def condition(raw: dict[str, Any]) -> dict[str, Any]:
    field = raw["Field"]
    config_key = {
        "host-header": "HostHeaderConfig",
        "path-pattern": "PathPatternConfig",
        "http-request-method": "HttpRequestMethodConfig",
        "source-ip": "SourceIpConfig",
    }.get(field)
    values = (raw.get(config_key) or {}).get("Values") if config_key else None
    if values is None:
        values = raw.get("Values", [])
    return {"field": field, "values": list(values)}


def certificate(acm: Any, arn: str) -> dict[str, Any]:
    try:
        found = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    except acm.exceptions.ResourceNotFoundException:
        return {"arn": arn, "missing": True, "names": []}
    names = [found["DomainName"]] + [n for n in found.get("SubjectAlternativeNames", []) if n != found["DomainName"]]
    return {"arn": arn, "domain_name": found["DomainName"], "names": names, "status": found.get("Status")}


def cognito(idp: Any, config: dict[str, Any]) -> dict[str, Any]:
    """The authenticate-cognito action, with the pool's domain and client as Cognito holds them."""
    arn = config["UserPoolArn"]
    region = arn.split(":")[3]
    pool_id = arn.rsplit("/", 1)[-1]
    action: dict[str, Any] = {
        "type": "authenticate-cognito",
        "user_pool_arn": arn,
        "user_pool_id": pool_id,
        "region": region,
        "client_id": config["UserPoolClientId"],
        "domain": config["UserPoolDomain"],
        "scope": config.get("Scope", "openid"),
        "session_cookie_name": config.get("SessionCookieName", "AWSELBAuthSessionCookie"),
        "session_timeout": config.get("SessionTimeout", 604800),
        "on_unauthenticated_request": config.get("OnUnauthenticatedRequest", "authenticate"),
        "errors": [],
    }
    try:
        pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    except idp.exceptions.ResourceNotFoundException:
        action["errors"].append(f"user pool {pool_id} not found")
        return action
    try:
        client = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=action["client_id"])["UserPoolClient"]
        action["client_callback_urls"] = client.get("CallbackURLs", [])
        action["client_scopes"] = client.get("AllowedOAuthScopes", [])
    except idp.exceptions.ResourceNotFoundException:
        action["errors"].append(f"app client {action['client_id']} not found in {pool_id}")
    domain = action["domain"]
    described = idp.describe_user_pool_domain(Domain=domain).get("DomainDescription") or {}
    if described.get("UserPoolId") != pool_id:
        action["errors"].append(f"domain {domain} does not belong to {pool_id}")
    # A prefix domain is hosted by Cognito; a custom domain (a name with dots) is served as itself.
    custom = pool.get("CustomDomain") == domain or "." in domain
    action["hosted_ui"] = f"https://{domain}" if custom else f"https://{domain}.auth.{region}.amazoncognito.com"
    return action


def action(raw: dict[str, Any], idp: Any) -> dict[str, Any]:
    kind = raw["Type"]
    if kind == "forward":
        groups = raw.get("ForwardConfig", {}).get("TargetGroups") or [{"TargetGroupArn": raw["TargetGroupArn"]}]
        return {
            "type": kind,
            "target_groups": [{"arn": g["TargetGroupArn"], "weight": g.get("Weight", 1)} for g in groups],
        }
    if kind == "fixed-response":
        config = raw["FixedResponseConfig"]
        return {
            "type": kind,
            "status": int(config["StatusCode"]),
            "content_type": config.get("ContentType", "text/plain"),
            "body": config.get("MessageBody", ""),
        }
    if kind == "redirect":
        config = raw["RedirectConfig"]
        return {
            "type": kind,
            "protocol": config.get("Protocol", "#{protocol}"),
            "host": config.get("Host", "#{host}"),
            "port": config.get("Port", "#{port}"),
            "path": config.get("Path", "/#{path}"),
            "query": config.get("Query", "#{query}"),
            "status": int(config["StatusCode"].split("_")[-1]),
        }
    if kind == "authenticate-cognito":
        return cognito(idp, raw["AuthenticateCognitoConfig"])
    return {"type": kind, "unsupported": True}


def read_model() -> dict[str, Any]:
    """Every load balancer, listener, rule, target group and target the emulator holds."""
    aws = clients()
    elb, ec2 = aws["elbv2"], aws["ec2"]
    balancers = []
    used_groups: set[str] = set()
    for lb in sorted(pages(elb, "describe_load_balancers", "LoadBalancers"), key=lambda lb: lb["LoadBalancerName"]):
        if lb.get("Type", "application") != "application":
            continue
        listeners = []
        for raw in sorted(
            pages(elb, "describe_listeners", "Listeners", LoadBalancerArn=lb["LoadBalancerArn"]),
            key=lambda found: found["Port"],
        ):
            listener: dict[str, Any] = {
                "arn": raw["ListenerArn"],
                "port": raw["Port"],
                "protocol": raw["Protocol"],
                "certificates": [],
                "rules": [],
            }
            if raw["Protocol"] == "HTTPS":
                arns = [c["CertificateArn"] for c in raw.get("Certificates", [])]
                with contextlib.suppress(Exception):  # additional (SNI) certificates, where supported
                    arns += [
                        c["CertificateArn"]
                        for c in elb.describe_listener_certificates(ListenerArn=raw["ListenerArn"])["Certificates"]
                        if not c.get("IsDefault")
                    ]
                listener["certificates"] = [certificate(aws["acm"], arn) for arn in dict.fromkeys(arns)]
                policy = raw.get("SslPolicy")
                listener["ssl_policy"] = {"name": policy}
                with contextlib.suppress(Exception):
                    (found,) = elb.describe_ssl_policies(Names=[policy])["SslPolicies"]
                    listener["ssl_policy"] |= {
                        "protocols": sorted(found.get("SslProtocols", [])),
                        "ciphers": [
                            c["Name"] for c in sorted(found.get("Ciphers", []), key=lambda c: c.get("Priority", 0))
                        ],
                    }
            rules = sorted(elb.describe_rules(ListenerArn=raw["ListenerArn"])["Rules"], key=rule_priority)
            for rule in rules:
                actions = [
                    action(a, aws["cognito-idp"]) for a in sorted(rule["Actions"], key=lambda a: a.get("Order", 0))
                ]
                for step in actions:
                    used_groups.update(g["arn"] for g in step.get("target_groups", []))
                listener["rules"].append(
                    {
                        "arn": rule["RuleArn"],
                        "priority": "default" if rule.get("IsDefault") else int(rule["Priority"]),
                        "conditions": [condition(c) for c in rule.get("Conditions", [])],
                        "actions": actions,
                    }
                )
            listeners.append(listener)
        balancers.append(
            {
                "arn": lb["LoadBalancerArn"],
                "name": lb["LoadBalancerName"],
                "scheme": lb.get("Scheme", "internet-facing"),
                "dns_name": lb.get("DNSName"),
                "listeners": listeners,
            }
        )

    groups = []
    raw_groups = pages(elb, "describe_target_groups", "TargetGroups")
    instance_ids: set[str] = set()
    health_by_group = {}
    for tg in raw_groups:
        health_by_group[tg["TargetGroupArn"]] = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])[
            "TargetHealthDescriptions"
        ]
        if tg.get("TargetType", "instance") == "instance":
            instance_ids.update(d["Target"]["Id"] for d in health_by_group[tg["TargetGroupArn"]])
    instances = {}
    if instance_ids:
        found = pages(
            ec2, "describe_instances", "Reservations", Filters=[{"Name": "instance-id", "Values": sorted(instance_ids)}]
        )
        for reservation in found:
            for instance in reservation["Instances"]:
                instances[instance["InstanceId"]] = instance
    for tg in sorted(raw_groups, key=lambda tg: tg["TargetGroupName"]):
        targets = []
        for described in health_by_group[tg["TargetGroupArn"]]:
            target = described["Target"]
            port = target.get("Port", tg["Port"])
            entry: dict[str, Any] = {"id": target["Id"], "port": port}
            if tg.get("TargetType", "instance") == "instance":
                instance = instances.get(target["Id"], {})
                entry["address"] = instance.get("PrivateIpAddress")
                entry["instance_state"] = instance.get("State", {}).get("Name", "missing")
            else:
                entry["address"] = target["Id"]
            entry["reported_health"] = described.get("TargetHealth", {}).get("State")
            targets.append(entry)
        matcher = tg.get("Matcher", {}).get("HttpCode", "200")
        groups.append(
            {
                "arn": tg["TargetGroupArn"],
                "name": tg["TargetGroupName"],
                "protocol": tg.get("Protocol", "HTTP"),
                "port": tg["Port"],
                "target_type": tg.get("TargetType", "instance"),
                "in_use": tg["TargetGroupArn"] in used_groups,
                "health_check": {
                    "enabled": tg.get("HealthCheckEnabled", True),
                    "protocol": tg.get("HealthCheckProtocol", "HTTP"),
                    "port": tg.get("HealthCheckPort", "traffic-port"),
                    "path": tg.get("HealthCheckPath", "/"),
                    "interval": tg.get("HealthCheckIntervalSeconds", 30),
                    "timeout": tg.get("HealthCheckTimeoutSeconds", 5),
                    "healthy_threshold": tg.get("HealthyThresholdCount", 5),
                    "unhealthy_threshold": tg.get("UnhealthyThresholdCount", 2),
                    "matcher": matcher,
                },
                "targets": sorted(targets, key=lambda t: (t["id"], t["port"])),
            }
        )
    return {"load_balancers": balancers, "target_groups": groups}


# --------------------------------------------------------------------------- #
# Files
# --------------------------------------------------------------------------- #
class Paths:
    def __init__(self, base: Path | None = None) -> None:
        self.base = Path(base or os.environ.get("DATAPLANE_DIR", ROOT / ".demo")).resolve()
        self.ca_cert = self.base / "ca.pem"
        self.ca_key = self.base / "ca.key"
        self.nginx = self.base / "nginx"
        self.conf = self.nginx / "nginx.conf"
        self.pid = self.nginx / "nginx.pid"
        self.certs = self.nginx / "certs"
        self.logs = self.nginx / "logs"
        self.temp = self.nginx / "temp"
        self.health = self.nginx / "health.json"
        self.addresses = self.nginx / "addresses.json"
        self.binds = self.nginx / "binds.json"
        self.state = self.nginx / "state.json"
        self.model = self.nginx / "model.json"
        self.lock = self.nginx / ".lock"


@contextlib.contextmanager
def locked(paths: Paths) -> Iterator[None]:
    paths.nginx.mkdir(parents=True, exist_ok=True)
    with paths.lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.chmod(mode)
    partial.replace(path)


# --------------------------------------------------------------------------- #
# The demo's CA and the listeners' certificates
# --------------------------------------------------------------------------- #
def ensure_ca(paths: Paths) -> tuple[Any, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    if paths.ca_cert.exists() and paths.ca_key.exists():
        cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
        return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webstack demo CA (local, not trusted anywhere else)")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    paths.base.mkdir(parents=True, exist_ok=True)
    write_atomic(
        paths.ca_key,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        0o600,
    )
    write_atomic(paths.ca_cert, cert.public_bytes(serialization.Encoding.PEM).decode())
    log(f"created the demo CA {paths.ca_cert}")
    return cert, key


def ensure_server_certificate(paths: Paths, names: list[str]) -> tuple[Path, Path]:
    """A leaf for these names signed by the demo CA; kept while the names and the CA stay the same."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert, ca_key = ensure_ca(paths)
    ca_fingerprint = ca_cert.fingerprint(hashes.SHA256()).hex()[:16]
    digest = hashlib.sha256(json.dumps([ca_fingerprint, names]).encode()).hexdigest()[:16]
    cert_path, key_path = paths.certs / f"{digest}.pem", paths.certs / f"{digest}.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=397))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_atomic(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        0o600,
    )
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM).decode())
    return cert_path, key_path


# --------------------------------------------------------------------------- #
# Target health, kept here (the emulator's DescribeTargetHealth says nothing true: docs/EMULATOR.md E41)
# --------------------------------------------------------------------------- #
def target_key(group: dict[str, Any], target: dict[str, Any]) -> str:
    return f"{group['arn']}|{target['id']}|{target['port']}"


def local_address(addresses: dict[str, str], target: dict[str, Any]) -> str | None:
    """Where this machine reaches a target: its entry in the address map, or its own address when that is a
    loopback one. None otherwise: an emulator's private IP (10.x) may well be routed off this machine, and the
    data plane never sends a request (nor a health check) out of it."""
    mapped = addresses.get(target["id"]) or addresses.get(target.get("address") or "")
    if mapped:
        return mapped
    try:
        return target["address"] if ipaddress.ip_address(target.get("address") or "").is_loopback else None
    except ValueError:
        return None


def matcher_accepts(matcher: str, status: int) -> bool:
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        if int(low) <= status <= int(high or low):
            return True
    return False


def probe(group: dict[str, Any], target: dict[str, Any], address: str | None) -> tuple[bool, str]:
    check = group["health_check"]
    if not address:
        return False, "not on this machine (no entry in addresses.json)"
    if target.get("instance_state") not in (None, "running"):
        return False, f"instance {target.get('instance_state')}"
    port = target["port"] if check["port"] == "traffic-port" else int(check["port"])
    connection_class = http.client.HTTPSConnection if check["protocol"] == "HTTPS" else http.client.HTTPConnection
    kwargs: dict[str, Any] = {"timeout": check["timeout"]}
    if check["protocol"] == "HTTPS":
        import ssl

        kwargs["context"] = ssl._create_unverified_context()  # noqa: S323 - as the ALB: no verification of targets
    try:
        connection = connection_class(address, port, **kwargs)
        connection.request("GET", check["path"], headers={"User-Agent": "ELB-HealthChecker/2.0"})
        status = connection.getresponse().status
        connection.close()
    except OSError as error:
        return False, f"{type(error).__name__}: {error}"
    return matcher_accepts(check["matcher"], status), f"HTTP {status}"


def check_health(paths: Paths, model: dict[str, Any], now: float, interval: float | None = None) -> bool:
    """Probe the targets that are due; return whether any target's state changed. The state machine is the ALB's:
    a new target is `initial` until `healthy_threshold` successes in a row, a healthy one turns `unhealthy`
    after `unhealthy_threshold` failures in a row."""
    from concurrent.futures import ThreadPoolExecutor

    health = read_json(paths.health, {})
    addresses = read_json(paths.addresses, {})
    changed = False
    seen = set()
    due = []
    for group in model["target_groups"]:
        check = group["health_check"]
        for target in group["targets"]:
            key = target_key(group, target)
            seen.add(key)
            entry = health.setdefault(
                key, {"state": "initial", "successes": 0, "failures": 0, "last_probe": 0.0, "reason": ""}
            )
            if not check["enabled"]:
                if entry["state"] != "unavailable":
                    entry["state"], changed = "unavailable", True
                continue
            if now - entry["last_probe"] >= (interval if interval is not None else check["interval"]):
                due.append((group, target, entry))
    # The probes of one round run side by side: a target that hangs costs its timeout once, not per target.
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(due)))) as pool:
        results = list(pool.map(lambda item: probe(item[0], item[1], local_address(addresses, item[1])), due))
    for (group, target, entry), (ok, reason) in zip(due, results, strict=True):
        check = group["health_check"]
        entry["last_probe"], entry["reason"] = now, reason
        if ok:
            entry["successes"], entry["failures"] = entry["successes"] + 1, 0
            if entry["state"] != "healthy" and entry["successes"] >= check["healthy_threshold"]:
                entry["state"], changed = "healthy", True
                log(f"{group['name']} {target['id']}:{target['port']} healthy ({reason})")
        else:
            entry["successes"], entry["failures"] = 0, entry["failures"] + 1
            if entry["state"] != "unhealthy" and entry["failures"] >= check["unhealthy_threshold"]:
                entry["state"], changed = "unhealthy", True
                log(f"{group['name']} {target['id']}:{target['port']} unhealthy ({reason})")
    for key in set(health) - seen:  # deregistered
        del health[key]
        changed = True
    write_atomic(paths.health, json.dumps(health, indent=2, sort_keys=True))
    return changed


# --------------------------------------------------------------------------- #
# nginx's configuration
# --------------------------------------------------------------------------- #
def ident(*parts: str) -> str:
    return "dp_" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def quoted(text: str) -> str:
    """A literal string for nginx: quotes and backslashes escaped, and no variable in it."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "${dp_dollar}") + '"'


def regex(text: str) -> str:
    """A regular expression for a map's key (no variables there)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def wildcard_regex(pattern: str, case_insensitive: bool) -> str:
    """An ALB match pattern (* any characters, ? one character) as a regular expression."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return f"(?i:{body})" if case_insensitive else body


def parse_ports(text: str) -> dict[int, int]:
    return {int(k): int(v) for k, v in (pair.split("=") for pair in text.split(",") if pair)}


def local_ports(
    model: dict[str, Any], ports: dict[int, int], internal_base: int, binds: dict[str, str] | None = None
) -> dict[str, int]:
    """Listener ARN -> local port: the first internet-facing ALB's listeners as `ports` says, a load balancer
    with an address of its own (`binds`) on its real ports, every other listener from `internal_base` on, in
    the order of the load balancers' names and the listeners' ports."""
    chosen: dict[str, int] = {}
    public_done = False
    next_port = internal_base
    binds = binds or {}
    for lb in model["load_balancers"]:
        public = lb["scheme"] == "internet-facing" and not public_done
        public_done = public_done or public
        for listener in lb["listeners"]:
            if lb["name"] in binds:
                chosen[listener["arn"]] = listener["port"]
            elif public and listener["port"] in ports:
                chosen[listener["arn"]] = ports[listener["port"]]
            else:
                chosen[listener["arn"]] = next_port
                next_port += 1
    return chosen


def upstream_servers(group: dict[str, Any], health: dict[str, Any], addresses: dict[str, str]) -> tuple[list[str], str]:
    """The servers that take traffic: the healthy targets, or all of them when none is healthy (fail open)."""
    targets = [(t, local_address(addresses, t)) for t in group["targets"]]
    targets = [(t, a) for t, a in targets if a and t.get("instance_state") in (None, "running")]
    healthy = [(t, a) for t, a in targets if health.get(target_key(group, t), {}).get("state") == "healthy"]
    chosen, why = (healthy, "healthy") if healthy else (targets, "none healthy: all, as the ALB fails open")
    left_out = len(group["targets"]) - len(targets)
    if left_out:
        why += f"; {left_out} target(s) not running or with no address on this machine left out"
    return sorted(f"{a}:{t['port']}" for t, a in chosen), why


def redirect_url(step: dict[str, Any], listener: dict[str, Any], lb_ports: dict[int, int]) -> str:
    """The redirect's target, its #{...} placeholders as nginx variables, an AWS port as its local port."""
    protocol = step["protocol"].replace("#{protocol}", "$scheme").lower()
    host = step["host"].replace("#{host}", "$host")
    port = step["port"]
    if port == "#{port}":
        port = str(lb_ports[listener["port"]])
    elif port.isdigit() and int(port) in lb_ports:
        port = str(lb_ports[int(port)])
    path = step["path"].replace("/#{path}", "$dp_uri").replace("#{path}", "$dp_path")
    query = step["query"].replace("#{query}", "$args")
    default = (protocol == "https" and port == "443") or (protocol == "http" and port == "80")
    url = f"{protocol}://{host}{'' if default else ':' + port}{path}"
    if step["query"] == "#{query}":
        return url + "$is_args$args"
    return url + ("?" + query if query else "")


def cognito_location(step: dict[str, Any], nxt: list[str], cookie_var: str) -> list[str]:
    if step["errors"]:
        return [f"# {'; '.join(step['errors'])}: the ALB answers 500", 'return 500 "Internal Server Error";']
    if step["on_unauthenticated_request"] == "allow":
        return nxt
    if step["on_unauthenticated_request"] == "deny":
        return [f'if ({cookie_var} = "") {{ return 401 ""; }}', *nxt]
    query = "&".join(
        [
            f"client_id={urllib.parse.quote(step['client_id'], safe='')}",
            "redirect_uri=https%3A%2F%2F$host%2Foauth2%2Fidpresponse",
            "response_type=code",
            f"scope={urllib.parse.quote(step['scope'], safe='')}",
            "state=$request_id",
        ]
    )
    return [
        "# No ALB session cookie: to the user pool's hosted sign-in, as the ALB does. A present cookie is",
        "# taken as a session (not verified: docs/DATAPLANE.md).",
        f'if ({cookie_var} = "") {{ return 302 "{step["hosted_ui"]}/oauth2/authorize?{query}"; }}',
        *nxt,
    ]


def render(model: dict[str, Any], paths: Paths, ports: dict[int, int], internal_base: int, bind: str) -> str:
    health = read_json(paths.health, {})
    addresses = read_json(paths.addresses, {})
    binds = read_json(paths.binds, {})
    groups = {g["arn"]: g for g in model["target_groups"]}
    listener_ports = local_ports(model, ports, internal_base, binds)
    temp = paths.temp
    http: list[str] = [
        f"client_body_temp_path {temp}/client_body;",
        f"proxy_temp_path {temp}/proxy;",
        f"fastcgi_temp_path {temp}/fastcgi;",
        f"uwsgi_temp_path {temp}/uwsgi;",
        f"scgi_temp_path {temp}/scgi;",
        'log_format dataplane escape=json \'{"time":"$time_iso8601","lb":"$dp_lb","listener":"$server_port",\'',
        '  \'"host":"$host","request":"$request","status":$status,"rule":"$dp_rule","upstream":"$upstream_addr",\'',
        "  '\"request_time\":$request_time}';",
        f"access_log {paths.logs}/access.log dataplane;",
        "server_tokens off;",
        "keepalive_timeout 60s;",  # the ALB's idle timeout
        "client_max_body_size 0;",
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
        "proxy_set_header X-Forwarded-Port $dp_aws_port;",
        'proxy_set_header X-Amzn-Trace-Id "Root=$dp_trace";',
        "proxy_connect_timeout 10s;",
        "proxy_read_timeout 60s;",
        # As the ALB: a request sent to a target that fails is not retried on another (502).
        "proxy_next_upstream off;",
        'geo $dp_dollar { default "$"; }',
        # The ALB's trace header, Root=1-<8 hex>-<24 hex>, from nginx's random request id.
        'map $request_id $dp_trace { "~^(?<a>.{8})(?<b>.{24})$" "1-$a-$b"; }',
        # The request's path as the client sent it, before the rule's internal rewrite.
        "map $dp_uri $dp_path { ~^/(?<p>.*)$ $p; default $dp_uri; }",
    ]
    for group in model["target_groups"]:
        if not group["in_use"]:
            continue
        servers, why = upstream_servers(group, health, addresses)
        if not servers:
            continue
        http += [f"# target group {group['name']}: {why}", f"upstream {ident(group['arn'])} {{"]
        http += [f"    server {server} max_fails=0;" for server in servers]
        http += ["    keepalive 16;", "}"]

    default_bind = bind
    for lb in model["load_balancers"]:
        lb_ports = {listener["port"]: listener_ports[listener["arn"]] for listener in lb["listeners"]}
        # An address of its own (binds.json, written by whoever starts the hosts), where the hosts reach it.
        bind = binds.get(lb["name"], default_bind)
        for listener in lb["listeners"]:
            lid = ident(listener["arn"])
            port = listener_ports[listener["arn"]]
            http.append(f"# {lb['name']} ({lb['scheme']}) {listener['protocol']}:{listener['port']} -> {bind}:{port}")
            # The rules in priority order: the first whose conditions all hold (a regex map tests in order).
            entries, locations = [], []
            for rule in listener["rules"]:
                name = f"r{rule['priority']}"
                hosts, paths_, other = [], [], []
                for cond in rule["conditions"]:
                    if cond["field"] == "host-header":
                        hosts.append("(" + "|".join(wildcard_regex(v, True) for v in cond["values"]) + ")")
                    elif cond["field"] == "path-pattern":
                        paths_.append("(" + "|".join(wildcard_regex(v, False) for v in cond["values"]) + ")")
                    else:
                        other.append(cond["field"])
                if other:
                    http.append(f"# rule {rule['priority']} skipped: conditions not supported here: {', '.join(other)}")
                    continue
                if rule["priority"] != "default":
                    # Several conditions of one field must all hold: lookaheads, then any value.
                    host_re = "".join(f"(?={h} )" for h in hosts) + "[^ ]*"
                    path_re = "".join(f"(?={p}$)" for p in paths_) + ".*"
                    entries.append(f"    {regex('~^' + host_re + ' ' + path_re + '$')} {name};")
                locations.append((name, rule))
            http += [f'map "$host $dp_uri" ${lid}_rule {{', *entries, "    default rdefault;", "}"]
            cookie_vars = set()
            body: list[str] = []
            for name, rule in locations:
                lines: list[str] = []
                steps = rule["actions"]
                tail: list[str] = []
                for step in reversed(steps):
                    if step["type"] == "forward":
                        # The groups with a weight and a target on this machine (a weighted forward splits by
                        # weight, by request: no group stickiness).
                        serving = [
                            (g["arn"], g["weight"])
                            for g in step["target_groups"]
                            if g["weight"] > 0
                            and g["arn"] in groups
                            and upstream_servers(groups[g["arn"]], health, addresses)[0]
                        ]
                        if not serving:
                            tail = ["# no registered target (on this machine): the ALB answers 503", 'return 503 "";']
                        elif len(serving) == 1:
                            tail = [f"proxy_pass http://{ident(serving[0][0])}$request_uri;"]
                        else:
                            split = ident(rule["arn"], "split")
                            total = sum(weight for _, weight in serving)
                            shares = [f"    {weight * 100 / total:.2f}% {ident(arn)};" for arn, weight in serving[:-1]]
                            http += [f'split_clients "$request_id" ${split} {{', *shares]
                            http += [f"    * {ident(serving[-1][0])};", "}"]
                            tail = [f"proxy_pass http://${split}$request_uri;"]
                    elif step["type"] == "fixed-response":
                        tail = [
                            "types { }",
                            f"default_type {regex(step['content_type'])};",
                            f"return {step['status']} {quoted(step['body'])};",
                        ]
                    elif step["type"] == "redirect":
                        tail = [f'return {step["status"]} "{redirect_url(step, listener, lb_ports)}";']
                    elif step["type"] == "authenticate-cognito":
                        cookie = f"{step['session_cookie_name']}-0"
                        cookie_var = f"${ident(cookie)}"
                        cookie_vars.add((cookie, cookie_var))
                        tail = cognito_location(step, tail, cookie_var)
                    else:
                        tail = [f"# action {step['type']} not supported here", 'return 500 "";']
                lines = tail
                body += [f"    # rule {rule['priority']}", f"    location = /.dataplane/{name} {{", "        internal;"]
                body += [f"        {line}" for line in lines] + ["    }"]
            for cookie, var in sorted(cookie_vars):
                http += [f'map $http_cookie {var} {{ "~(^|;)\\s*{re.escape(cookie)}=(?<v>[^;]+)" $v; default ""; }}']
            server = [
                "server {",
                f"    listen {bind}:{port}{' ssl http2' if listener['protocol'] == 'HTTPS' else ''};",
                "    server_name _;",
                f'    set $dp_lb "{lb["name"]}";',
                f"    set $dp_aws_port {listener['port']};",
                "    set $dp_uri $uri;",
                f"    set $dp_rule ${lid}_rule;",
            ]
            if listener["protocol"] == "HTTPS":
                names = [n for c in listener["certificates"] for n in c["names"]] or [lb["dns_name"] or "localhost"]
                cert, key = ensure_server_certificate(paths, list(dict.fromkeys(names)))
                policy = listener.get("ssl_policy", {})
                protocols = " ".join(policy.get("protocols") or ["TLSv1.2", "TLSv1.3"])
                server += [
                    f"    ssl_certificate {cert};",
                    f"    ssl_certificate_key {key};",
                    f"    ssl_protocols {protocols};",
                ]
                legacy = [c for c in policy.get("ciphers", []) if not c.startswith("TLS_")]
                if legacy:
                    server.append(f"    ssl_ciphers {':'.join(legacy)};")
            server += ["    rewrite ^ /.dataplane/$dp_rule last;", *body, "}"]
            http += server
    lines = [
        "# Generated by scripts/dataplane.py from the emulator's state: do not edit.",
        f"pid {paths.pid};",
        "worker_processes 1;",
        f"error_log {paths.logs}/error.log warn;",
        "events { worker_connections 1024; }",
        "http {",
        *[f"    {line}" if line.strip() else "" for line in http],
        "}",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# nginx
# --------------------------------------------------------------------------- #
def nginx_pid(paths: Paths) -> int | None:
    try:
        pid = int(paths.pid.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def nginx(paths: Paths, *args: str, conf: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NGINX, "-p", str(paths.nginx), "-e", str(paths.logs / "error.log"), "-c", str(conf or paths.conf), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def prepare_dirs(paths: Paths) -> None:
    for directory in (paths.nginx, paths.certs, paths.logs, paths.temp):
        directory.mkdir(parents=True, exist_ok=True)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (paths.temp / sub).mkdir(exist_ok=True)
    if os.geteuid() == 0:  # nginx's workers run as nobody when the master is root
        import pwd

        nobody = pwd.getpwnam("nobody")
        for sub in paths.temp.iterdir():
            os.chown(sub, nobody.pw_uid, nobody.pw_gid)


def apply(
    paths: Paths, options: argparse.Namespace, model: dict[str, Any] | None = None, start: bool = True
) -> dict[str, Any]:
    """Read the model (unless given), write the configuration, and start nginx or reload it when it changed."""
    timings: dict[str, float] = {}
    began = time.monotonic()
    if model is None:
        model = read_model()
        timings["model"] = time.monotonic() - began
    prepare_dirs(paths)
    began = time.monotonic()
    text = render(model, paths, parse_ports(options.ports), options.internal_base, options.bind)
    timings["generate"] = time.monotonic() - began
    digest = hashlib.sha256(text.encode()).hexdigest()
    state = read_json(paths.state, {"reloads": 0})
    running = nginx_pid(paths)
    result = {"changed": False, "reloaded": False, "started": False, "hash": digest}
    write_atomic(paths.model, json.dumps(model, indent=2, sort_keys=True))  # what `status` reports
    if running and state.get("hash") == digest and paths.conf.exists() and paths.conf.read_text() == text:
        result["timings"] = timings
        return result
    candidate = paths.conf.with_name("nginx.conf.new")
    candidate.write_text(text)
    began = time.monotonic()
    tested = nginx(paths, "-t", "-q", conf=candidate)
    timings["check"] = time.monotonic() - began
    if tested.returncode != 0:
        raise SystemExit(f"dataplane: nginx -t refused the generated configuration ({candidate}):\n{tested.stderr}")
    candidate.replace(paths.conf)
    result["changed"] = True
    began = time.monotonic()
    if running:
        reloaded = nginx(paths, "-s", "reload")
        if reloaded.returncode != 0:
            raise SystemExit(f"dataplane: nginx -s reload failed:\n{reloaded.stderr}")
        state["reloads"] = state.get("reloads", 0) + 1
        result["reloaded"] = True
        timings["reload"] = time.monotonic() - began
    elif start:
        started = nginx(paths)
        if started.returncode != 0:
            raise SystemExit(f"dataplane: nginx did not start:\n{started.stderr}")
        for _ in range(100):
            if nginx_pid(paths):
                break
            time.sleep(0.05)
        result["started"] = True
        timings["start"] = time.monotonic() - began
    state["hash"] = digest
    state["listeners"] = describe_listeners(model, options, read_json(paths.binds, {}))
    write_atomic(paths.state, json.dumps(state, indent=2, sort_keys=True))
    result["timings"] = timings
    return result


def describe_listeners(
    model: dict[str, Any], options: argparse.Namespace, binds: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    binds = binds or {}
    ports = local_ports(model, parse_ports(options.ports), options.internal_base, binds)
    return [
        {
            "load_balancer": lb["name"],
            "scheme": lb["scheme"],
            "dns_name": lb["dns_name"],
            "protocol": listener["protocol"],
            "port": listener["port"],
            "local": f"{binds.get(lb['name'], options.bind)}:{ports[listener['arn']]}",
        }
        for lb in model["load_balancers"]
        for listener in lb["listeners"]
    ]


def health_loop(paths: Paths, options: argparse.Namespace) -> None:
    """Probe, and apply what changed: the targets' health every round, the model every `--model-every` s."""
    stop = False

    def finish(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    model = read_model()
    model_read = time.monotonic()
    while not stop:
        if time.monotonic() - model_read >= options.model_every:
            with contextlib.suppress(Exception):
                model = read_model()
            model_read = time.monotonic()
        with locked(paths):
            check_health(paths, model, time.time(), options.interval)
            result = apply(paths, options, model, start=False)
        if result["reloaded"]:
            log("configuration changed: nginx reloaded")
        if options.once:
            return
        pause = 5.0 if options.interval is None else options.interval
        deadline = time.monotonic() + max(0.1, min(pause, 5.0))
        while not stop and time.monotonic() < deadline:
            time.sleep(0.1)


def status(paths: Paths) -> dict[str, Any]:
    state = read_json(paths.state, {})
    model = read_json(paths.model, {"target_groups": []})
    health = read_json(paths.health, {})
    addresses = read_json(paths.addresses, {})
    targets = {}
    for group in model["target_groups"]:
        targets[group["name"]] = [
            {
                "id": t["id"],
                "port": t["port"],
                "address": local_address(addresses, t),
                "health": health.get(target_key(group, t), {}).get("state", "initial"),
                "reason": health.get(target_key(group, t), {}).get("reason", ""),
            }
            for t in group["targets"]
        ]
    return {
        "nginx_pid": nginx_pid(paths),
        "ca": str(paths.ca_cert) if paths.ca_cert.exists() else None,
        "listeners": state.get("listeners", []),
        "reloads": state.get("reloads", 0),
        "targets": targets,
    }


def hint(paths: Paths) -> None:
    """Where to point curl: every name of every HTTPS listener's certificates, on its local address."""
    model = read_json(paths.model, {"load_balancers": []})
    ports = {item["load_balancer"] + str(item["port"]): item["local"] for item in status(paths)["listeners"]}
    ca = os.path.relpath(paths.ca_cert)
    for lb in model["load_balancers"]:
        for listener in lb["listeners"]:
            address, port = ports[lb["name"] + str(listener["port"])].rsplit(":", 1)
            for name in dict.fromkeys(n for c in listener["certificates"] for n in c["names"]):
                url = f"https://{name}:{port}/"
                log(f"try: curl --cacert {ca} --resolve {name}:{port}:{address} {url}")


def down(paths: Paths) -> None:
    pid = nginx_pid(paths)
    if pid:
        nginx(paths, "-s", "quit" if os.environ.get("DATAPLANE_GRACEFUL") else "stop")
        for _ in range(100):
            if not nginx_pid(paths) and not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.05)
    # The runtime files go; the CA (and the address map, which the hosts' starter owns) stay.
    for path in (paths.conf, paths.state, paths.model, paths.health, paths.pid, paths.lock):
        path.unlink(missing_ok=True)
    for directory in (paths.temp, paths.logs, paths.certs):
        shutil.rmtree(directory, ignore_errors=True)
    paths.conf.with_name("nginx.conf.new").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, help="state directory (DATAPLANE_DIR, default .demo/)")
    parser.add_argument(
        "--ports", default=os.environ.get("DATAPLANE_PORTS", DEFAULT_PORTS), help="public ALB: AWS port=local port,..."
    )
    parser.add_argument(
        "--internal-base",
        type=int,
        default=int(os.environ.get("DATAPLANE_INTERNAL_BASE", DEFAULT_INTERNAL_BASE)),
        help="first local port of the other load balancers' listeners",
    )
    parser.add_argument(
        "--bind", default=os.environ.get("DATAPLANE_BIND", "127.0.0.1"), help="address nginx listens on"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("model")
    up = sub.add_parser("up")
    up.add_argument("--watch", action="store_true", help="then run the health checker in the foreground")
    sub.add_parser("reload")
    health = sub.add_parser("health")
    health.add_argument("--once", action="store_true", help="one round of probes, then exit")
    for command in (up, health):
        command.add_argument(
            "--interval", type=float, default=None, help="seconds between probes (default: each group's own)"
        )
        command.add_argument("--model-every", type=float, default=30.0, help="seconds between reads of the emulator")
    sub.add_parser("status")
    sub.add_parser("down")
    options = parser.parse_args(argv)
    paths = Paths(options.dir)

    if options.command == "model":
        print(json.dumps(read_model(), indent=2, sort_keys=True))
    elif options.command in ("up", "reload"):
        with locked(paths):
            result = apply(paths, options, start=options.command == "up")
        print(json.dumps({**result, **status(paths)}, indent=2))
        if options.command == "up":
            hint(paths)
        if options.command == "up" and options.watch:
            options.once = False
            health_loop(paths, options)
    elif options.command == "health":
        health_loop(paths, options)
        if options.once:
            print(json.dumps(status(paths)["targets"], indent=2))
    elif options.command == "status":
        print(json.dumps(status(paths), indent=2))
    elif options.command == "down" and paths.nginx.exists():
        with locked(paths):
            down(paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
