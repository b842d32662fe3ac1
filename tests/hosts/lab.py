"""What the booted-host tests share: a free port, a listening wait, the demo CA."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import dataplane  # noqa: E402 - the demo CA


def demo_ca(folder: Path) -> Path:
    """The demo CA in ``folder`` (made there as `make demo` makes .demo/ca.pem); its certificate."""
    paths = dataplane.Paths(folder)
    dataplane.ensure_ca(paths)
    return paths.ca_cert


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(address: str, port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"hostaws serve exited with {process.returncode}"
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((address, port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {address}:{port} after {timeout} s")
