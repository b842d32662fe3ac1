"""Run the project's custom modules in-process.

The modules import their shared code as ``ansible.module_utils.<name>`` (ansible.cfg
points module_utils at plugins/module_utils); here that folder is added to the
package path so the same imports work under pytest. ``run_module`` executes a
module's ``main()`` with the given arguments and returns its JSON result.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import ansible.module_utils
import pytest
from ansible.module_utils.testing import patch_module_args

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "plugins" / "modules"
ansible.module_utils.__path__.append(str(ROOT / "plugins" / "module_utils"))


def load_module(name: str):
    spec = importlib.util.spec_from_file_location(f"webstack_modules.{name}", MODULES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_module(name: str, args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Run plugins/modules/<name>.py with ``args`` and return what it exits with."""
    module = load_module(name)
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    out = capsys.readouterr().out
    return json.loads(out)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and a region, and no endpoint: moto's in-process mock answers."""
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
