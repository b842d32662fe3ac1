"""Helpers the Cognito module tests share, and tests of plugins/module_utils/cognito.py.

``record_calls`` spies on every botocore call (moto answers them as usual);
``stub_cognito`` hands the modules a client under botocore's Stubber, to feed back what
real AWS describes and moto does not (defaults AWS fills in, errors).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.webstack.aws.plugins.module_utils import cognito as cognito_utils
from ansible_collections.webstack.aws.plugins.module_utils import tags as tags_utils
from botocore.client import BaseClient
from botocore.stub import Stubber
from conftest import run_module
from moto import mock_aws

MUTATING_PREFIXES = ("Create", "Update", "Delete", "Set", "Tag", "Untag", "Admin")
REGION = "us-east-1"


@pytest.fixture
def cognito(aws_env: None) -> Iterator[Any]:
    """moto in-process; yields a cognito-idp client to look at what a module left behind."""
    with mock_aws():
        yield boto3.client("cognito-idp", region_name=REGION)


@pytest.fixture
def pool_id(cognito: Any) -> str:
    """A user pool for the client, domain and identity-provider modules to work in."""
    return cognito.create_user_pool(PoolName="webstack-staging")["UserPool"]["Id"]


def record_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """From now on, every AWS call as (operation name, parameters), in order."""
    calls: list[tuple[str, dict[str, Any]]] = []
    original = BaseClient._make_api_call

    def spy(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        calls.append((operation_name, api_params))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", spy)
    return calls


def mutating(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """The names of the calls that change something."""
    return [name for name, _ in calls if name.startswith(MUTATING_PREFIXES)]


def params_of(calls: list[tuple[str, dict[str, Any]]], operation: str) -> dict[str, Any]:
    """The parameters of the one call to ``operation``."""
    matching = [params for name, params in calls if name == operation]
    assert len(matching) == 1, f"expected one {operation} call, got {len(matching)}"
    return matching[0]


def stub_cognito(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    """A Stubber on the client the modules get; queue responses, then run the module."""
    client = boto3.client("cognito-idp", region_name=REGION)
    stubber = Stubber(client)
    wrapped = RetryingBotoClientWrapper(client, AWSRetry.jittered_backoff(retries=1))
    monkeypatch.setattr(cognito_utils, "cognito_client", lambda module: wrapped)
    stubber.activate()
    return stubber


def without_invocation(result: dict[str, Any]) -> dict[str, Any]:
    """The result minus the echo of the module arguments (Ansible masks no_log ones there)."""
    return {key: value for key, value in result.items() if key != "invocation"}


# --- module_utils/cognito.py -------------------------------------------------------------


def test_desired_tags_purges_unless_told_not_to() -> None:
    current = {"Environment": "staging", "Owner": "ops"}
    assert tags_utils.desired_tags(current, {"Environment": "prod"}, purge=True) == {"Environment": "prod"}
    assert tags_utils.desired_tags(current, {"Environment": "prod"}, purge=False) == {
        "Environment": "prod",
        "Owner": "ops",
    }
    assert tags_utils.desired_tags(current, None, purge=True) == current


def test_overlay_keeps_unset_options_and_merges_set_suboptions() -> None:
    current = {"a": 1, "b": {"x": 1, "y": 2}, "c": [1]}
    params = {"a": None, "b": {"x": 5, "y": None}, "c": []}
    assert cognito_utils.overlay(current, params, ["a", "b", "c"]) == {"a": 1, "b": {"x": 5, "y": 2}, "c": []}


def test_differences_names_changed_keys() -> None:
    assert cognito_utils.differences({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None}) == ["b"]


def test_snake_resource_keeps_free_form_maps_and_reads_oauth_as_one_word() -> None:
    described = {"AllowedOAuthFlows": ["code"], "UserPoolTags": {"CostCenter": "web"}}
    assert cognito_utils.snake_resource(described, keep=["UserPoolTags"]) == {
        "allowed_oauth_flows": ["code"],
        "user_pool_tags": {"CostCenter": "web"},
    }


def test_carried_over_keeps_only_what_the_update_call_accepts() -> None:
    client = boto3.client("cognito-idp", region_name=REGION)
    described = {"ClientName": "web", "ClientSecret": "s", "CreationDate": 1, "ReadAttributes": ["email"]}
    assert cognito_utils.carried_over(client, "UpdateUserPoolClient", described, drop=["ReadAttributes"]) == {
        "ClientName": "web"
    }


def test_two_pools_with_one_name_fail_clearly(aws_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        client = boto3.client("cognito-idp", region_name=REGION)
        ids = sorted(client.create_user_pool(PoolName="twin")["UserPool"]["Id"] for _ in range(2))
        result = run_module("cognito_user_pool", {"name": "twin"}, capsys)
    assert result["failed"]
    assert "Expected at most one user pool named 'twin', found 2" in result["msg"]
    assert all(pool_id in result["msg"] for pool_id in ids)
