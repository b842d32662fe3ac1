#!/usr/bin/env python3
"""What a booted host needs to run its AWS code unchanged on this machine.

    scripts/hostaws.py serve --emulator URL --ca-dir DIR --state DIR --prefix P [--prefix P2]
        the AWS service endpoints the instances of the environments use, behind TLS on the
        hostlab bridge (nginx, a certificate signed by the demo CA, proxied to the emulator),
        the instance metadata service (IMDSv2) at 169.254.169.254 and the VPC resolver at
        169.254.169.253 (the names of STATE/dns.json); runs until stopped
    scripts/hostaws.py names --emulator URL --prefix P
        the names a host of that environment resolves to this machine, one per line
    scripts/hostaws.py attach HOST INSTANCE_ID --state DIR [--ca-cert CA.pem]
        route the hostlab host's 169.254.169.254 to this machine and answer its metadata
        as the emulator's instance INSTANCE_ID; with --ca-cert, make the host trust the
        demo CA as an AMI trusts Amazon's (the system store, and the SDKs' own bundles)

On AWS an instance reaches `ssm.<region>.amazonaws.com`, `<bucket>.s3.amazonaws.com`, ...
over TLS with Amazon's certificates, and takes its credentials, identity and region from
the metadata service. Here the same code runs unchanged: the names resolve to the
controller (the host's /etc/hosts, written by hostlab's aliases), a TLS proxy holds a
certificate for them signed by the demo CA (which the host trusts, as an instance trusts
Amazon's), and a metadata service answers each host as the emulator instance it stands
for (by the address the request comes from).

No AWS knowledge is copied into this file: the names come from the actions and resources
the environment's instance policies allow (mapped to endpoint prefixes by botocore's own
service models), the metadata from the emulator's DescribeInstances, the credentials from
the emulator's STS (AssumeRole of the instance profile's role).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import http.server
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.exceptions import ClientError, UnknownServiceError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import dataplane  # noqa: E402 - the demo CA and its certificates
import hostlab  # noqa: E402 - the bridge, its address and the hosts' namespaces

LOG = logging.getLogger("hostaws")
IMDS_ADDRESS = "169.254.169.254"
# The VPC's Amazon-provided DNS at its link-local address, as instances reach it.
DNS_ADDRESS = "169.254.169.253"
TOKEN_MAX_TTL = 21600  # what IMDSv2 accepts, in seconds
CREDENTIAL_SECONDS = 3600


def aws(service: str, endpoint: str, region: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )


# --- the names -----------------------------------------------------------------------------


def instance_policies(iam: Any, prefix: str) -> list[dict[str, Any]]:
    """The inline policy documents of the environment's instance roles (the compute layer's)."""
    documents = []
    for page in iam.get_paginator("list_instance_profiles").paginate():
        for profile in page["InstanceProfiles"]:
            if not profile["InstanceProfileName"].startswith(f"{prefix}-"):
                continue
            for role in profile["Roles"]:
                for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
                    documents.append(iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"])
    return documents


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def endpoint_prefix(iam_prefix: str) -> str | None:
    """The endpoint prefix of the service an IAM action prefix names (cloudwatch -> monitoring)."""
    try:
        return botocore.session.get_session().get_service_model(iam_prefix).endpoint_prefix
    except UnknownServiceError:
        return None


def names(iam: Any, prefix: str, region: str) -> list[str]:
    """Every name an instance of the environment calls AWS by: its policies' services, its buckets."""
    services, buckets = set(), set()
    for document in instance_policies(iam, prefix):
        for statement in as_list(document.get("Statement", [])):
            if statement.get("Effect") != "Allow":
                continue
            for action in as_list(statement.get("Action", [])):
                service = endpoint_prefix(action.split(":", 1)[0])
                if service:
                    services.add(service)
            for resource in as_list(statement.get("Resource", [])):
                if resource.startswith("arn:aws:s3:::"):
                    buckets.add(resource[len("arn:aws:s3:::") :].split("/", 1)[0])
    found = set()
    for service in services:
        found.add(f"{service}.{region}.amazonaws.com")
        if service == "s3":
            found.add("s3.amazonaws.com")
    for bucket in buckets:
        if "*" not in bucket:
            found |= {f"{bucket}.s3.amazonaws.com", f"{bucket}.s3.{region}.amazonaws.com"}
    return sorted(found)


