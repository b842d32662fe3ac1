"""Unit tests of plugins/modules/ec2_ebs_encryption_by_default.py, against moto in-process.

moto 5.2.5 implements Get/Enable/DisableEbsEncryptionByDefault per account and region (off at first).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import Calls, run_module, spy_module_clients
from moto import mock_aws

MODULE = "ec2_ebs_encryption_by_default"


@pytest.fixture
def api_calls() -> Calls:
    return []


@pytest.fixture
def ec2(aws_env: None, api_calls: Calls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    spy_module_clients(monkeypatch, api_calls)
    with mock_aws():
        yield boto3.client("ec2", region_name="us-east-1")


def run(enabled: bool, capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    return run_module(MODULE, {"enabled": enabled, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def setting(ec2: Any) -> bool:
    return ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"]


def test_check_mode_predicts_and_changes_nothing(ec2: Any, api_calls: Calls, capsys: Any) -> None:
    result = run(True, capsys, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["diff"] == {"before": {"enabled": False}, "after": {"enabled": True}}
    assert [name for name, _ in api_calls] == ["GetEbsEncryptionByDefault"]
    assert setting(ec2) is False


def test_enable_then_rerun_then_disable(ec2: Any, api_calls: Calls, capsys: Any) -> None:
    assert run(True, capsys)["changed"] is True
    assert setting(ec2) is True
    api_calls.clear()
    assert run(True, capsys)["changed"] is False
    assert [name for name, _ in api_calls] == ["GetEbsEncryptionByDefault"]
    assert run(False, capsys)["changed"] is True
    assert setting(ec2) is False
    assert run(False, capsys)["ebs_encryption_by_default"] is False
