"""cognito_identity_provider against moto, and against botocore's Stubber for what real AWS describes."""

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

SECRET = "oidc-client-secret-do-not-print"  # noqa: S105 -- a made-up secret to look for
NEW_SECRET = "rotated-client-secret-do-not-print"  # noqa: S105 -- a made-up secret to look for
ISSUER = "https://login.example.com"


def oidc(pool_id: str, **details: Any) -> dict[str, Any]:
    return {
        "user_pool_id": pool_id,
        "provider_name": "corp-oidc",
        "provider_type": "OIDC",
        "provider_details": {
            "client_id": "webstack-staging",
            "client_secret": SECRET,
            "attributes_request_method": "GET",
            "oidc_issuer": ISSUER,
            "authorize_scopes": "openid email",
            **details,
        },
        "attribute_mapping": {"email": "email"},
    }


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: bool) -> dict[str, Any]:
    """Run the module; flags: check_mode, diff."""
    extra = {f"_ansible_{flag}": value for flag, value in flags.items()}
    return run_module("cognito_identity_provider", {**args, **extra}, capsys)


def absent(pool_id: str) -> dict[str, Any]:
    return {"user_pool_id": pool_id, "provider_name": "corp-oidc", "state": "absent"}


# --- against moto ------------------------------------------------------------------------


