"""Fixtures of the AWX tests: an emulator of their own, and a recording stub server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .awx import ROOT
from .stub import Recorder, recorder

sys.path.insert(0, str(ROOT / "scripts"))
from emulator import endpoint_env


class Emulator:
    def __init__(self, state_dir: Path, port: int) -> None:
        self.state_dir = state_dir
        self.port = port
        self.url = endpoint_env(port)["AWS_ENDPOINT_URL"]


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """A private emulator (scripts/emulator.py, as tests/integration start theirs)."""
    state_dir = tmp_path_factory.mktemp("awx-emulator")
    env = {**os.environ, "EMULATOR_STATE_DIR": str(state_dir), "EMULATOR_PORT": "0"}
    script = ROOT / "scripts" / "emulator.py"
    subprocess.run([sys.executable, str(script), "start"], env=env, check=True, capture_output=True)
    try:
        yield Emulator(state_dir, int((state_dir / "port").read_text()))
    finally:
        subprocess.run([sys.executable, str(script), "stop"], env=env, check=False, capture_output=True)


@pytest.fixture(scope="session")
def stub() -> Iterator[Recorder]:
    with recorder() as server:
        yield server
