"""scripts/hostlab.py: booted hosts reach nothing outside this machine, and a crashed run leaves nothing behind.

Needs root and the cached root file system (built on first use, about 2-3 min);
`make hosts-test` runs these before the molecule scenarios.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOSTLAB = [sys.executable, str(ROOT / "scripts" / "hostlab.py")]
HOST = "pytest-hostlab"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("systemd-nspawn") or not shutil.which("debootstrap"),
    reason="booted hosts need root, systemd-nspawn and debootstrap (scripts/bootstrap.sh)",
)


def hostlab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HOSTLAB, *args], capture_output=True, text=True, check=True, timeout=600)


def on_host(command: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HOSTLAB, "ssh", HOST, command], capture_output=True, text=True, check=False, timeout=60)


def state() -> Path:
    return Path(os.environ.get("HOSTLAB_STATE", "/var/lib/hostlab")) / "hosts" / HOST


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    address = json.loads(hostlab("up", HOST, "--alias", "sts.amazonaws.com=controller").stdout)[HOST]
    yield address
    hostlab("down", HOST)


def test_the_host_boots_systemd_and_answers_ssh(host: str) -> None:
    assert on_host("systemctl is-system-running").stdout.strip() in ("running", "degraded")
    assert on_host("hostname").stdout.strip() == HOST


def test_the_host_has_no_route_out(host: str) -> None:
    routes = on_host("ip route").stdout
    assert "default" not in routes, routes
    refused = on_host("curl -sS -m 3 http://1.1.1.1/")
    assert refused.returncode != 0
    assert "Couldn't connect" in refused.stderr or "unreachable" in refused.stderr.lower(), refused.stderr


def test_names_resolve_only_to_this_machine(host: str) -> None:
    assert on_host("getent hosts deb.debian.org").returncode != 0
    assert on_host("getent hosts sts.amazonaws.com").stdout.split()[0] == "10.231.0.1"


def test_a_killed_nspawn_leaves_nothing_the_next_run_trips_on(host: str) -> None:
    nspawn = int((state() / "nspawn.pid").read_text())
    os.kill(nspawn, signal.SIGKILL)
    time.sleep(0.5)
    started = time.monotonic()
    hostlab("up", HOST)  # the container that outlived nspawn is killed, then the host boots again
    assert time.monotonic() - started < 60
    assert on_host("true").returncode == 0


def test_down_removes_the_mount_the_namespace_the_veth_and_the_state() -> None:
    hostlab("up", HOST)
    address = (state() / "address").read_text().strip()
    hostlab("down", HOST)
    assert not state().exists()
    assert f"hl-{HOST}" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "link"], capture_output=True, text=True).stdout
    assert f"hlv{address.rsplit('.', 1)[1]}:" not in links
    assert HOST not in Path("/proc/mounts").read_text()
