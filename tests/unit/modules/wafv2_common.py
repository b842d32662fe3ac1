"""Fixtures the WAFv2 module tests share: a call spy, moto in-process, and a stubbed client.

``wafv2`` lets moto answer every call and records them in ``api_calls``;
``stubber`` hands the module a client under botocore's Stubber, for what only
AWS answers (refusals, resources moto does not check).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from conftest import Calls, spy_module_clients, stubbed_module_client
from moto import mock_aws

REGION = "us-east-1"


@pytest.fixture
def api_calls() -> Calls:
    """Every WAFv2 call the module makes, as (operation, parameters)."""
    return []


@pytest.fixture
def wafv2(aws_env: None, api_calls: Calls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process; yields a client to look at what the module left behind."""
    spy_module_clients(monkeypatch, api_calls)
    with mock_aws():
        yield boto3.client("wafv2", region_name=REGION)


@pytest.fixture
def stubber(aws_env: None, api_calls: Calls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """The module's client is a stubbed one; every expected call must be queued and made."""
    with stubbed_module_client(monkeypatch, "wafv2", api_calls) as stub:
        yield stub


def mutating_calls(calls: Calls, prefixes: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """The calls whose operation starts with one of ``prefixes``."""
    return [(name, params) for name, params in calls if name.startswith(prefixes)]
