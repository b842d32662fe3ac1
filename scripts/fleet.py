#!/usr/bin/env python3
"""The instances the emulator's Auto Scaling groups launched, as booted hosts on this machine.

    scripts/fleet.py up --prefix P [--prefix P2] [--cap N]
        for each environment: its data stores (scripts/datastores.py), then, for each of
        its Auto Scaling groups, up to N (default 2) of the instances the group has in
        service, each a hostlab host that runs its launch template's user data as
        cloud-init would, with the AWS names, TLS and metadata of scripts/hostaws.py; the
        load balancer stand-in (scripts/dataplane.py) is told where they are
    scripts/fleet.py sync [--watch SECONDS]
        the same for what changed in the emulator since: a group's new instances boot
        and configure themselves, the hosts of instances that left are removed
    scripts/fleet.py status | down

The emulator launches an instance when a group's desired capacity rises (moto does
not run it): this makes one host per such instance, named after its instance id,
and maps the instance to the host's address for the data plane, which registers
nothing itself: the target groups the compute layer attached hold the instances
already, and the data plane's health checks decide when a host takes traffic. No
controller run touches the hosts: each configures itself from its bundle.

Each environment's internal ALB gets an address of its own on the hostlab bridge
(10.231.0.2, .3, ...), where its listeners take their real ports, and the name the
compute layer published for it resolves there inside the hosts.

State: FLEET_STATE (default .demo/fleet/): fleet.json (the hosts, their instances,
the user data's result and times), the hostaws server's state and log.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import dataplane  # noqa: E402 - the demo CA, the address map and the load balancers' binds
import hostaws  # noqa: E402 - the AWS names, TLS and metadata a host gets
import hostlab  # noqa: E402 - booting the hosts

LOG = logging.getLogger("fleet")
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
# Addresses on the bridge below hostlab's first host (10), one per internal ALB.
FIRST_LB_ADDRESS = 2
USER_DATA_TIMEOUT = 900


def state_dir() -> Path:
    return Path(os.environ.get("FLEET_STATE", ROOT / ".demo" / "fleet")).resolve()


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


@contextlib.contextmanager
def locked() -> Iterator[dict[str, Any]]:
    """fleet.json, read and written under a lock (a watch and a command may run at once)."""
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = directory / "fleet.json"
        state = json.loads(path.read_text()) if path.exists() else {"prefixes": [], "hosts": {}, "binds": {}}
        try:
            yield state
        finally:  # what was booted before a failure is recorded, so that `down` finds it
            temporary = path.with_suffix(".tmp")
            temporary.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
            temporary.replace(path)


# --- what the emulator holds ---------------------------------------------------------------------------


def published(prefix: str, layer: str) -> dict[str, str]:
    pages = client("ssm").get_paginator("get_parameters_by_path").paginate(Path=f"/{prefix}/{layer}", Recursive=True)
    return {p["Name"].split(f"/{layer}/", 1)[1]: p["Value"] for page in pages for p in page["Parameters"]}


def secret_versions(prefix: str) -> dict[str, str]:
    """The AWSCURRENT version of each secret the data layer published (the value stays in the emulator)."""
    data = published(prefix, "data")
    secrets = client("secretsmanager")
    found = {}
    for key in ("mysql/secret-name", "redis/secret-name"):
        if data.get(key):
            found[key] = secrets.describe_secret(SecretId=data[key]).get("VersionIdsToStages", {})
    return {key: next((v for v, stages in d.items() if "AWSCURRENT" in stages), "") for key, d in found.items()}


def wanted_instances(prefix: str, cap: int) -> dict[str, dict[str, Any]]:
    """instance id -> its group, tier and launch template version: up to ``cap`` in service per group."""
    groups = client("autoscaling").get_paginator("describe_auto_scaling_groups").paginate()
    found = {}
    for page in groups:
        for group in page["AutoScalingGroups"]:
            if not group["AutoScalingGroupName"].startswith(f"{prefix}-"):
                continue
            running = [i for i in group["Instances"] if i["LifecycleState"] == "InService"]
            for instance in sorted(running, key=lambda i: i["InstanceId"])[:cap]:
                found[instance["InstanceId"]] = {
                    "prefix": prefix,
                    "group": group["AutoScalingGroupName"],
                    "launch_template": instance.get("LaunchTemplate") or group.get("LaunchTemplate"),
                }
    return found


def user_data(template: dict[str, Any]) -> str:
    ec2 = client("ec2")
    key = {"LaunchTemplateId": template["LaunchTemplateId"]} if template.get("LaunchTemplateId") else {
        "LaunchTemplateName": template["LaunchTemplateName"]
    }  # fmt: skip
    (version,) = ec2.describe_launch_template_versions(**key, Versions=[str(template.get("Version", "$Default"))])[
        "LaunchTemplateVersions"
    ]
    return base64.b64decode(version["LaunchTemplateData"].get("UserData", "")).decode()


# --- the pieces around the hosts ---------------------------------------------------------------------------


def internal_alb_name(prefix: str) -> str:
    """The internal ALB's name, from the ARN the compute layer published (arn:...:loadbalancer/app/NAME/ID)."""
    arn = published(prefix, "compute").get("internal-alb-arn", "")
    if "/app/" not in arn:
        raise SystemExit(f"fleet: /{prefix}/compute/internal-alb-arn is not published: run the compute layer first")
    return arn.split("/app/", 1)[1].split("/", 1)[0]


