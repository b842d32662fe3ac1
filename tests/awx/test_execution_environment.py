"""execution-environment.yml builds, and installs what the project itself pins.

`ansible-builder create` writes the build context (no container engine needed)
from a copy of the file, with the collection webstack.aws built from the
working tree where `make awx-ee` puts it. The Python pins must be
requirements.txt's and the collections collections/requirements.yml's: the
two are compared here, not kept equal by hand.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import awx

ROOT = awx.ROOT
EE = yaml.safe_load((ROOT / "execution-environment.yml").read_text())


def pins(lines: list[str]) -> dict[str, str]:
    """name -> version of every ``name==version`` line (comments and blank lines skipped)."""
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{line}: not pinned with =="
            found[re.sub(r"\[.*\]", "", name).lower()] = version
    return found


def project_pins() -> dict[str, str]:
    return pins((ROOT / "requirements.txt").read_text().splitlines())


def galaxy_version() -> str:
    return str(yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"])


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build context `ansible-builder create` writes, as `make awx-ee` prepares it."""
    work = tmp_path_factory.mktemp("ee")
    shutil.copy(ROOT / "execution-environment.yml", work)
    shutil.copy(ROOT / "bindep.txt", work)
    (build,) = [entry["src"] for entry in EE["additional_build_files"]]
    subprocess.run(
        [awx.BIN / "ansible-galaxy", "collection", "build", str(ROOT), "--output-path", str(work / Path(build).parent)],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [awx.BIN / "ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context"],
        cwd=work,
        check=True,
        capture_output=True,
    )
    return work / "context"


def test_builder_writes_the_context_with_the_collection_and_requirements(context: Path) -> None:
    containerfile = next(path for path in (context / "Containerfile", context / "Dockerfile") if path.exists())
    assert "ansible-core==" in containerfile.read_text()
    assert (context / "_build" / "collections" / f"webstack-aws-{galaxy_version()}.tar.gz").is_file()
    assert pins((context / "_build" / "requirements.txt").read_text().splitlines()) == pins(
        EE["dependencies"]["python"]
    )
    written: dict[str, Any] = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert written["collections"] == EE["dependencies"]["galaxy"]["collections"]
    assert (context / "_build" / "bindep.txt").read_text() == (ROOT / "bindep.txt").read_text()


def test_python_requirements_are_the_projects_pins() -> None:
    project = project_pins()
    ee = pins(EE["dependencies"]["python"])
    assert {name: project.get(name) for name in ee} == ee
    for tool in ("ansible_core", "ansible_runner"):
        assert pins([EE["dependencies"][tool]["package_pip"]]).items() <= project.items()
    # What the playbooks import on the controller: the AWS SDK, and the strategy ansible.cfg selects.
    assert {"boto3", "botocore", "mitogen"} <= ee.keys()
    assert "strategy = mitogen_linear" in (ROOT / "ansible.cfg").read_text()


def test_collections_are_the_projects_and_webstack_aws_from_this_repository() -> None:
    project = yaml.safe_load((ROOT / "collections" / "requirements.yml").read_text())["collections"]
    ee = EE["dependencies"]["galaxy"]["collections"]
    from_galaxy = [entry for entry in ee if entry.get("type") != "file"]
    assert from_galaxy == project
    (own,) = [entry for entry in ee if entry.get("type") == "file"]
    tarball = f"webstack-aws-{galaxy_version()}.tar.gz"
    assert own["name"] == f"collections/{tarball}"
    (build,) = EE["additional_build_files"]
    assert (Path(build["src"]).name, build["dest"]) == (tarball, "collections")
    assert f"--output-path {Path(build['src']).parent}" in (ROOT / "Makefile").read_text()