# --- TLS -----------------------------------------------------------------------------------


def server_certificate(ca_dir: Path, dns_names: list[str]) -> tuple[Path, Path]:
    """A certificate for ``dns_names`` signed by the demo CA in ``ca_dir`` (the data plane's; made once)."""
    return dataplane.ensure_server_certificate(dataplane.Paths(ca_dir), dns_names)


# --- the endpoints' proxy ------------------------------------------------------------------

NGINX_CONF = """\
# Written by scripts/hostaws.py: AWS service endpoints behind TLS, proxied to the emulator.
daemon off;
pid {state}/nginx.pid;
error_log {state}/nginx-error.log warn;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    access_log {state}/nginx-access.log;
    client_body_temp_path {state}/tmp/body;
    proxy_temp_path {state}/tmp/proxy;
    fastcgi_temp_path {state}/tmp/fastcgi;
    uwsgi_temp_path {state}/tmp/uwsgi;
    scgi_temp_path {state}/tmp/scgi;
    server_names_hash_bucket_size 128;
    client_max_body_size 0;
    server {{
        listen {address}:443 ssl default_server;
        server_name {names};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{
            proxy_pass {emulator};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


def write_nginx_conf(state: Path, emulator: str, dns_names: list[str], cert: Path, key: Path) -> Path:
    for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    conf = state / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            state=state, address=hostlab.CONTROLLER, names=" ".join(dns_names), cert=cert, key=key, emulator=emulator
        )
    )
    return conf


# --- the instance metadata service ----------------------------------------------------------


def registry(state: Path) -> dict[str, str]:
    """host address -> the emulator instance it stands for."""
    path = state / "instances.json"
    return json.loads(path.read_text()) if path.exists() else {}


# What the demo's image carries so that the demo CA is trusted everywhere Amazon's is on an
# AMI: the system store, and, for every process systemd starts (the user data, the
# services), the SDKs' CA bundle variable: botocore from pip trusts certifi's bundle,
# not the system's, where Amazon's roots are anyway.
TRUST_CA = """set -e
cat > /usr/local/share/ca-certificates/webstack-demo-ca.crt
update-ca-certificates >/dev/null
install -d /etc/systemd/system.conf.d
printf '[Manager]\\nDefaultEnvironment=AWS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt\\n' \\
  > /etc/systemd/system.conf.d/webstack-demo-ca.conf
grep -q '^AWS_CA_BUNDLE=' /etc/environment 2>/dev/null ||
  echo AWS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt >> /etc/environment
systemctl daemon-reexec
"""


def trust_ca(host: str, ca_cert: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "hostlab.py"), "ssh", host, TRUST_CA],
        input=ca_cert.read_text(), capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"hostaws: {host} could not be made to trust {ca_cert}: {done.stderr.strip()}")


def attach(host: str, instance_id: str, state: Path, ca_cert: Path | None = None) -> str:
    """Route the host's metadata address to this machine; answer it as ``instance_id``."""
    address = hostlab.host_address(host)
    if not address:
        raise SystemExit(f"hostaws: no hostlab host named {host}")
    if ca_cert is not None:
        trust_ca(host, ca_cert)
    for link_local in (IMDS_ADDRESS, DNS_ADDRESS):
        subprocess.run(
            ["ip", "-n", hostlab.netns(host), "route", "replace", f"{link_local}/32", "dev", "host0"], check=True
        )
    state.mkdir(parents=True, exist_ok=True)
    with (state / ".instances.lock").open("w") as lock:  # hosts may be attached from several threads
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = registry(state) | {address: instance_id}
        temporary = state / f"instances.json.{os.getpid()}.{threading.get_ident()}"
        temporary.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
        temporary.replace(state / "instances.json")
    return address


