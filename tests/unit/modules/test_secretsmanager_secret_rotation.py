"""Unit tests of plugins/modules/secretsmanager_secret_rotation.py, on moto (its staging labels behave as AWS's)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import Calls, run_module, spy_module_clients
from moto import mock_aws

MODULE = "secretsmanager_secret_rotation"
NAME = "webstack-prod/redis/auth-token"
OLD, NEW, OTHER = "old-token-0123456789", "new-token-0123456789", "other-token-0123456789"


@pytest.fixture
def api_calls() -> Calls:
    return []


@pytest.fixture
def secrets(aws_env: None, api_calls: Calls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    spy_module_clients(monkeypatch, api_calls)
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name=NAME, SecretString=OLD)
        yield client


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    return run_module(MODULE, {"secret_id": NAME, **args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def writes(calls: Calls) -> list[str]:
    return [name for name, _ in calls if not name.startswith(("Get", "Describe"))]


def value(client: Any, stage: str) -> str:
    return client.get_secret_value(SecretId=NAME, VersionStage=stage)["SecretString"]


def labels(client: Any) -> list[list[str]]:
    return sorted(sorted(stages) for stages in client.describe_secret(SecretId=NAME)["VersionIdsToStages"].values())


def test_a_rotation_from_pending_to_current(secrets: Any, api_calls: Calls, capsys: Any) -> None:
    check = run({"stage": "pending", "secret_string": NEW}, capsys, check_mode=True, diff=True)
    assert check["changed"] is True and check["version_id"] is None
    assert writes(api_calls) == []

    pending = run({"stage": "pending", "secret_string": NEW}, capsys)
    assert pending["changed"] is True and pending["resumed"] is False
    assert value(secrets, "AWSPENDING") == NEW and value(secrets, "AWSCURRENT") == OLD
    assert secrets.get_secret_value(SecretId=NAME, VersionId=pending["version_id"])["SecretString"] == NEW
    assert NEW not in str(pending) and OLD not in str(pending)

    api_calls.clear()
    check = run({"stage": "current"}, capsys, check_mode=True, diff=True)
    assert check["changed"] is True
    assert check["diff"]["after"][pending["version_id"]] == ["AWSCURRENT"]
    assert writes(api_calls) == []

    current = run({"stage": "current"}, capsys)
    assert current["changed"] is True and current["version_id"] == pending["version_id"]
    assert value(secrets, "AWSCURRENT") == NEW and value(secrets, "AWSPREVIOUS") == OLD
    assert labels(secrets) == [["AWSCURRENT"], ["AWSPREVIOUS"]]

    again = run({"stage": "current"}, capsys)
    assert again["changed"] is False


def test_an_interrupted_rotation_is_resumed_with_its_value(secrets: Any, api_calls: Calls, capsys: Any) -> None:
    first = run({"stage": "pending", "secret_string": NEW}, capsys)
    api_calls.clear()
    # The next run generates another value; the pending one, maybe set on the resource already, wins.
    second = run({"stage": "pending", "secret_string": OTHER}, capsys)
    assert second["changed"] is False and second["resumed"] is True
    assert second["version_id"] == first["version_id"]
    assert writes(api_calls) == []
    assert value(secrets, "AWSPENDING") == NEW
    run({"stage": "current"}, capsys)
    assert value(secrets, "AWSCURRENT") == NEW


def test_a_pending_label_left_on_the_current_version_is_replaced(secrets: Any, capsys: Any) -> None:
    current = secrets.describe_secret(SecretId=NAME)["VersionIdsToStages"]
    (version,) = current
    secrets.update_secret_version_stage(SecretId=NAME, VersionStage="AWSPENDING", MoveToVersionId=version)
    pending = run({"stage": "pending", "secret_string": NEW}, capsys)
    assert pending["changed"] is True and pending["resumed"] is False
    assert value(secrets, "AWSPENDING") == NEW and value(secrets, "AWSCURRENT") == OLD


def test_pending_needs_a_value_and_the_secret_must_exist(secrets: Any, capsys: Any) -> None:
    assert "secret_string" in run({"stage": "pending"}, capsys)["msg"]
    missing = run({"secret_id": "webstack-prod/none", "stage": "current"}, capsys)
    assert missing["failed"] is True and "does not exist" in missing["msg"]
