"""Fixtures that run the real playbooks against a private AWS emulator.

Two kinds of integration tests:

- Tests of the shared deployment (``stack``, see stack.py): marked
  ``@pytest.mark.stack("<step>")``, they read what one deployment of prod and
  staging, in its own emulator, looks like at that step. They are sorted by
  step here and run together on one xdist worker (group ``stack``).
- Tests that need an empty account or make no AWS call (``emulator``,
  ``empty_account``): one emulator per test session (per xdist worker), on a
  free port with its state in a temporary folder, stopped at the end.

Every request an emulator answers is logged, so a test can tell which AWS
calls a run made (or that it made none).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = ROOT / "scripts" / "emulator.py"
sys.path.insert(0, str(EMULATOR.parent))
from emulator import endpoint_env  # noqa: E402 - the project's script, not a package

ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
# Query APIs by name; REST APIs (Route53, S3) by HTTP method.
READ_ONLY = re.compile(r"^(Describe|Get|List|GET |HEAD )")
UNSET = object()


@dataclass
class Emulator:
    port: int
    state_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return endpoint_env(self.port)

    def requests(self) -> list[dict[str, str]]:
        path = self.state_dir / "requests.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def mark(self) -> int:
        """Position in the request log; pass it to ``since``."""
        return len(self.requests())

    def since(self, mark: int) -> list[dict[str, str]]:
        return self.requests()[mark:]

    def reset(self) -> None:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - loopback emulator
            pass

    def client(self, service: str) -> Any:
        env = self.env
        return boto3.client(
            service,
            endpoint_url=env["AWS_ENDPOINT_URL"],
            region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )


@contextmanager
def started_emulator(state_dir: Path) -> Iterator[Emulator]:
    env = {**os.environ, "EMULATOR_STATE_DIR": str(state_dir), "EMULATOR_PORT": "0"}
    subprocess.run([sys.executable, str(EMULATOR), "start"], env=env, check=True, capture_output=True)
    port = int((state_dir / "port").read_text())
    try:
        yield Emulator(port=port, state_dir=state_dir)
    finally:
        subprocess.run([sys.executable, str(EMULATOR), "stop"], env=env, check=False, capture_output=True)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """This session's (this worker's) emulator, for tests that send no call or bring their own state."""
    with started_emulator(tmp_path_factory.mktemp("emulator")) as started:
        yield started


@pytest.fixture
def empty_account(emulator: Emulator) -> Emulator:
    """The session's emulator, emptied for this test."""
    emulator.reset()
    return emulator


@pytest.fixture(scope="session")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The one deployment of prod and staging the stack tests share, in an emulator of its own."""
    from .stack import Stack  # stack.py imports this module

    with started_emulator(tmp_path_factory.mktemp("stack-emulator")) as stack_emulator:
        yield Stack(emulator=stack_emulator, workdir=tmp_path_factory.mktemp("stack"))


@pytest.fixture
def stack(request: pytest.FixtureRequest, shared_stack: Any) -> Any:
    """The shared deployment, brought to the step the test is marked with."""
    marker = request.node.get_closest_marker("stack")
    if marker is None:
        pytest.fail(f"{request.node.nodeid} uses the shared stack without @pytest.mark.stack(<step>)")
    shared_stack.reach(marker.args[0])
    return shared_stack


def xdist_group_of(nodeid: str) -> str | None:
    """The xdist group of a test, from its marks: "stack" for the stack tests, else its xdist_group."""
    path, _, name = nodeid.partition("::")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    function = getattr(module, name.split("[", 1)[0], None)
    module_marks = getattr(module, "pytestmark", [])
    marks = [
        *getattr(function, "pytestmark", []),
        *(module_marks if isinstance(module_marks, list) else [module_marks]),
    ]
    if any(mark.name == "stack" for mark in marks):
        return "stack"
    return next((str(mark.args[0]) for mark in marks if mark.name == "xdist_group" and mark.args), None)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's loadgroup, grouping by marks read here.

    pytest-xdist 3.8 groups by a suffix it writes into ``item._nodeid``, which pytest 9 no longer
    reads, so its own loadgroup sends a group's tests to any worker. This scheduler finds each
    test's group from its marks instead: the stack tests go to one worker.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class MarkGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid.split("@", 1)[0]) or super()._split_scope(nodeid)

    return MarkGroupScheduling(config, log)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the stack tests by step (stable within a step), after the others, on one xdist worker."""
    from .stack import STEPS

    def step(item: pytest.Item) -> int:
        marker = item.get_closest_marker("stack")
        if marker is None:
            return -1
        if not marker.args or marker.args[0] not in STEPS:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.stack needs one of {STEPS}")
        return STEPS.index(marker.args[0])

    for item in items:
        if step(item) >= 0:
            item.add_marker(pytest.mark.xdist_group("stack"))
    items.sort(key=step)


