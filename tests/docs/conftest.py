"""Fixtures of the architecture document's tests: the inventories read once, the diagrams rendered once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts.archdoc.draw import draw
from scripts.archdoc.inventory import from_inventory
from scripts.archdoc.model import Environment
from tests.integration.conftest import make_inventory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def environments() -> list[Environment]:
    return [from_inventory(ROOT / "inventories" / env) for env in ("prod", "staging")]


@pytest.fixture(scope="session")
def rendered(environments: list[Environment], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """prod.png/.dot, staging.png/.dot and both.png/.dot, drawn from the real inventories."""
    folder = tmp_path_factory.mktemp("diagrams")
    for env in environments:
        draw([env], env.env, folder / env.env)
    draw(environments, "both", folder / "both")
    return folder


@pytest.fixture
def changed_inventory(tmp_path: Path) -> Callable[[str, dict[str, Any]], Environment]:
    """An environment read from a copy of its inventory with some variables changed."""

    def read(env: str, changes: dict[str, Any]) -> Environment:
        return from_inventory(make_inventory(tmp_path, env, changes))

    return read
