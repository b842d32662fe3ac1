"""The job templates run the way AWX runs them, with ansible-runner, against the emulator.

Each launch is a private data directory (awx.py: Job): the project, the
inventory as AWX imports it from its sources (the folder, and the aws_ec2
source with the credential) handed over as a script, extra vars holding the
template's extra vars, the survey's defaults and the answers, and the
credential's environment (its type's injectors) pointing at the emulator. A
full provision takes 1-2 minutes, so the launches are a cheap selection, run
for real, two at a time:

- staging's provision with the layer answer ``identity`` (a Cognito user pool,
  its domain and app client, published in SSM), then staging's teardown
  confirmed by name, which removes them;
- staging's configure hosts, whose inventory holds the aws_ec2 source's import;
- staging's teardown without the confirmation: refused before any AWS call
  (its credential points at a stub that records every request).

The other templates (prod's, the site, the bundle) run the same playbooks with
the same kind of inventory and variables; test_config.py checks their
playbooks, inventories and survey variables (prod's teardown needs its prefix
typed, as staging's does).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ansible_runner
import boto3
import pytest
import yaml

from . import awx
from .conftest import Emulator
from .stub import Recorder, recorder


@dataclass
class Result:
    private_data_dir: Path
    status: str
    rc: int
    stdout: str
    events: list[dict[str, Any]]
    seconds: float

    def tasks(self, event: str) -> list[dict[str, Any]]:
        return [e["event_data"] for e in self.events if e["event"] == event]

    def changed_roles(self) -> set[str]:
        return {e.get("role", "") for e in self.tasks("runner_on_ok") if e.get("res", {}).get("changed")}

    def command(self) -> dict[str, Any]:
        (artifacts,) = (self.private_data_dir / "artifacts").iterdir()
        return json.loads((artifacts / "command").read_text())


def credential_env(endpoint: str) -> dict[str, str]:
    """The environment AWX injects for the webstack AWS credential with these inputs."""
    credential_type = awx.by_name(awx.config()["controller_credential_types"], "webstack AWS")
    # The emulator accepts any key; no session token, as for a long-lived key.
    inputs = {"access_key_id": "testing", "secret_access_key": "testing", "endpoint_url": endpoint}
    return awx.credential_env(credential_type, inputs)


def inventory_of(env: str, credential: dict[str, str]) -> dict[str, Any]:
    """AWX's update of the environment's inventory: each of its sources imported, then merged."""
    sources = [s for s in awx.config((env,))["controller_inventory_sources"] if s["inventory"] == f"webstack-{env}"]
    return awx.merge_inventories(
        [awx.import_source(s, awx.clean_env(credential if s.get("credential") else {})) for s in sources]
    )


def launch(
    template: dict[str, Any],
    answers: dict[str, Any],
    credential: dict[str, str],
    inventory: dict[str, Any],
    private_data_dir: Path,
) -> Result:
    awx.Job(template, awx.extra_vars(template, answers), credential, inventory).prepare(private_data_dir)
    started = time.monotonic()
    runner = ansible_runner.run(private_data_dir=str(private_data_dir), playbook=template["playbook"], quiet=True)
    return Result(
        private_data_dir,
        runner.status,
        runner.rc,
        runner.stdout.read(),
        list(runner.events),
        time.monotonic() - started,
    )


def user_pools(emulator: Emulator) -> list[str]:
    client = boto3.client(
        "cognito-idp",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return sorted(pool["Name"] for pool in client.list_user_pools(MaxResults=60)["UserPools"])


@pytest.fixture(scope="module")
def aws_stub() -> Iterator[Recorder]:
    """Where the refused runs' credential points: any AWS request they made would be logged here."""
    with recorder() as server:
        yield server