def internal_binds(prefixes: list[str], binds: dict[str, str]) -> dict[str, str]:
    """Each environment's internal ALB (by the name its compute layer published) -> an address of its own."""
    taken = set(binds.values())
    for prefix in prefixes:
        name = internal_alb_name(prefix)
        if name not in binds:
            free = next(
                str(hostlab.NETWORK[n]) for n in range(FIRST_LB_ADDRESS, hostlab.FIRST_HOST)
                if str(hostlab.NETWORK[n]) not in taken
            )  # fmt: skip
            binds[name] = free
            taken.add(free)
        hostlab.ensure_bridge_address(binds[name])
    return binds


def hostaws_running() -> bool:
    pid_file = state_dir() / "hostaws" / "serve.pid"
    with contextlib.suppress(OSError, ValueError):
        os.kill(int(pid_file.read_text()), 0)
        return True
    return False


def start_hostaws(prefixes: list[str], ca_dir: Path) -> None:
    """The AWS names behind TLS and the metadata service, for every environment's names (restarted with them)."""
    stop_hostaws()
    folder = state_dir() / "hostaws"
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(ROOT / "scripts" / "hostaws.py"), "serve", "--ca-dir", str(ca_dir), "--state",
               str(folder)] + [arg for prefix in prefixes for arg in ("--prefix", prefix)]  # fmt: skip
    subprocess.Popen(command, stdout=(folder / "serve.log").open("a"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if hostaws_running() and listening(hostaws.IMDS_ADDRESS, 80) and listening(hostlab.CONTROLLER, 443):
            return
        time.sleep(0.2)
    raise SystemExit(f"fleet: hostaws did not start: {(folder / 'serve.log').read_text()[-2000:]}")


def stop_hostaws() -> None:
    pid_file = state_dir() / "hostaws" / "serve.pid"
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)


def listening(address: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((address, port)) == 0


def data_store_aliases(prefix: str, ca_dir: Path) -> dict[str, str]:
    """The data layer's endpoint names -> the environment's data host (scripts/datastores.py)."""
    try:
        import datastores
    except ImportError:
        LOG.warning("no scripts/datastores.py: %s's backends find no database", prefix)
        return {}
    return datastores.up(prefix, ca_dir=ca_dir)["aliases"]


# --- the hosts -------------------------------------------------------------------------------------


def boot(instance_id: str, spec: dict[str, Any], aliases: dict[str, str], ca_dir: Path) -> dict[str, Any]:
    """One host for one instance: booted, attached to its instance, its user data run as cloud-init does."""
    started = time.monotonic()
    alias_args = [arg for name, target in sorted(aliases.items()) for arg in ("--alias", f"{name}={target}")]
    up = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "hostlab.py"), "up", instance_id, *alias_args],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    if up.returncode != 0:
        return {**spec, "result": "boot failed", "error": up.stderr[-2000:]}
    address = json.loads(up.stdout)[instance_id]
    booted = time.monotonic() - started
    hostaws.attach(instance_id, instance_id, state_dir() / "hostaws", dataplane.Paths(ca_dir).ca_cert)
    script = user_data(spec["launch_template"])
    ssh = [sys.executable, str(ROOT / "scripts" / "hostlab.py"), "ssh", instance_id]
    subprocess.run(
        [*ssh, "install -d /var/lib/cloud/instance && cat > /var/lib/cloud/instance/user-data"],
        input=script, text=True, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    began = time.monotonic()
    run = subprocess.run(
        [*ssh, "systemd-run --unit=webstack-user-data --wait --collect --service-type=oneshot "
         # As cloud-init's cloud-final.service: no start timeout (the user data takes as long as it takes), and
         # what it leaves running is not killed when it ends (KillMode=process).
         "--property=TimeoutStartSec=infinity --property=KillMode=process "
         "/bin/bash /var/lib/cloud/instance/user-data"],
        capture_output=True, text=True, check=False, timeout=USER_DATA_TIMEOUT,
    )  # fmt: skip
    tail = ""
    if run.returncode != 0:  # what the host says, for the report: the log's end and the unit's
        tail = subprocess.run(
            [*ssh, "tail -n 40 /var/log/webstack-bootstrap.log; "
             "journalctl -u webstack-user-data --no-pager | tail -n 5"],
            capture_output=True, text=True, check=False, timeout=60,
        ).stdout  # fmt: skip
    return {
        **spec,
        "address": address,
        "result": "configured" if run.returncode == 0 else "user data failed",
        **({"log_tail": tail} if tail else {}),
        "boot_seconds": round(booted, 1),
        "user_data_seconds": round(time.monotonic() - began, 1),
    }


def write_dns(aliases: dict[str, dict[str, str]]) -> None:
    """The same names for the hosts' resolver (169.254.169.253), for software that asks one (nginx)."""
    records = {}
    for names in aliases.values():
        for name, target in names.items():
            address = hostlab.CONTROLLER if target == "controller" else hostlab.host_address(target) or target
            records[name] = address
    folder = state_dir() / "hostaws"
    folder.mkdir(parents=True, exist_ok=True)
    dataplane.write_atomic(folder / "dns.json", json.dumps(records, indent=2, sort_keys=True) + "\n")


def write_addresses(hosts: dict[str, dict[str, Any]], ca_dir: Path, binds: dict[str, str]) -> None:
    """Tell the data plane where each instance is, and where each internal ALB listens."""
    paths = dataplane.Paths(ca_dir)
    addresses = {i: h["address"] for i, h in hosts.items() if h.get("address")}
    dataplane.write_atomic(paths.addresses, json.dumps(addresses, indent=2, sort_keys=True) + "\n")
    dataplane.write_atomic(paths.binds, json.dumps(binds, indent=2, sort_keys=True) + "\n")


def converge(prefixes: list[str], cap: int, ca_dir: Path, restart_hostaws: bool) -> dict[str, Any]:
    """Boot the hosts of the instances the groups have and no host stands for; remove those of the gone ones."""
    with locked() as state:
        state["prefixes"] = sorted(set(state["prefixes"]) | set(prefixes))
        state["cap"] = cap
        hostlab.ensure_bridge()
        binds = internal_binds(state["prefixes"], state.get("binds", {}))
        state["binds"] = binds
        if restart_hostaws or not hostaws_running():
            start_hostaws(state["prefixes"], ca_dir)
        wanted: dict[str, dict[str, Any]] = {}
        for prefix in state["prefixes"]:
            wanted |= wanted_instances(prefix, cap)
        gone = [i for i in state["hosts"] if i not in wanted]
        new = {i: spec for i, spec in wanted.items() if i not in state["hosts"]}
        for instance_id in gone:
            LOG.info("%s left its group: removing its host", instance_id)
            hostlab.remove_host(instance_id)
            state["hosts"].pop(instance_id)
        # The names each environment's hosts resolve here, made once (the data stores boot with them).
        aliases = state.setdefault("aliases", {})
        for prefix in state["prefixes"]:
            if prefix not in aliases:
                names = hostaws.names(client("iam"), prefix, REGION)
                compute = published(prefix, "compute")
                aliases[prefix] = {name: "controller" for name in names} | data_store_aliases(prefix, ca_dir)
                if compute.get("internal-alb-dns"):
                    aliases[prefix][compute["internal-alb-dns"]] = binds[internal_alb_name(prefix)]
        write_dns(aliases)
        # A rotated secret reaches the data host as RDS and ElastiCache apply one
        # (playbooks/rotate-secrets.yml): the stores take the secret's new value. datastores.up
        # is idempotent; it runs only when a secret's AWSCURRENT version moved.
        versions = state.setdefault("secret_versions", {})
        for prefix in state["prefixes"]:
            current = secret_versions(prefix)
            if prefix in versions and versions[prefix] != current:
                LOG.info("%s: a secret rotated: its data host takes the new value", prefix)
                data_store_aliases(prefix, ca_dir)
            versions[prefix] = current
        if new:
            LOG.info("booting %d host(s): %s", len(new), ", ".join(f"{i} ({s['group']})" for i, s in new.items()))
            with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
                futures = {i: pool.submit(boot, i, s, aliases[s["prefix"]], ca_dir) for i, s in new.items()}
                for instance_id, future in futures.items():
                    try:
                        state["hosts"][instance_id] = future.result()
                    except Exception as error:
                        state["hosts"][instance_id] = {**new[instance_id], "result": f"failed: {error}"}
                    LOG.info("%s: %s", instance_id, state["hosts"][instance_id]["result"])
        write_addresses(state["hosts"], ca_dir, binds)
        return {"booted": sorted(new), "removed": sorted(gone), "hosts": state["hosts"], "binds": binds}


def down(ca_dir: Path) -> None:
    with locked() as state:
        for instance_id in list(state["hosts"]):
            hostlab.remove_host(instance_id)
        state["hosts"] = {}
        write_addresses({}, ca_dir, {})
        stop_hostaws()
        try:
            import datastores

            for prefix in state["prefixes"]:
                datastores.down(prefix)
        except ImportError:
            pass
        state["prefixes"] = []
        state["binds"] = {}
        state["aliases"] = {}
    shutil.rmtree(state_dir() / "hostaws", ignore_errors=True)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ca-dir", type=Path, default=Path(os.environ.get("DATAPLANE_DIR", ROOT / ".demo")))
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up")
    up.add_argument("--prefix", action="append", required=True)
    up.add_argument("--cap", type=int, default=2, help="hosts per Auto Scaling group at most (default 2)")
    sync = sub.add_parser("sync")
    sync.add_argument("--watch", type=float, help="then again every SECONDS, until stopped")
    sub.add_parser("status")
    sub.add_parser("down")
    args = parser.parse_args()
    # Stopped by `demo.py stop` (SIGTERM): finish as on an error, so that fleet.json records what was booted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if os.geteuid() != 0 or not shutil.which("systemd-nspawn"):
        raise SystemExit(
            "fleet: booting hosts needs root and systemd-nspawn; the control plane is deployed all the same"
        )
    if args.command == "up":
        dataplane.ensure_ca(dataplane.Paths(args.ca_dir))
        print(json.dumps(converge(args.prefix, args.cap, args.ca_dir, restart_hostaws=True), indent=2))
    elif args.command == "sync":
        with locked() as state:
            prefixes, cap = state["prefixes"], state.get("cap", 2)
        while True:
            result = converge(prefixes, cap, args.ca_dir, restart_hostaws=False)
            if result["booted"] or result["removed"]:
                print(json.dumps({k: result[k] for k in ("booted", "removed")}), flush=True)
            if not args.watch:
                break
            time.sleep(args.watch)
    elif args.command == "status":
        with locked() as state:
            print(json.dumps(state, indent=2, sort_keys=True))
    elif args.command == "down":
        down(args.ca_dir)


if __name__ == "__main__":
    main()