class Metadata:
    """What the metadata service answers for one emulator instance, read from the emulator."""

    # An instance's description is read again after this many seconds (its tags, its state).
    INSTANCE_SECONDS = 30

    def __init__(self, endpoint: str, region: str) -> None:
        self.endpoint, self.region = endpoint, region
        self.lock = threading.Lock()
        self.credentials: dict[str, tuple[float, dict[str, str]]] = {}
        self.instances: dict[str, tuple[float, dict[str, Any] | None, str | None]] = {}
        self.profiles: dict[str, tuple[float, str | None]] = {}
        # Made once: clients are thread-safe, making them from threads is not. SDKs give the metadata
        # service one second: the answers come from here, not from the emulator, whenever they can.
        self.ec2, self.iam, self.sts = (aws(service, endpoint, region) for service in ("ec2", "iam", "sts"))

    def described(self, instance_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """The instance as the emulator describes it and its role's name.

        A request never waits for the emulator when an answer is held, even an old one: `warm`
        reads it again in the background. Only the first question about an instance goes through."""
        with self.lock:
            cached = self.instances.get(instance_id)
        if cached:
            return cached[1], cached[2]
        return self.read_instance(instance_id)

    def read_instance(self, instance_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """Ask the emulator (outside the lock: one slow answer must not hold the others)."""
        return self.read_instances([instance_id]).get(instance_id, (None, None))

    def read_instances(self, instance_ids: list[str]) -> dict[str, tuple[dict[str, Any] | None, str | None]]:
        """Several instances in one DescribeInstances; each profile's role read once a minute."""
        try:
            reservations = self.ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
        except ClientError:
            if len(instance_ids) == 1:
                raise
            # One unknown id fails the whole call: read them one by one.
            return {k: v for i in instance_ids for k, v in self.read_instances([i]).items()}
        found = {i["InstanceId"]: i for r in reservations for i in r["Instances"]}
        answers: dict[str, tuple[dict[str, Any] | None, str | None]] = {}
        for instance_id in instance_ids:
            instance = found.get(instance_id)
            profile = ((instance or {}).get("IamInstanceProfile") or {}).get("Arn", "")
            role = self.profile_role(profile.rsplit("/", 1)[1]) if profile else None
            answers[instance_id] = (instance, role)
        with self.lock:
            for instance_id, (instance, role) in answers.items():
                self.instances[instance_id] = (time.monotonic() + self.INSTANCE_SECONDS, instance, role)
        return answers

    def profile_role(self, name: str) -> str | None:
        with self.lock:
            cached = self.profiles.get(name)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        roles = self.iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
        role = roles[0]["RoleName"] if roles else None
        with self.lock:
            self.profiles[name] = (time.monotonic() + 60, role)
        return role

    def stale(self, instance_id: str) -> bool:
        with self.lock:
            cached = self.instances.get(instance_id)
        return cached is None or cached[0] <= time.monotonic()

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        return self.described(instance_id)[0]

    def role(self, instance: dict[str, Any]) -> str | None:
        return self.described(instance["InstanceId"])[1]

    def role_credentials(self, instance_id: str, role: str, renew_within: float = 300) -> dict[str, str]:
        """The role's credentials for this instance, renewed when fewer than `renew_within` seconds are left
        (`warm` renews them at 900 s, so that an instance's request finds them held)."""
        with self.lock:
            cached = self.credentials.get(instance_id)
        if cached and cached[0] > time.time() + renew_within:
            return cached[1]
        arn = self.iam.get_role(RoleName=role)["Role"]["Arn"]
        answer = self.sts.assume_role(RoleArn=arn, RoleSessionName=instance_id, DurationSeconds=CREDENTIAL_SECONDS)[
            "Credentials"
        ]
        now = datetime.datetime.now(datetime.UTC)
        document = {
            "Code": "Success",
            "LastUpdated": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Type": "AWS-HMAC",
            "AccessKeyId": answer["AccessKeyId"],
            "SecretAccessKey": answer["SecretAccessKey"],
            "Token": answer["SessionToken"],
            "Expiration": (now + datetime.timedelta(seconds=CREDENTIAL_SECONDS)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        with self.lock:
            self.credentials[instance_id] = (time.time() + CREDENTIAL_SECONDS, document)
        return document

    def answer(self, instance: dict[str, Any], path: str) -> tuple[int, str, str]:
        """(status, content type, body) for a GET of /latest/<path>."""
        placement = instance.get("Placement", {})
        role = self.role(instance)
        tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
        tags_allowed = (instance.get("MetadataOptions") or {}).get("InstanceMetadataTags") == "enabled"
        meta = {
            "ami-id": instance.get("ImageId", ""),
            "instance-id": instance["InstanceId"],
            "instance-type": instance.get("InstanceType", ""),
            "local-ipv4": instance.get("PrivateIpAddress", ""),
            "local-hostname": instance.get("PrivateDnsName", ""),
            "hostname": instance.get("PrivateDnsName", ""),
            "mac": (instance.get("NetworkInterfaces") or [{}])[0].get("MacAddress", ""),
            "placement/availability-zone": placement.get("AvailabilityZone", ""),
            "placement/region": self.region,
        }
        text = "text/plain"
        if path == "dynamic/instance-identity/document":
            document = {
                "accountId": (instance.get("IamInstanceProfile") or {}).get("Arn", "::::0").split(":")[4],
                "architecture": instance.get("Architecture", "x86_64"),
                "availabilityZone": placement.get("AvailabilityZone", ""),
                "imageId": instance.get("ImageId", ""),
                "instanceId": instance["InstanceId"],
                "instanceType": instance.get("InstanceType", ""),
                "privateIp": instance.get("PrivateIpAddress", ""),
                "region": self.region,
                "version": "2017-09-30",
            }
            return 200, "application/json", json.dumps(document, indent=2)
        if not path.startswith("meta-data"):
            return 404, text, "Not Found"
        key = path[len("meta-data") :].strip("/")
        if key == "":
            listing = sorted({k.split("/")[0] + ("/" if "/" in k else "") for k in meta} | {"iam/"})
            return 200, text, "\n".join(listing + (["tags/"] if tags_allowed else []))
        if key in meta:
            return 200, text, meta[key]
        if key == "placement":
            return 200, text, "availability-zone\nregion"
        if key == "iam":
            return (200, text, "info\nsecurity-credentials/") if role else (404, text, "Not Found")
        if key == "iam/security-credentials":
            return (200, text, role) if role else (404, text, "Not Found")
        if role and key == f"iam/security-credentials/{role}":
            return 200, text, json.dumps(self.role_credentials(instance["InstanceId"], role), indent=2)
        if role and key == "iam/info":
            profile = instance["IamInstanceProfile"]
            info = {"Code": "Success", "InstanceProfileArn": profile["Arn"], "InstanceProfileId": profile.get("Id", "")}
            return 200, "application/json", json.dumps(info, indent=2)
        if tags_allowed and key == "tags/instance":
            return 200, text, "\n".join(sorted(tags))
        if tags_allowed and key.startswith("tags/instance/") and key.split("/", 2)[2] in tags:
            return 200, text, tags[key.split("/", 2)[2]]
        return 404, text, "Not Found"


def warm(metadata: Metadata, state: Path, every: float = 2.0) -> None:
    """Read each attached instance and its credentials before it asks, and again before they go old.

    SDKs give the metadata service one second and one attempt; on a busy machine an answer from the
    emulator (AssumeRole, DescribeInstances) can take longer, so requests are answered from what this
    thread has read, never by waiting for the emulator."""
    while True:
        attached = sorted(set(registry(state).values()))
        try:
            stale = [i for i in attached if metadata.stale(i)]
            if stale:
                metadata.read_instances(stale)
        except Exception as error:
            LOG.warning("could not read %s ahead: %s", ", ".join(attached), error)
        for instance_id in attached:
            try:
                instance, role = metadata.described(instance_id)
                if instance and role:
                    metadata.role_credentials(instance_id, role, renew_within=900)
            except Exception as error:
                LOG.warning("could not read the credentials of %s ahead: %s", instance_id, error)
        time.sleep(every)


def make_handler(metadata: Metadata, state: Path) -> type[http.server.BaseHTTPRequestHandler]:
    tokens: dict[str, tuple[str, float]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "EC2ws"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            LOG.info("imds %s %s", self.client_address[0], format % args)

        def reply(self, status: int, body: str, content_type: str = "text/plain", headers: dict | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self) -> None:
            if self.path != "/latest/api/token":
                return self.reply(404, "Not Found")
            if self.headers.get("X-Forwarded-For"):
                return self.reply(403, "Forbidden")  # as IMDS: a proxied request gets no token
            try:
                ttl = int(self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", ""))
            except ValueError:
                return self.reply(400, "Bad Request")
            if not 1 <= ttl <= TOKEN_MAX_TTL:
                return self.reply(400, "Bad Request")
            token = secrets.token_urlsafe(40)
            tokens[token] = (self.client_address[0], time.time() + ttl)
            return self.reply(200, token, headers={"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)})

        def do_GET(self) -> None:
            source = self.client_address[0]
            instance_id = registry(state).get(source)
            if instance_id is None:
                return self.reply(404, "Not Found")
            instance = metadata.instance(instance_id)
            if instance is None:
                return self.reply(404, "Not Found")
            token = self.headers.get("X-aws-ec2-metadata-token")
            held = tokens.get(token or "")
            valid = held is not None and held[0] == source and held[1] > time.time()
            required = (instance.get("MetadataOptions") or {}).get("HttpTokens", "optional") == "required"
            if (token is not None and not valid) or (required and not valid):
                return self.reply(401, "Unauthorized")
            if not self.path.startswith("/latest/"):
                return self.reply(200, "latest") if self.path == "/" else self.reply(404, "Not Found")
            status, content_type, body = metadata.answer(instance, self.path[len("/latest/") :].rstrip("/"))
            return self.reply(status, body, content_type)

    return Handler


# --- the VPC resolver ---------------------------------------------------------------------------------


def dns_records(state: Path) -> dict[str, str]:
    """name -> IPv4 address: what the hosts' /etc/hosts holds, for software that asks a resolver (nginx)."""
    path = state / "dns.json"
    return {k.lower().rstrip("."): v for k, v in json.loads(path.read_text()).items()} if path.exists() else {}


def is_ipv4(text: str) -> bool:
    try:
        return len(socket.inet_aton(text)) == 4 and text.count(".") == 3
    except OSError:
        return False


def dns_answer(query: bytes, records: dict[str, str]) -> bytes | None:
    """The answer to one DNS query: A records from ``records``, no data for other types of a known name,
    NXDOMAIN for an unknown one (nothing is forwarded: the hosts reach nothing outside this machine)."""
    if len(query) < 12:
        return None
    question_count = int.from_bytes(query[4:6], "big")
    if question_count != 1:
        return None
    labels, offset = [], 12
    while offset < len(query) and query[offset]:
        length = query[offset]
        labels.append(query[offset + 1 : offset + 1 + length].decode(errors="replace"))
        offset += 1 + length
    offset += 1
    if offset + 4 > len(query):
        return None
    qtype = int.from_bytes(query[offset : offset + 2], "big")
    question = query[12 : offset + 4]
    name = ".".join(labels).lower()
    address = records.get(name)
    if address is not None and not is_ipv4(address):
        LOG.warning("resolver: %s has no address (%r): answered as unknown", name, address)
        address = None
    # QR and RA set, RD copied from the query; NXDOMAIN (3) for a name not in the records.
    flags = 0x8000 | 0x0080 | (query[2] & 0x01) << 8 | (3 if address is None else 0)
    answers = b""
    if address is not None and qtype == 1:
        answers = b"\xc0\x0c" + (1).to_bytes(2, "big") + (1).to_bytes(2, "big") + (5).to_bytes(4, "big")
        answers += (4).to_bytes(2, "big") + bytes(int(part) for part in address.split("."))
    header = query[:2] + flags.to_bytes(2, "big") + (1).to_bytes(2, "big")
    header += (1 if answers else 0).to_bytes(2, "big") + b"\x00\x00\x00\x00"
    return header + question + answers


def serve_dns(state: Path) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((DNS_ADDRESS, 53))
    while True:
        query, client = sock.recvfrom(512)
        try:
            answer = dns_answer(query, dns_records(state))
            if answer:
                sock.sendto(answer, client)
        except Exception:  # one bad query or record must not leave every host without a resolver
            LOG.exception("resolver: no answer to %s", client[0])


# --- serve -----------------------------------------------------------------------------------


def ensure_imds_address() -> None:
    """The metadata and resolver addresses on the bridge, so that hosts whose routes point there reach them."""
    for address in (IMDS_ADDRESS, DNS_ADDRESS):
        hostlab.ensure_bridge_address(address)


def serve(args: argparse.Namespace) -> None:
    state = Path(args.state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    hostlab.ensure_bridge()
    ensure_imds_address()
    iam = aws("iam", args.emulator, args.region)
    dns_names = sorted({name for prefix in args.prefix for name in names(iam, prefix, args.region)})
    if not dns_names:
        raise SystemExit(f"hostaws: no instance policy found for {', '.join(args.prefix)}: deploy the compute layer")
    cert, key = server_certificate(Path(args.ca_dir), dns_names)
    conf = write_nginx_conf(state, args.emulator, dns_names, cert, key)
    nginx = subprocess.Popen(["nginx", "-c", str(conf), "-e", str(state / "nginx-error.log")])
    # The metadata service and the resolver answer within their clients' one second even when the
    # hosts keep both cores busy (a booting fleet runs Ansible on every host): as on EC2, where they
    # are not the instance's to starve. Root only; without it they run at the usual priority.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, -10)
    metadata = Metadata(args.emulator, args.region)
    server = http.server.ThreadingHTTPServer((IMDS_ADDRESS, 80), make_handler(metadata, state))
    threading.Thread(target=warm, args=(metadata, state), daemon=True).start()
    threading.Thread(target=serve_dns, args=(state,), daemon=True).start()
    (state / "serve.pid").write_text(f"{os.getpid()}\n")
    LOG.info("endpoints %s on %s:443, metadata on %s:80", ", ".join(dns_names), hostlab.CONTROLLER, IMDS_ADDRESS)

    def stop(*_: Any) -> None:
        nginx.terminate()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        (state / "serve.pid").unlink(missing_ok=True)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve")
    names_parser = sub.add_parser("names")
    for command in (serve_parser, names_parser):
        command.add_argument("--emulator", default=os.environ.get("AWS_ENDPOINT_URL"), required=False)
        command.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        command.add_argument("--prefix", action="append", required=True)
    serve_parser.add_argument(
        "--ca-dir", default=os.environ.get("DATAPLANE_DIR", str(ROOT / ".demo")), help="the demo CA's folder"
    )
    serve_parser.add_argument("--state", required=True)
    attach_parser = sub.add_parser("attach")
    attach_parser.add_argument("host")
    attach_parser.add_argument("instance_id")
    attach_parser.add_argument("--state", required=True)
    attach_parser.add_argument("--ca-cert")
    args = parser.parse_args()
    if args.command == "attach":
        print(attach(args.host, args.instance_id, Path(args.state), Path(args.ca_cert) if args.ca_cert else None))
        return
    if not args.emulator:
        parser.error("--emulator (or AWS_ENDPOINT_URL) is required")
    if args.command == "names":
        iam = aws("iam", args.emulator, args.region)
        print("\n".join(sorted({n for prefix in args.prefix for n in names(iam, prefix, args.region)})))
        return
    serve(args)


if __name__ == "__main__":
    main()
