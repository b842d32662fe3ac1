#!/usr/bin/env python3
"""A no-op playbooks/configure.yml on four booted hosts: stock, pipelining, mitogen, side by side.

    make hosts-bench                     (scripts/bench_hosts.py --rounds 2)

Boots four Debian 12 hosts with scripts/hostlab.py as frontends (the common and
frontend roles, the tasks configure.yml runs on a frontend), starts an emulator on
the hostlab bridge with the compute layer's outputs the frontend role reads,
configures the hosts once, then times configure.yml again, a no-op, with:

    linear                 Ansible's stock strategy, no pipelining
    linear + pipelining    the stock strategy, pipelining on
    mitogen_linear         the project's default (ansible.cfg), pipelining on

in turn, each --rounds times, and prints the median wall time of each. Each no-op
run must report changed=0 on every host. Needs root, like make hosts-test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTLAB = [sys.executable, str(ROOT / "scripts" / "hostlab.py")]
EMULATOR = [sys.executable, str(ROOT / "scripts" / "emulator.py")]
PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
HOSTS = [f"bench-web{n}" for n in range(1, 5)]
CONTROLLER = "10.231.0.1"
PREFIX = "bench-hosts"
STRATEGIES = {
    "linear": {"ANSIBLE_STRATEGY": "linear", "ANSIBLE_PIPELINING": "False"},
    "linear + pipelining": {"ANSIBLE_STRATEGY": "linear", "ANSIBLE_PIPELINING": "True"},
    "mitogen_linear + pipelining": {"ANSIBLE_STRATEGY": "mitogen_linear", "ANSIBLE_PIPELINING": "True"},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def inventory(addresses: dict[str, str], key: str) -> dict[str, object]:
    return {
        "all": {
            "children": {
                "tier_frontend": {"hosts": {name: {"ansible_host": address} for name, address in addresses.items()}}
            },
            "vars": {
                "ansible_user": "root",
                "ansible_ssh_private_key_file": key,
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                "webstack_prefix": PREFIX,
                "webstack_region": "us-east-1",
                "frontend_site_src": str(ROOT / "app" / "frontend" / "site"),
                # No DNS server on the bridge: nginx resolves the backend's name once, from /etc/hosts.
                "frontend_resolver": "",
            },
        }
    }


def configure(inventory_file: Path, env: dict[str, str]) -> tuple[float, dict[str, int]]:
    started = time.monotonic()
    run = subprocess.run(
        [PLAYBOOK, "-i", str(inventory_file), str(ROOT / "playbooks" / "configure.yml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    if run.returncode != 0:
        sys.exit(f"configure.yml failed:\n{run.stdout[-4000:]}{run.stderr[-2000:]}")
    recap = re.findall(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)", run.stdout, re.M)
    changed = {host: int(n) for host, n in recap if host in HOSTS}
    return seconds, changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="no-op runs per strategy; the median is kept")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("booted hosts need root (mounts, network namespaces, systemd-nspawn)")
    subprocess.run([*HOSTLAB, "build"], check=True, capture_output=True)
    with tempfile.TemporaryDirectory(prefix="bench-hosts-") as tmp:
        port = str(free_port())
        emulator_env = {**os.environ, "EMULATOR_STATE_DIR": f"{tmp}/emulator", "EMULATOR_BIND": CONTROLLER}
        emulator_env["EMULATOR_PORT"] = port
        try:
            up = subprocess.run(
                [*HOSTLAB, "up", *HOSTS, "--alias", "internal-alb.hostlab=controller"],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            addresses = json.loads(up.stdout)
            subprocess.run([*EMULATOR, "start"], env=emulator_env, check=True, capture_output=True)
            aws = {
                "AWS_ENDPOINT_URL": f"http://{CONTROLLER}:{port}",
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
            import boto3

            ssm = boto3.client(
                "ssm",
                endpoint_url=aws["AWS_ENDPOINT_URL"],
                region_name="us-east-1",
                aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
            )
            for name, value in {"internal-alb-dns": "internal-alb.hostlab", "internal-alb-port": "80"}.items():
                ssm.put_parameter(Name=f"/{PREFIX}/compute/{name}", Value=value, Type="String", Overwrite=True)
            key = subprocess.run([*HOSTLAB, "env"], check=True, capture_output=True, text=True).stdout
            key_file = re.search(r"HOSTLAB_SSH_KEY=(\S+)", key).group(1)
            inventory_file = Path(tmp) / "hosts.json"
            inventory_file.write_text(json.dumps(inventory(addresses, key_file)))
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))} | aws
            env |= {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
            first, changed = configure(inventory_file, env)
            print(f"first configure.yml on {len(HOSTS)} hosts: {first:.1f} s (changed per host: {changed})")
            results: dict[str, list[float]] = {name: [] for name in STRATEGIES}
            for _ in range(args.rounds):
                for name, settings in STRATEGIES.items():
                    seconds, changed = configure(inventory_file, env | settings)
                    if sorted(changed) != sorted(HOSTS) or any(changed.values()):
                        sys.exit(f"{name}: the no-op run changed something: {changed}")
                    results[name].append(seconds)
            load = os.getloadavg()[0]
            print(f"\nno-op configure.yml on {len(HOSTS)} booted hosts, median of {args.rounds} (load {load:.1f}):")
            for name, times in results.items():
                print(f"  {name:<28} {statistics.median(times):6.1f} s   ({', '.join(f'{t:.1f}' for t in times)})")
        finally:
            subprocess.run([*EMULATOR, "stop"], env=emulator_env, check=False, capture_output=True)
            subprocess.run([*HOSTLAB, "down", *HOSTS], check=False, capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
