"""The architecture document's as-built mode against the deployed stack (docs/ARCHITECTURE-DOC.md).

Right after the deploy, what the emulator holds (found by the tags Project and Environment)
draws the same picture as the inventories: no difference for either environment. With one
inventory value changed, as-built reports exactly that value. It only reads: seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, make_inventory


def as_built(stack: Any, inventories: list[Path | str], *args: str) -> tuple[int, dict[str, Any]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(stack.emulator.env)
    command = [sys.executable, "-m", "scripts.archdoc", "as-built", "--json", *args]
    for inventory in inventories:
        command += ["--inventory", str(ROOT / inventory)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode in (0, 2), result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.mark.stack("deploy")
def test_as_built_matches_both_inventories_after_the_deploy(stack: Any, tmp_path: Path) -> None:
    returncode, report = as_built(
        stack, [stack.inventories["prod"], stack.inventories["staging"]], "--output", str(tmp_path)
    )
    assert report == {
        "prod": {"deployed": True, "differences": []},
        "staging": {"deployed": True, "differences": []},
    }
    assert returncode == 0
    # The same diagrams, drawn from what is deployed.
    for name in ("prod", "staging", "both"):
        assert (tmp_path / f"{name}.png").stat().st_size > 0
        assert "staging_cognito" in (tmp_path / "both.dot").read_text()


@pytest.mark.stack("deploy")
def test_as_built_reports_exactly_the_one_value_changed_in_an_inventory(stack: Any, tmp_path: Path) -> None:
    changed = make_inventory(tmp_path, "staging", {"compute_frontend_instance_type": "t3.large"})
    returncode, report = as_built(stack, [stack.inventories["prod"], changed], "--no-draw")
    assert returncode == 2
    assert report["prod"]["differences"] == []
    assert report["staging"]["differences"] == [
        {"field": "frontend.instance_type", "inventory": "t3.large", "deployed": "t3.small"}
    ]
