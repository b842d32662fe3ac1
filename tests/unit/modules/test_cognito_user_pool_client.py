"""cognito_user_pool_client against moto, and against botocore's Stubber for what real AWS describes."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from conftest import run_module
from test_cognito_common import (  # noqa: F401 - pytest fixtures shared by the Cognito tests
    cognito,
    mutating,
    params_of,
    pool_id,
    record_calls,
    stub_cognito,
    without_invocation,
)

NAME = "staging-alb"
CALLBACK = "https://staging.example.com/oauth2/idpresponse"


def alb_client(pool_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "user_pool_id": pool_id,
        "name": NAME,
        "generate_secret": True,
        "callback_urls": [CALLBACK],
        "logout_urls": ["https://staging.example.com/"],
        "supported_identity_providers": ["COGNITO"],
        "explicit_auth_flows": ["ALLOW_REFRESH_TOKEN_AUTH"],
        "prevent_user_existence_errors": "ENABLED",
        **overrides,
    }


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: bool) -> dict[str, Any]:
    """Run the module; flags: check_mode, diff."""
    extra = {f"_ansible_{flag}": value for flag, value in flags.items()}
    return run_module("cognito_user_pool_client", {**args, **extra}, capsys)


def described(cognito: Any, pool_id: str) -> dict[str, Any]:
    summary = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"][0]
    return cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=summary["ClientId"])["UserPoolClient"]


# --- against moto ------------------------------------------------------------------------


def test_create_makes_the_client_with_the_oauth_defaults(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(alb_client(pool_id), capsys)

    assert result["changed"] is True
    app_client = described(cognito, pool_id)
    assert result["client_id"] == app_client["ClientId"]
    assert app_client["AllowedOAuthFlows"] == ["code"]
    assert sorted(app_client["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    assert app_client["AllowedOAuthFlowsUserPoolClient"] is True
    assert app_client["CallbackURLs"] == [CALLBACK]
    assert "ClientSecret" in app_client
    assert result["user_pool_client"]["has_secret"] is True
    assert result["user_pool_client"]["allowed_oauth_flows"] == ["code"]


def test_rerun_reports_no_change_and_calls_nothing_mutating(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(alb_client(pool_id), capsys)
    calls = record_calls(monkeypatch)

    result = run(alb_client(pool_id), capsys)

    assert result["changed"] is False
    assert mutating(calls) == []


def test_a_change_sends_the_whole_configuration_in_one_update(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(alb_client(pool_id), capsys)
    # A setting the module does not manage; UpdateUserPoolClient would reset it if left out.
    app_client = described(cognito, pool_id)
    cognito.update_user_pool_client(
        **{k: v for k, v in app_client.items() if k not in ("ClientSecret",)}, ReadAttributes=["email"]
    )
    calls = record_calls(monkeypatch)

    result = run(alb_client(pool_id, logout_urls=["https://staging.example.com/bye"]), capsys)

    assert result["changed"] is True
    assert mutating(calls) == ["UpdateUserPoolClient"]
    request = params_of(calls, "UpdateUserPoolClient")
    assert request["LogoutURLs"] == ["https://staging.example.com/bye"]
    assert request["CallbackURLs"] == [CALLBACK]
    assert request["ReadAttributes"] == ["email"]
    assert request["AllowedOAuthFlows"] == ["code"]
    assert described(cognito, pool_id)["ReadAttributes"] == ["email"]
    assert run(alb_client(pool_id, logout_urls=["https://staging.example.com/bye"]), capsys)["changed"] is False


def test_generate_secret_cannot_change(cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(alb_client(pool_id), capsys)

    result = run(alb_client(pool_id, generate_secret=False), capsys)

    assert result["failed"] is True
    assert "generate_secret cannot change" in result["msg"]
    assert "has secret and the task asks for generate_secret: false" in result["msg"]


def test_the_secret_stays_out_of_the_result_unless_asked_for(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run(alb_client(pool_id), capsys, diff=True)
    secret = described(cognito, pool_id)["ClientSecret"]
    updated = run(alb_client(pool_id, logout_urls=[]), capsys, diff=True)
    asked = run(alb_client(pool_id, return_secret=True), capsys)

    for result in (created, updated):
        assert secret not in json.dumps(result)
        assert "client_secret" not in result
    assert asked["client_secret"] == secret


def test_delete_removes_the_client(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(alb_client(pool_id), capsys)
    calls = record_calls(monkeypatch)

    result = run({"user_pool_id": pool_id, "name": NAME, "state": "absent"}, capsys)

    assert result["changed"] is True
    assert mutating(calls) == ["DeleteUserPoolClient"]
    assert cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"] == []


@pytest.mark.parametrize("pool_exists", [True, False], ids=["client-absent", "pool-absent"])
def test_delete_when_absent_is_a_no_op(
    cognito: Any,
    pool_id: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    pool_exists: bool,
) -> None:
    target = pool_id if pool_exists else "us-east-1_gone"
    calls = record_calls(monkeypatch)

    result = run({"user_pool_id": target, "name": NAME, "state": "absent"}, capsys)

    assert result["changed"] is False
    assert mutating(calls) == []


@pytest.mark.parametrize("state", ["create", "update", "delete"])
def test_check_mode_reports_the_change_and_calls_nothing_mutating(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    if state != "create":
        run(alb_client(pool_id), capsys)
    args = {
        "create": alb_client(pool_id),
        "update": alb_client(pool_id, callback_urls=["https://other.example.com/oauth2/idpresponse"]),
        "delete": {"user_pool_id": pool_id, "name": NAME, "state": "absent"},
    }[state]
    calls = record_calls(monkeypatch)

    result = run(args, capsys, check_mode=True)

    assert result["changed"] is True
    assert mutating(calls) == []


def test_diff_shows_the_settings_before_and_after(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(alb_client(pool_id), capsys)

    result = run(
        alb_client(pool_id, access_token_validity=2, token_validity_units={"access_token": "hours"}), capsys, diff=True
    )

    before, after = result["diff"]["before"], result["diff"]["after"]
    assert before["access_token_validity"] is None and after["access_token_validity"] == 2
    assert before["token_validity_units"] == {"access_token": None, "id_token": None, "refresh_token": None}
    assert after["token_validity_units"] == {"access_token": "hours", "id_token": None, "refresh_token": None}
    assert before["callback_urls"] == after["callback_urls"] == [CALLBACK]


def test_an_aws_error_becomes_a_failed_result_that_says_what_failed(
    cognito: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(alb_client("us-east-1_missing"), capsys)

    assert result["failed"] is True
    assert result["msg"].startswith("Failed to list the app clients of user pool us-east-1_missing: ")
    assert "ResourceNotFoundException" in result["msg"]


# --- against the Stubber: what real AWS answers -----------------------------------------

POOL_ID = "us-east-1_AbCdEfGhI"
CLIENT_ID = "1example23456789abcdefghij"
SECRET = "stubbed-secret-0123456789abcdefghijklmnopqrstuvwxyz"  # noqa: S105 -- a made-up secret to look for
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
# The client as real AWS describes it after CreateUserPoolClient with alb_client()'s settings:
# AWS fills in token validities and units, revocation and session settings.
AWS_CLIENT: dict[str, Any] = {
    "UserPoolId": POOL_ID,
    "ClientName": NAME,
    "ClientId": CLIENT_ID,
    "ClientSecret": SECRET,
    "LastModifiedDate": NOW,
    "CreationDate": NOW,
    "RefreshTokenValidity": 30,
    "AccessTokenValidity": 60,
    "IdTokenValidity": 60,
    "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
    "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
    "SupportedIdentityProviders": ["COGNITO"],
    "CallbackURLs": [CALLBACK],
    "LogoutURLs": ["https://staging.example.com/"],
    "AllowedOAuthFlows": ["code"],
    "AllowedOAuthScopes": ["email", "openid", "profile"],
    "AllowedOAuthFlowsUserPoolClient": True,
    "PreventUserExistenceErrors": "ENABLED",
    "EnableTokenRevocation": True,
    "EnablePropagateAdditionalUserContextData": False,
    "AuthSessionValidity": 3,
}


def queue_read(stubber: Any) -> None:
    stubber.add_response(
        "list_user_pool_clients",
        {"UserPoolClients": [{"ClientId": CLIENT_ID, "UserPoolId": POOL_ID, "ClientName": NAME}]},
    )
    stubber.add_response(
        "describe_user_pool_client", {"UserPoolClient": AWS_CLIENT}, {"UserPoolId": POOL_ID, "ClientId": CLIENT_ID}
    )


def test_what_aws_fills_in_does_not_count_as_a_change(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stub_cognito(monkeypatch)
    queue_read(stubber)

    result = run(alb_client(POOL_ID), capsys, diff=True)

    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    assert SECRET not in json.dumps(without_invocation(result))
    stubber.assert_no_pending_responses()


def test_an_update_keeps_what_aws_filled_in(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stub_cognito(monkeypatch)
    queue_read(stubber)
    expected = {
        key: value
        for key, value in AWS_CLIENT.items()
        if key not in ("ClientSecret", "LastModifiedDate", "CreationDate")
    }
    expected["AccessTokenValidity"] = 5
    stubber.add_response(
        "update_user_pool_client", {"UserPoolClient": {**AWS_CLIENT, "AccessTokenValidity": 5}}, expected
    )

    result = run(alb_client(POOL_ID, access_token_validity=5), capsys)

    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is True
    assert result["user_pool_client"]["access_token_validity"] == 5
    assert SECRET not in json.dumps(without_invocation(result))
    stubber.assert_no_pending_responses()