def test_create_makes_the_provider(cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(oidc(pool_id), capsys)

    assert result["changed"] is True
    provider = cognito.describe_identity_provider(UserPoolId=pool_id, ProviderName="corp-oidc")["IdentityProvider"]
    assert provider["ProviderType"] == "OIDC"
    assert provider["ProviderDetails"]["oidc_issuer"] == ISSUER
    assert provider["ProviderDetails"]["client_secret"] == SECRET
    assert provider["AttributeMapping"] == {"email": "email"}
    assert result["identity_provider"]["provider_details"]["oidc_issuer"] == ISSUER
    assert "client_secret" not in result["identity_provider"]["provider_details"]


def test_saml_booleans_are_stored_as_aws_strings_and_rerun_is_a_no_op(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = {
        "user_pool_id": pool_id,
        "provider_name": "corp-saml",
        "provider_type": "SAML",
        "provider_details": {"MetadataURL": "https://idp.example.com/metadata", "IDPSignout": True},
        "idp_identifiers": ["example.com"],
    }

    created = run(args, capsys)
    rerun = run(args, capsys)

    assert created["changed"] is True
    provider = cognito.describe_identity_provider(UserPoolId=pool_id, ProviderName="corp-saml")["IdentityProvider"]
    assert provider["ProviderDetails"]["IDPSignout"] == "true"
    assert rerun["changed"] is False


def test_rerun_reports_no_change_and_calls_nothing_mutating(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(oidc(pool_id), capsys)
    calls = record_calls(monkeypatch)

    result = run(oidc(pool_id), capsys)

    assert result["changed"] is False
    assert mutating(calls) == []


def test_a_changed_detail_only_calls_update_identity_provider_with_all_details(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(oidc(pool_id), capsys)
    calls = record_calls(monkeypatch)

    result = run(oidc(pool_id, authorize_scopes="openid email profile"), capsys)

    assert result["changed"] is True
    assert mutating(calls) == ["UpdateIdentityProvider"]
    details = params_of(calls, "UpdateIdentityProvider")["ProviderDetails"]
    assert details["authorize_scopes"] == "openid email profile"
    assert details["client_id"] == "webstack-staging"
    assert details["client_secret"] == SECRET
    assert run(oidc(pool_id, authorize_scopes="openid email profile"), capsys)["changed"] is False


def test_provider_type_cannot_change(cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(oidc(pool_id), capsys)

    result = run({**oidc(pool_id), "provider_type": "Google"}, capsys)

    assert result["failed"] is True
    assert "provider_type cannot change: identity provider corp-oidc is OIDC, the task asks for Google" in result["msg"]


def secret_in_diff(result: dict[str, Any], side: str) -> str:
    """What the diff shows in place of the client secret."""
    return result["diff"][side]["provider_details"]["client_secret"]


def test_secrets_never_reach_the_result_or_the_diff(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run(oidc(pool_id), capsys, diff=True)
    unchanged = run(oidc(pool_id), capsys, diff=True)
    rotated = run(oidc(pool_id, client_secret=NEW_SECRET), capsys, diff=True)
    deleted = run(absent(pool_id), capsys, diff=True)

    for result in (created, unchanged, rotated, deleted):
        text = json.dumps(result)
        assert SECRET not in text
        assert NEW_SECRET not in text
    assert unchanged["changed"] is False
    assert secret_in_diff(unchanged, "after") == "<hidden>"
    assert rotated["changed"] is True
    assert secret_in_diff(rotated, "before") == "<hidden>"
    assert secret_in_diff(rotated, "after") == "<hidden> (changed)"
    assert secret_in_diff(deleted, "before") == "<hidden>"


def test_delete_removes_the_provider(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(oidc(pool_id), capsys)
    calls = record_calls(monkeypatch)

    result = run(absent(pool_id), capsys)

    assert result["changed"] is True
    assert mutating(calls) == ["DeleteIdentityProvider"]
    assert cognito.list_identity_providers(UserPoolId=pool_id, MaxResults=60)["Providers"] == []


@pytest.mark.parametrize("pool_exists", [True, False], ids=["provider-absent", "pool-absent"])
def test_delete_when_absent_is_a_no_op(
    cognito: Any,
    pool_id: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    pool_exists: bool,
) -> None:
    calls = record_calls(monkeypatch)

    result = run(absent(pool_id if pool_exists else "us-east-1_gone"), capsys)

    assert result["changed"] is False
    assert mutating(calls) == []


@pytest.mark.parametrize("state", ["create", "update", "delete"])
def test_check_mode_reports_the_change_and_calls_nothing_mutating(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    if state != "create":
        run(oidc(pool_id), capsys)
    args = {
        "create": oidc(pool_id),
        "update": oidc(pool_id, authorize_scopes="openid"),
        "delete": absent(pool_id),
    }[state]
    calls = record_calls(monkeypatch)

    result = run(args, capsys, check_mode=True)

    assert result["changed"] is True
    assert mutating(calls) == []


def test_diff_shows_the_settings_before_and_after(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(oidc(pool_id), capsys)

    result = run({**oidc(pool_id), "attribute_mapping": {"email": "mail"}}, capsys, diff=True)

    assert result["diff"]["before"]["attribute_mapping"] == {"email": "email"}
    assert result["diff"]["after"]["attribute_mapping"] == {"email": "mail"}
    assert result["diff"]["before"]["provider_details"]["oidc_issuer"] == ISSUER


def test_a_missing_pool_fails_clearly(cognito: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(oidc("us-east-1_missing"), capsys)

    assert result["failed"] is True
    assert result["msg"] == "User pool us-east-1_missing does not exist"


# --- against the Stubber: what real AWS answers -----------------------------------------

POOL_ID = "us-east-1_AbCdEfGhI"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
# An OIDC provider as real AWS describes it: the endpoints discovered from the issuer, and
# the username mapping AWS adds, next to what oidc() set.
AWS_OIDC = {
    "UserPoolId": POOL_ID,
    "ProviderName": "corp-oidc",
    "ProviderType": "OIDC",
    "ProviderDetails": {
        "attributes_request_method": "GET",
        "attributes_url": f"{ISSUER}/userinfo",
        "attributes_url_add_attributes": "false",
        "authorize_scopes": "openid email",
        "authorize_url": f"{ISSUER}/authorize",
        "client_id": "webstack-staging",
        "client_secret": SECRET,
        "jwks_uri": f"{ISSUER}/.well-known/jwks.json",
        "oidc_issuer": ISSUER,
        "token_url": f"{ISSUER}/token",
    },
    "AttributeMapping": {"email": "email", "username": "sub"},
    "IdpIdentifiers": [],
    "LastModifiedDate": NOW,
    "CreationDate": NOW,
}


def queue_read(stubber: Any) -> None:
    stubber.add_response("describe_user_pool", {"UserPool": {"Id": POOL_ID, "Name": "webstack-staging"}})
    stubber.add_response("describe_identity_provider", {"IdentityProvider": AWS_OIDC})


def test_what_aws_fills_in_does_not_count_as_a_change(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stub_cognito(monkeypatch)
    queue_read(stubber)

    result = run(oidc(POOL_ID), capsys)

    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    assert result["identity_provider"]["provider_details"]["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert SECRET not in json.dumps(without_invocation(result))
    stubber.assert_no_pending_responses()


def test_an_update_lets_aws_derive_its_endpoints_again(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stub_cognito(monkeypatch)
    queue_read(stubber)
    new_issuer = "https://login2.example.com"
    expected = {
        "UserPoolId": POOL_ID,
        "ProviderName": "corp-oidc",
        "ProviderDetails": {
            "attributes_request_method": "GET",
            "authorize_scopes": "openid email",
            "client_id": "webstack-staging",
            "client_secret": SECRET,
            "oidc_issuer": new_issuer,
        },
        # AWS's username mapping is kept.
        "AttributeMapping": {"email": "email", "username": "sub"},
    }
    answer = {**AWS_OIDC, "ProviderDetails": {**AWS_OIDC["ProviderDetails"], "oidc_issuer": new_issuer}}
    stubber.add_response("update_identity_provider", {"IdentityProvider": answer}, expected)

    result = run(oidc(POOL_ID, oidc_issuer=new_issuer), capsys)

    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is True
    assert SECRET not in json.dumps(without_invocation(result))
    stubber.assert_no_pending_responses()


def test_an_aws_error_becomes_a_failed_result_that_says_what_failed(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stub_cognito(monkeypatch)
    stubber.add_response("describe_user_pool", {"UserPool": {"Id": POOL_ID, "Name": "webstack-staging"}})
    stubber.add_response("describe_identity_provider", {"IdentityProvider": AWS_OIDC})
    stubber.add_client_error(
        "update_identity_provider", "InvalidParameterException", "Unable to contact the OIDC issuer"
    )

    result = run(oidc(POOL_ID, authorize_scopes="openid"), capsys)

    assert result["failed"] is True
    assert result["msg"].startswith("Failed to update identity provider corp-oidc: ")
    assert "Unable to contact the OIDC issuer" in result["msg"]
    assert SECRET not in json.dumps(result)
