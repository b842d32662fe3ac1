#!/usr/bin/env python3
"""`make demo`'s second half: the deployed stack serving real HTTP on this machine.

    scripts/demo.py serve [--cap N] [--wait SECONDS]   after the deploy: start the data plane
    scripts/demo.py stop                                stop it all (make teardown does this first)

`serve` finds the environments in the emulator (each Auto Scaling group's name is
<prefix>-<its Tier tag>), starts the load balancer stand-in (scripts/dataplane.py),
boots the instances the groups launched with their data stores (scripts/fleet.py),
keeps both following the emulator in the background (target health, a group's new
instances), waits for the first 200 through the public stand-in and prints where to
point curl or a browser, with the time each part took. Where the machine cannot boot
hosts (not root, no systemd-nspawn) it says so and stops there: the control plane is
deployed all the same.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEMO = Path(os.environ.get("DATAPLANE_DIR", ROOT / ".demo")).resolve()
BACKGROUND = {
    "health": [PYTHON, str(ROOT / "scripts" / "dataplane.py"), "health", "--model-every", "5"],
    "fleet": [PYTHON, str(ROOT / "scripts" / "fleet.py"), "sync", "--watch", "5"],
}


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def environments() -> list[str]:
    """Every environment with an Auto Scaling group in the emulator: <prefix>-<Tier>."""
    found = set()
    for page in boto3.client("autoscaling").get_paginator("describe_auto_scaling_groups").paginate():
        for group in page["AutoScalingGroups"]:
            tier = next((t["Value"] for t in group.get("Tags", []) if t["Key"] == "Tier"), None)
            name = group["AutoScalingGroupName"]
            if tier and name.endswith(f"-{tier}"):
                found.add(name[: -len(tier) - 1])
    return sorted(found)


def run(*command: str) -> subprocess.CompletedProcess:
    done = subprocess.run(command, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"demo: {' '.join(command[1:3])} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def start_background(name: str) -> None:
    stop_background(name)
    log = (DEMO / f"{name}.log").open("a")
    process = subprocess.Popen(BACKGROUND[name], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (DEMO / f"{name}.pid").write_text(f"{process.pid}\n")


def stop_background(name: str) -> None:
    pid_file = DEMO / f"{name}.pid"
    with contextlib.suppress(OSError, ValueError):
        os.killpg(int(pid_file.read_text()), signal.SIGTERM)
    pid_file.unlink(missing_ok=True)


def public_names() -> list[tuple[str, str, int]]:
    """(name, address, port) of every name on the public stand-in's HTTPS listener."""
    status = json.loads(run(PYTHON, str(ROOT / "scripts" / "dataplane.py"), "status").stdout)
    model = json.loads((DEMO / "nginx" / "model.json").read_text())
    found = []
    for lb in model["load_balancers"]:
        if lb["scheme"] != "internet-facing":
            continue
        for listener in lb["listeners"]:
            if listener["protocol"] != "HTTPS":
                continue
            local = next(
                i["local"]
                for i in status["listeners"]
                if i["load_balancer"] == lb["name"] and i["port"] == listener["port"]
            )
            address, port = local.rsplit(":", 1)
            for name in dict.fromkeys(n for c in listener["certificates"] for n in c["names"]):
                found.append((name, address, int(port)))
    return found


def first_200(name: str, address: str, port: int, timeout: float) -> float | None:
    """Seconds until https://name/ (the page, from a frontend) answers 200 through the stand-in, or None."""
    context = ssl.create_default_context(cafile=str(DEMO / "ca.pem"))
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        request = urllib.request.Request(f"https://{address}:{port}/", headers={"Host": name})
        context.check_hostname = False  # the address is local; the certificate names `name`
        with contextlib.suppress(OSError), urllib.request.urlopen(request, context=context, timeout=5) as answer:  # noqa: S310 - https only
            if answer.status == 200:
                return time.monotonic() - started
        time.sleep(2)
    return None


def serve(cap: int, wait: float) -> None:
    if os.geteuid() != 0 or not shutil.which("systemd-nspawn"):
        say("this machine cannot boot hosts (not root, or no systemd-nspawn): the control plane is deployed,")
        say("nothing serves it. docs/DATAPLANE.md says what the data plane needs.")
        return
    DEMO.mkdir(parents=True, exist_ok=True)
    prefixes = environments()
    if not prefixes:
        raise SystemExit("demo: no Auto Scaling group in the emulator: deploy first (make demo does)")
    timings = {}
    began = time.monotonic()
    run(PYTHON, str(ROOT / "scripts" / "dataplane.py"), "up")
    timings["load balancers"] = time.monotonic() - began
    began = time.monotonic()
    fleet = json.loads(
        run(PYTHON, str(ROOT / "scripts" / "fleet.py"), "up", "--cap", str(cap),
            *[arg for prefix in prefixes for arg in ("--prefix", prefix)]).stdout
    )  # fmt: skip
    timings["hosts (boot and configuration)"] = time.monotonic() - began
    failed = {i: h for i, h in fleet["hosts"].items() if h.get("result") != "configured"}
    for instance_id, host in failed.items():
        say(f"WARNING: {instance_id} ({host['group']}): {host.get('result')}; `scripts/hostlab.py ssh {instance_id}`")
    run(PYTHON, str(ROOT / "scripts" / "dataplane.py"), "reload")
    for name in BACKGROUND:
        start_background(name)
    names = public_names()
    if names:
        name, address, port = names[0]
        began = time.monotonic()
        seconds = first_200(name, address, port, wait)
        timings["first 200 after the hosts"] = time.monotonic() - began
        say("first 200 through the public stand-in" if seconds is not None else f"no 200 from {name} in {wait:.0f} s")
    for part, seconds in timings.items():
        say(f"  {part:<32} {seconds:6.1f} s")
    for host in sorted(fleet["hosts"].values(), key=lambda h: h["group"]):
        say(f"  {host['group']:<28} {host.get('address', '-'):<14} {host.get('result')}")
    for name, address, port in names:
        say(f"curl --cacert .demo/ca.pem --resolve {name}:{port}:{address} https://{name}:{port}/api/items/1")
    if names:
        name, address, port = names[0]
        say("write an item, then read it twice (X-Cache: miss, then hit):")
        body = json.dumps({"name": "first", "description": "from the demo"})
        say(f"curl --cacert .demo/ca.pem --resolve {name}:{port}:{address} -X PUT -H 'Content-Type: application/json' "
            f"-d '{body}' https://{name}:{port}/api/items/1")  # fmt: skip


def stop() -> None:
    for name in BACKGROUND:
        stop_background(name)
    if shutil.which("systemd-nspawn") and os.geteuid() == 0:
        subprocess.run([PYTHON, str(ROOT / "scripts" / "fleet.py"), "down"], check=False)
    subprocess.run([PYTHON, str(ROOT / "scripts" / "dataplane.py"), "down"], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve")
    serve_parser.add_argument("--cap", type=int, default=int(os.environ.get("DEMO_CAP", "2")))
    serve_parser.add_argument("--wait", type=float, default=180)
    sub.add_parser("stop")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.cap, args.wait)
    else:
        stop()


if __name__ == "__main__":
    main()