@dataclass
class Run:
    returncode: int
    output: str
    recap: dict[str, int] = field(default_factory=dict)
    # The requests the emulator answered during the run (filled in by the stack).
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.recap.get("changed", -1)

    @property
    def failed(self) -> int:
        return self.recap.get("failed", -1)


def parse_recap(output: str) -> dict[str, int]:
    match = re.search(r"^localhost\s*:\s*(.*)$", output, re.MULTILINE)
    if not match:
        return {}
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


def playbook_command(inventory: Path | str, playbook: str, *args: str) -> list[str]:
    return [ANSIBLE_PLAYBOOK, "-i", str(inventory), str(ROOT / "playbooks" / playbook), *args]


def playbook_env(emulator: Emulator, extra_env: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(emulator.env)
    env.update(extra_env or {})
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    return env


def only_layers(*layers: str) -> tuple[str, str]:
    """Extra arguments for provision.yml that run only these layers (a test file of one layer skips the rest)."""
    return ("-e", json.dumps({"provision_layers": list(layers)}))


def run_playbook(
    emulator: Emulator, inventory: Path | str, playbook: str, *args: str, extra_env: dict[str, str] | None = None
) -> Run:
    """Run a playbook against the emulator and return its output and recap."""
    process = subprocess.run(
        playbook_command(inventory, playbook, *args),
        cwd=ROOT,
        env=playbook_env(emulator, extra_env),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = process.stdout + process.stderr
    return Run(returncode=process.returncode, output=output, recap=parse_recap(output))


def start_playbook(
    emulator: Emulator, inventory: Path | str, playbook: str, *args: str, log: Path
) -> subprocess.Popen[bytes]:
    """Start a playbook in its own process group (so a test can kill all of it)."""
    return subprocess.Popen(
        playbook_command(inventory, playbook, *args),
        cwd=ROOT,
        env=playbook_env(emulator),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_when(
    emulator: Emulator, process: subprocess.Popen[bytes], action: str, count: int, since: int, timeout: float = 300
) -> None:
    """SIGKILL the playbook's whole process group once the emulator saw ``action`` ``count`` times after ``since``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = sum(1 for request in emulator.since(since) if request["action"] == action)
        if seen >= count:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return
        if process.poll() is not None:
            pytest.fail(f"the playbook ended (rc={process.returncode}) before {action} was sent {count} times")
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail(f"{action} was not sent {count} times within {timeout} s")


def mutating(requests: list[dict[str, str]]) -> list[str]:
    return [request["action"] for request in requests if not READ_ONLY.match(request["action"])]


def assert_refused_before_aws(
    emulator: Emulator, tmp_path: Path, env: str, changes: dict[str, Any], expected: list[str]
) -> None:
    """provision.yml on inventories/<env> with ``changes`` fails, its message holds every ``expected``
    text (whitespace folded), and the emulator saw no request."""
    bad_inventory = make_inventory(tmp_path, env, changes)
    mark = emulator.mark()

    run = run_playbook(emulator, bad_inventory, "provision.yml")

    assert run.returncode != 0, run.output
    flat = " ".join(run.output.split())
    for text in expected:
        assert text in flat, f"{text!r} not in the failure:\n{run.output[-3000:]}"
    assert emulator.since(mark) == [], "a bad inventory must not reach AWS"


def make_inventory(tmp_path: Path, env: str, changes: dict[str, Any]) -> Path:
    """Copy inventories/<env> (links resolved) and apply ``changes`` to its variables.

    A value of UNSET removes the variable; any other value overrides it.
    """
    target = tmp_path / env
    shutil.copytree(ROOT / "inventories" / env, target, symlinks=False)
    group_vars = target / "group_vars" / "all"
    removed = {name for name, value in changes.items() if value is UNSET}
    for path in group_vars.glob("*.yml"):
        data = yaml.safe_load(path.read_text()) or {}
        if removed & data.keys():
            path.write_text(yaml.safe_dump({k: v for k, v in data.items() if k not in removed}))
    overrides = {name: value for name, value in changes.items() if value is not UNSET}
    (group_vars / "zz_test_overrides.yml").write_text(yaml.safe_dump(overrides))
    return target


def inventory_vars(env: str) -> dict[str, Any]:
    """The variables an inventory sets, with the prefix resolved."""
    merged: dict[str, Any] = {}
    for path in sorted((ROOT / "inventories" / env / "group_vars" / "all").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    merged["webstack_prefix"] = f"{merged['webstack_project']}-{merged['webstack_env']}"
    return merged


def tags(resource: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}


def changed_tasks(output: str, role: str) -> list[str]:
    """The tasks of ``role`` that reported a change in a playbook's output."""
    changed, task = [], ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith("changed:") and task.startswith(f"TASK [{role} : "):
            changed.append(task)
    return changed


def actions(requests: list[dict[str, str]]) -> list[str]:
    return [request["action"] for request in requests]
