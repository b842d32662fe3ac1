"""awx/apply.yml runs in check mode against a stub of AWX's API (stub.py).

No controller is reachable here. The awx.awx modules validate their arguments,
then look up the object and every object it names (GET), and in check mode stop
at the first write, reporting a change. So a check run proves: the playbook
parses and templates, every object of the configuration reaches its module with
arguments the module accepts, every object it names is looked up by the name
the configuration gives, and nothing is written. What it leaves to a real
controller is in docs/AWX.md ("What the tests do not show").

Staging's objects are applied; prod's files have the same shape (test_config.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from . import awx
from .stub import Recorder, recorder


def apply(
    stub: Recorder, *args: str, playbook: Path = awx.ROOT / "awx" / "apply.yml"
) -> subprocess.CompletedProcess[str]:
    env = awx.clean_env(
        {
            "CONTROLLER_HOST": stub.url,
            "CONTROLLER_OAUTH_TOKEN": "stub-token",
            "WEBSTACK_AWS_ACCESS_KEY_ID": "AKIASTUBSTUBSTUBSTUB",
            "WEBSTACK_AWS_SECRET_ACCESS_KEY": "stub-secret",
            "ANSIBLE_NOCOLOR": "1",
        }
    )
    env.pop("CONTROLLER_USERNAME", None)
    env.pop("CONTROLLER_PASSWORD", None)
    command = [str(awx.BIN / "ansible-playbook"), str(playbook), "--check", "-e", '{"awx_environments": ["staging"]}']
    return subprocess.run(
        [*command, *args], cwd=awx.ROOT, env=env, capture_output=True, text=True, check=False, timeout=300
    )


@pytest.fixture(scope="module")
def checked() -> tuple[subprocess.CompletedProcess[str], list[tuple[str, str]]]:
    with recorder() as stub:
        run = apply(stub)
        return run, list(stub.requests)


def test_apply_in_check_mode_reaches_every_object_and_writes_nothing(
    checked: tuple[subprocess.CompletedProcess[str], list[tuple[str, str]]],
) -> None:
    run, requests = checked
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    config = awx.config(("staging",))
    objects = sum(len(objects) for objects in config.values())
    # One "changed" per object: each module got as far as its first write.
    assert run.stdout.count("changed: [localhost] => (item=") == objects, run.stdout[-3000:]
    assert {method for method, _ in requests} == {"GET"}
    # Every object is looked up by its name on its own endpoint.
    for kind, endpoint in [
        ("controller_templates", "job_templates"),
        ("controller_inventory_sources", "inventory_sources"),
        ("controller_workflows", "workflow_job_templates"),
    ]:
        looked_up = [path for _, path in requests if path.startswith(f"/api/v2/{endpoint}/?")]
        assert len(looked_up) >= len(config[kind]), (endpoint, looked_up)


def test_the_credential_secrets_come_from_the_environment_and_are_never_logged(
    checked: tuple[subprocess.CompletedProcess[str], list[tuple[str, str]]],
) -> None:
    run, _ = checked
    assert "stub-secret" not in run.stdout + run.stderr
    assert "AKIASTUBSTUBSTUBSTUB" not in run.stdout + run.stderr


def test_a_wrong_value_is_refused_by_the_module_before_any_request(tmp_path: Path) -> None:
    """The check run is not vacuous: an argument a module does not accept fails it."""
    copy = tmp_path / "awx"
    subprocess.run(["cp", "-r", str(awx.ROOT / "awx"), str(copy)], check=True)
    types = copy / "configs" / "all" / "controller_credential_types.yml"
    types.write_text(types.read_text().replace("kind: cloud", "kind: clowd"))
    with recorder() as stub:
        run = apply(stub, playbook=copy / "apply.yml")
        credential_type_requests = [path for _, path in stub.requests if "credential_types" in path]
    assert run.returncode != 0
    assert "value of kind must be one of" in run.stdout, run.stdout[-2000:]
    assert credential_type_requests == []


def test_apply_refuses_to_run_without_the_aws_key() -> None:
    with recorder() as stub:
        run = apply(stub, "-e", '{"awx_aws_access_key_id": ""}')
        assert run.returncode != 0
        assert "export WEBSTACK_AWS_ACCESS_KEY_ID" in run.stdout, run.stdout[-2000:]
        assert stub.requests == []
