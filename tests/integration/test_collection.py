"""The repository builds as the collection webstack.aws, and its modules run from the installed tarball.

`ansible-galaxy collection build`, then `ansible-galaxy collection install` into
a scratch folder (--no-deps: the dependencies are the collections the virtualenv
bundles, and Galaxy is not reachable here). A scratch playbook outside the
repository, whose collections path is that folder and the bundled collections
only, then calls webstack.aws.ssm_parameter_path by its FQCN against the
emulator. The region and the endpoint reach the modules only through
`module_defaults: group/webstack.aws.aws` (no AWS_DEFAULT_REGION, no
AWS_ENDPOINT_URL, no AWS config file), which proves meta/runtime.yml's action
group: its own modules, and amazon.aws's through `extend_group`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT, Emulator, parse_recap

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
PARAMETER_PATH = "/collection-test/outputs"


def galaxy_version() -> str:
    return yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]


def bundled_collections() -> str:
    """The folder of the collections the ansible package installs into the virtualenv."""
    import ansible_collections  # a namespace package: its folders are its __path__

    return next(path for path in ansible_collections.__path__ if (Path(path) / "amazon" / "aws").is_dir())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The collection built from the working tree and installed into a scratch folder; that folder."""
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [BIN / "ansible-galaxy", "collection", "build", str(ROOT), "--output-path", str(build)],
        check=True,
        capture_output=True,
        cwd=build,
    )
    tarball = build / f"webstack-aws-{galaxy_version()}.tar.gz"
    assert tarball.is_file(), sorted(build.iterdir())
    collections = tmp_path_factory.mktemp("collections")
    subprocess.run(
        [BIN / "ansible-galaxy", "collection", "install", "-p", str(collections), str(tarball), "--no-deps"],
        check=True,
        capture_output=True,
        cwd=build,
    )
    return collections


def scratch_env(tmp_path: Path, collections: Path) -> dict[str, str]:
    """Dummy credentials and nothing else of AWS; the installed collection and the bundled ones only."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "ANSIBLE_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # No region from a config file either.
            "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
            # No ansible.cfg: the scratch folder has none, and this one does not exist.
            "ANSIBLE_CONFIG": str(tmp_path / "no-ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": f"{collections}:{bundled_collections()}",
            "ANSIBLE_NOCOLOR": "1",
        }
    )
    return env


def run(tmp_path: Path, env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def playbook(tmp_path: Path, defaults: dict[str, object], tasks: list[dict[str, object]]) -> Path:
    path = tmp_path / "scratch.yml"
    play = {
        "name": "Use webstack.aws from the installed collection",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "module_defaults": defaults,
        "tasks": tasks,
    }
    path.write_text(yaml.safe_dump([play], sort_keys=False))
    return path


PUBLISH = {
    "name": "Publish two outputs under a path",
    "webstack.aws.ssm_parameter_path": {
        "path": PARAMETER_PATH,
        "parameters": {"endpoint": "db.example.internal", "port": 3306},
    },
    "register": "published",
}


def test_modules_run_by_fqcn_from_the_installed_tarball_with_the_action_group_defaults(
    installed: Path, emulator: Emulator, tmp_path: Path
) -> None:
    env = scratch_env(tmp_path, installed)
    listed = run(tmp_path, env, "ansible-galaxy", "collection", "list", "webstack.aws", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert list(json.loads(listed.stdout)) == [str(installed / "ansible_collections")]

    endpoint = emulator.env["AWS_ENDPOINT_URL"]
    tasks = [
        PUBLISH,
        {**PUBLISH, "name": "Publish the same outputs again", "register": "again"},
        {
            "name": "Describe the VPCs with amazon.aws (group/webstack.aws.aws extends amazon.aws.aws)",
            "amazon.aws.ec2_vpc_net_info": {},
            "register": "vpcs",
        },
        {
            "name": "Check the first run wrote, the second did not, and amazon.aws got the defaults",
            "ansible.builtin.assert": {
                "that": [
                    "published is changed",
                    "again is not changed",
                    "vpcs.vpcs | length > 0",
                ]
            },
        },
    ]
    defaults = {"group/webstack.aws.aws": {"region": "us-east-1", "endpoint_url": endpoint}}
    result = run(tmp_path, env, "ansible-playbook", "-i", "localhost,", str(playbook(tmp_path, defaults, tasks)))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert parse_recap(output)["failed"] == 0, output

    stored = emulator.client("ssm").get_parameters_by_path(Path=PARAMETER_PATH, Recursive=True)["Parameters"]
    assert {p["Name"]: p["Value"] for p in stored} == {
        f"{PARAMETER_PATH}/endpoint": "db.example.internal",
        f"{PARAMETER_PATH}/port": "3306",
    }


def test_amazon_aws_group_alone_does_not_reach_the_collections_modules(installed: Path, tmp_path: Path) -> None:
    """An action group can take other groups in, not join them: group/amazon.aws.aws misses webstack.aws."""
    env = scratch_env(tmp_path, installed)
    defaults = {"group/amazon.aws.aws": {"region": "us-east-1", "endpoint_url": "http://127.0.0.1:9"}}
    result = run(tmp_path, env, "ansible-playbook", "-i", "localhost,", str(playbook(tmp_path, defaults, [PUBLISH])))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "requires a region and none was found" in output, output