@pytest.fixture(scope="module")
def jobs(emulator: Emulator, aws_stub: Recorder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every launch of this module, two at a time; their results by name, and the user pools after provision."""
    templates = awx.config()["controller_templates"]
    to_emulator, to_stub = credential_env(emulator.url), credential_env(aws_stub.url)
    folder = tmp_path_factory.mktemp("jobs")
    results: dict[str, Any] = {}
    # ansible-runner passes its own environment on: AWX's jobs see only what AWX sets.
    with pytest.MonkeyPatch.context() as patch, ThreadPoolExecutor(max_workers=2) as pool:
        for name in [key for key in os.environ if key.startswith(("AWS_", "ANSIBLE_"))]:
            patch.delenv(name)
        patch.setenv("PATH", awx.clean_env({})["PATH"])
        patch.setenv("ANSIBLE_NOCOLOR", "1")
        inventories = {"staging": pool.submit(inventory_of, "staging", to_emulator)}

        def run(name: str, template: str, answers: dict[str, Any], credential: dict[str, str]) -> Result:
            env = template.removeprefix("webstack-").split(":")[0]
            return launch(
                awx.by_name(templates, template), answers, credential, inventories[env].result(), folder / name
            )

        started = {
            "staging-unconfirmed": pool.submit(
                run, "staging-unconfirmed", "webstack-staging: teardown", {"confirm_teardown": ""}, to_stub
            ),
            "configure": pool.submit(run, "configure", "webstack-staging: configure hosts", {}, to_emulator),
        }
        results["provision"] = run(
            "provision", "webstack-staging: provision", {"provision_layers": ["identity"]}, to_emulator
        )
        results["pools after provision"] = user_pools(emulator)
        results["teardown"] = run(
            "teardown", "webstack-staging: teardown", {"confirm_teardown": "webstack-staging"}, to_emulator
        )
        results["pools after teardown"] = user_pools(emulator)
        results.update({name: future.result() for name, future in started.items()})
    yield results
    for name, result in results.items():
        if isinstance(result, Result):
            print(f"\n{name}: {result.status} rc={result.rc}, {result.seconds:.1f} s")


def test_provision_builds_only_the_layer_chosen_in_the_survey(jobs: dict[str, Any]) -> None:
    result = jobs["provision"]
    assert (result.status, result.rc) == ("successful", 0), result.stdout[-3000:]
    assert result.changed_roles() == {"identity"}
    assert jobs["pools after provision"] == ["webstack-staging-users"]


def test_provision_ran_as_awx_launches_it(jobs: dict[str, Any], emulator: Emulator) -> None:
    """In the project's folder, with the inventory script, the survey's answer and defaults, the credential's env."""
    result = jobs["provision"]
    command = result.command()
    assert command["cwd"] == str(result.private_data_dir / "project")
    assert command["command"][-1] == "playbooks/provision.yml"
    assert command["command"][command["command"].index("-i") + 1] == str(result.private_data_dir / "inventory")
    extravars = yaml.safe_load((result.private_data_dir / "env" / "extravars").read_text())
    assert extravars == {
        "provision_layers": ["identity"],
        "compute_frontend_instance_type": "t3.small",
        "compute_backend_instance_type": "t3.small",
    }
    # The injectors rendered as AWX renders them: the endpoint given, no session token (empty, which boto3 ignores).
    assert {key: command["env"].get(key) for key in ("AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN")} == {
        "AWS_ENDPOINT_URL": emulator.url,
        "AWS_SESSION_TOKEN": "",
    }


def test_configure_hosts_runs_on_the_aws_ec2_source_import(jobs: dict[str, Any]) -> None:
    result = jobs["configure"]
    assert (result.status, result.rc) == ("successful", 0), result.stdout[-3000:]
    # The aws_ec2 source was imported (its group is in the job's inventory); the emulator runs no
    # instance, so it lists none, and the host plays match no host.
    assert "aws_ec2" in (result.private_data_dir / "inventory" / "hosts").read_text()
    assert "skipping: no hosts matched" in result.stdout


def test_confirmed_staging_teardown_removes_what_provision_built(jobs: dict[str, Any]) -> None:
    result = jobs["teardown"]
    assert (result.status, result.rc) == ("successful", 0), result.stdout[-3000:]
    assert jobs["pools after teardown"] == []


def test_staging_teardown_without_its_confirmation_refuses_before_any_aws_call(
    jobs: dict[str, Any], aws_stub: Recorder
) -> None:
    result = jobs["staging-unconfirmed"]
    assert (result.status, result.rc) == ("failed", 2), result.stdout[-3000:]
    (failed,) = result.tasks("runner_on_failed")
    assert failed["task"].startswith("Check that tearing down production, or any environment when asked to")
    assert "confirm_teardown" in failed["res"]["msg"]
    assert aws_stub.requests == []
