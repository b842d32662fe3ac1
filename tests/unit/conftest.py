"""Run the project's custom modules in-process.

The modules import their shared code as
``ansible_collections.webstack.aws.plugins.module_utils.<name>``, the repository
being the collection webstack.aws. Under ``ansible-test units`` that package is
found through the collection layout ansible-test runs in; under plain pytest,
``collections/`` (where the committed link ansible_collections/webstack/aws
points at the repository root) joins ``sys.path``: ``ansible_collections`` is a
namespace package, so the bundled collections (amazon.aws, ...) in the
virtualenv's site-packages stay importable beside it. ``run_module`` executes a
module's ``main()`` with the given arguments and returns its JSON result.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from botocore.stub import Stubber

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "plugins" / "modules"
if importlib.util.find_spec("ansible_collections.webstack") is None:
    sys.path.append(str(ROOT / "collections"))
# The tests import their helpers by file name (``from conftest import run_module``,
# ``from wafv2_common import ...``): pytest's default import mode puts their folders
# on sys.path, ansible-test units imports the tests as packages of the collection
# and does not, so they are put there here for both.
for helpers in (Path(__file__).parent, Path(__file__).parent / "modules"):
    if str(helpers) not in sys.path:
        sys.path.insert(0, str(helpers))


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


Calls = list[tuple[str, dict[str, Any]]]


def record_calls(client: Any, calls: Calls) -> None:
    """Append every call ``client`` makes to ``calls`` as (operation, parameters)."""
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(
        f"provide-client-params.{service}", lambda params, model, **_: calls.append((model.name, dict(params)))
    )


def spy_module_clients(monkeypatch: pytest.MonkeyPatch, calls: Calls) -> None:
    """Record every call of the clients the modules create (moto or AWS answers them as usual)."""
    original = AnsibleAWSModule.client

    def recording_client(self: AnsibleAWSModule, service: str, retry_decorator: Any = None, **kwargs: Any) -> Any:
        client = original(self, service, retry_decorator=retry_decorator, **kwargs)
        record_calls(getattr(client, "client", client), calls)
        return client

    monkeypatch.setattr(AnsibleAWSModule, "client", recording_client)


@contextmanager
def stubbed_module_client(
    monkeypatch: pytest.MonkeyPatch, service: str, calls: Calls | None = None
) -> Iterator[Stubber]:
    """Give the modules one client under botocore's Stubber; every queued response must be used."""
    client = boto3.client(service, region_name="us-east-1")
    if calls is not None:
        record_calls(client, calls)

    def stubbed_client(self: AnsibleAWSModule, name: str, retry_decorator: Any = None, **kwargs: Any) -> Any:
        return RetryingBotoClientWrapper(client, retry_decorator) if retry_decorator else client

    monkeypatch.setattr(AnsibleAWSModule, "client", stubbed_client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()
