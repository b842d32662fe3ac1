"""cognito_user_pool against moto, and against botocore's Stubber for what real AWS describes."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from conftest import run_module
from test_cognito_common import (
    cognito,  # noqa: F401 - pytest fixtures shared by the Cognito tests
    mutating,
    params_of,
    record_calls,
    stub_cognito,
)

NAME = "webstack-staging"
ARGS: dict[str, Any] = {
    "name": NAME,
    "password_policy": {"min_length": 12},
    "mfa_configuration": "OPTIONAL",
    "deletion_protection": "INACTIVE",
    "auto_verified_attributes": ["email"],
    "admin_create_user_only": True,
    "account_recovery": ["verified_email"],
    "tags": {"Environment": "staging"},
}
# moto's UpdateUserPool drops UsernameAttributes (AWS keeps them: they are fixed at creation),
# so the tests that update a moto pool leave them out.


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: bool) -> dict[str, Any]:
    """Run the module; flags: check_mode, diff."""
    extra = {f"_ansible_{flag}": value for flag, value in flags.items()}
    return run_module("cognito_user_pool", {**args, **extra}, capsys)


def pool_id_of(cognito: Any) -> str:
    return next(pool["Id"] for pool in cognito.list_user_pools(MaxResults=60)["UserPools"] if pool["Name"] == NAME)


# --- against moto ------------------------------------------------------------------------


def test_create_makes_the_pool_with_the_requested_settings(cognito: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = run({**ARGS, "username_attributes": ["email"]}, capsys)

    assert result["changed"] is True
    assert result["name"] == NAME
    assert result["id"] == pool_id_of(cognito)
    assert result["arn"].endswith(f"userpool/{result['id']}")
    pool = cognito.describe_user_pool(UserPoolId=result["id"])["UserPool"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert pool["Policies"]["PasswordPolicy"]["RequireSymbols"] is True  # AWS's default kept
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"] == [{"Priority": 1, "Name": "verified_email"}]
    assert pool["UserPoolTags"] == {"Environment": "staging"}
    mfa = cognito.get_user_pool_mfa_config(UserPoolId=result["id"])
    assert mfa["MfaConfiguration"] == "OPTIONAL"
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert result["user_pool"]["tags"] == {"Environment": "staging"}
    assert result["user_pool"]["software_token_mfa_enabled"] is True


def test_rerun_reports_no_change_and_calls_nothing_mutating(
    cognito: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(ARGS, capsys)
    calls = record_calls(monkeypatch)

    result = run(ARGS, capsys)

    assert result["changed"] is False
    assert mutating(calls) == []


def test_changing_the_password_policy_only_calls_update_user_pool(
    cognito: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(ARGS, capsys)
    calls = record_calls(monkeypatch)

    result = run({**ARGS, "password_policy": {"min_length": 14}}, capsys)

    assert result["changed"] is True
    assert mutating(calls) == ["UpdateUserPool"]
    request = params_of(calls, "UpdateUserPool")
    # The whole configuration goes with it, or UpdateUserPool would reset the rest.
    assert request["Policies"]["PasswordPolicy"]["MinimumLength"] == 14
    assert request["UserPoolTags"] == {"Environment": "staging"}
    assert request["AutoVerifiedAttributes"] == ["email"]
    assert request["MfaConfiguration"] == "OPTIONAL"
    assert request["AdminCreateUserConfig"] == {
        **request["AdminCreateUserConfig"],
        "AllowAdminCreateUserOnly": True,
    }
    assert "UnusedAccountValidityDays" not in request["AdminCreateUserConfig"]
    assert result["user_pool"]["policies"]["password_policy"]["minimum_length"] == 14
    assert run({**ARGS, "password_policy": {"min_length": 14}}, capsys)["changed"] is False


def test_changing_mfa_only_calls_set_user_pool_mfa_config(
    cognito: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(ARGS, capsys)
    calls = record_calls(monkeypatch)

    result = run({**ARGS, "mfa_configuration": "ON"}, capsys)

    assert result["changed"] is True
    assert mutating(calls) == ["SetUserPoolMfaConfig"]
    assert params_of(calls, "SetUserPoolMfaConfig")["MfaConfiguration"] == "ON"
    assert cognito.get_user_pool_mfa_config(UserPoolId=result["id"])["MfaConfiguration"] == "ON"


def test_tags_are_purged_or_merged_as_asked(cognito: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run(ARGS, capsys)

    merged = run({**ARGS, "tags": {"Owner": "web"}, "purge_tags": False}, capsys)
    purged = run({**ARGS, "tags": {"Owner": "web"}}, capsys)

    assert merged["changed"] and merged["user_pool"]["tags"] == {"Environment": "staging", "Owner": "web"}
    assert purged["changed"] and purged["user_pool"]["tags"] == {"Owner": "web"}
    assert cognito.describe_user_pool(UserPoolId=purged["id"])["UserPool"]["UserPoolTags"] == {"Owner": "web"}


def test_username_attributes_cannot_change(cognito: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run({**ARGS, "username_attributes": ["email"]}, capsys)

    result = run({**ARGS, "username_attributes": ["phone_number"]}, capsys)

    assert result["failed"] is True
    assert "username_attributes cannot change" in result["msg"]
    assert "['email']" in result["msg"] and "['phone_number']" in result["msg"]


def test_mfa_without_a_method_fails_before_calling_aws(
    cognito: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = record_calls(monkeypatch)

    result = run({**ARGS, "mfa_configuration": "ON", "software_token_mfa_enabled": False}, capsys)

    assert result["failed"] is True
    assert "mfa_configuration ON needs an MFA method" in result["msg"]
    assert mutating(calls) == []


def test_delete_removes_the_pool(
    cognito: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(ARGS, capsys)
    calls = record_calls(monkeypatch)

    result = run({"name": NAME, "state": "absent"}, capsys)

    assert result["changed"] is True
    assert mutating(calls) == ["DeleteUserPool"]
    assert cognito.list_user_pools(MaxResults=60)["UserPools"] == []


def test_delete_when_absent_is_a_no_op(
    cognito: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = record_calls(monkeypatch)

    result = run({"name": NAME, "state": "absent"}, capsys)

    assert result["changed"] is False
    assert result["user_pool"] == {}
    assert mutating(calls) == []


def test_deletion_protection_blocks_delete_unless_lifted(
    cognito: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run({**ARGS, "deletion_protection": "ACTIVE"}, capsys)
    calls = record_calls(monkeypatch)

    refused = run({"name": NAME, "state": "absent"}, capsys)
    refused_calls = mutating(calls)
    forced = run({"name": NAME, "state": "absent", "force_deletion_protection_off": True}, capsys)

    assert refused["failed"] is True
    assert "deletion protection ACTIVE" in refused["msg"]
    assert "force_deletion_protection_off: true" in refused["msg"]
    assert refused_calls == []
    assert forced["changed"] is True
    assert mutating(calls) == ["UpdateUserPool", "DeleteUserPool"]
    assert params_of(calls, "UpdateUserPool")["DeletionProtection"] == "INACTIVE"
    assert cognito.list_user_pools(MaxResults=60)["UserPools"] == []


def test_a_pool_with_a_domain_is_not_deleted(cognito: Any, capsys: pytest.CaptureFixture[str]) -> None:
    pool_id = run(ARGS, capsys)["id"]
    cognito.create_user_pool_domain(UserPoolId=pool_id, Domain="webstack-staging")

    result = run({"name": NAME, "state": "absent"}, capsys)

    assert result["failed"] is True
    assert "still has the domain(s) webstack-staging" in result["msg"]
    assert pool_id_of(cognito) == pool_id


@pytest.mark.parametrize(
    "args",
    [ARGS, {**ARGS, "password_policy": {"min_length": 20}}, {"name": NAME, "state": "absent"}],
    ids=["create", "update", "delete"],
)
def test_check_mode_reports_the_change_and_calls_nothing_mutating(
    cognito: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: dict[str, Any]
) -> None:
    if args is not ARGS:
        run(ARGS, capsys)
    before = copy.deepcopy(cognito.list_user_pools(MaxResults=60)["UserPools"])
    calls = record_calls(monkeypatch)

    result = run(args, capsys, check_mode=True)

    assert result["changed"] is True
    assert mutating(calls) == []
    assert [pool["Id"] for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]] == [p["Id"] for p in before]


def test_diff_shows_the_settings_before_and_after(cognito: Any, capsys: pytest.CaptureFixture[str]) -> None:
    created = run(ARGS, capsys, diff=True)
    updated = run({**ARGS, "admin_create_user_only": False}, capsys, diff=True)
    deleted = run({"name": NAME, "state": "absent"}, capsys, diff=True)

    assert created["diff"]["before"] == {}
    assert created["diff"]["after"]["password_policy"]["min_length"] == 12
    assert updated["diff"]["before"]["admin_create_user_only"] is True
    assert updated["diff"]["after"]["admin_create_user_only"] is False
    assert {k: v for k, v in updated["diff"]["after"].items() if k != "admin_create_user_only"} == {
        k: v for k, v in updated["diff"]["before"].items() if k != "admin_create_user_only"
    }
    assert deleted["diff"]["before"]["tags"] == {"Environment": "staging"}
    assert deleted["diff"]["after"] == {}


# --- against the Stubber: what real AWS answers -----------------------------------------

POOL_ID = "us-east-1_AbCdEfGhI"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
# A pool as real AWS describes it, with the settings it fills in by itself and some the
# module does not manage (a Lambda trigger, message templates).
AWS_POOL: dict[str, Any] = {
    "Id": POOL_ID,
    "Name": NAME,
    "Arn": f"arn:aws:cognito-idp:us-east-1:123456789012:userpool/{POOL_ID}",
    "Policies": {
        "PasswordPolicy": {
            "MinimumLength": 12,
            "RequireUppercase": True,
            "RequireLowercase": True,
            "RequireNumbers": True,
            "RequireSymbols": True,
            "PasswordHistorySize": 0,
            "TemporaryPasswordValidityDays": 7,
        },
        "SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD"]},
    },
    "DeletionProtection": "INACTIVE",
    "LambdaConfig": {"PreSignUp": "arn:aws:lambda:us-east-1:123456789012:function:pre-sign-up"},
    "LastModifiedDate": NOW,
    "CreationDate": NOW,
    "SchemaAttributes": [{"Name": "sub", "AttributeDataType": "String", "Mutable": False, "Required": True}],
    "AutoVerifiedAttributes": ["email"],
    "UsernameAttributes": ["email"],
    "SmsVerificationMessage": "Your code is {####}",
    "EmailVerificationMessage": "Your code is {####}",
    "EmailVerificationSubject": "Your code",
    "VerificationMessageTemplate": {
        "SmsMessage": "Your code is {####}",
        "EmailMessage": "Your code is {####}",
        "EmailSubject": "Your code",
        "DefaultEmailOption": "CONFIRM_WITH_CODE",
    },
    "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": []},
    "MfaConfiguration": "OPTIONAL",
    "EstimatedNumberOfUsers": 3,
    "EmailConfiguration": {"EmailSendingAccount": "COGNITO_DEFAULT"},
    "UserPoolTags": {"Environment": "staging"},
    "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True, "UnusedAccountValidityDays": 7},
    "UsernameConfiguration": {"CaseSensitive": False},
    "AccountRecoverySetting": {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]},
    "UserPoolTier": "ESSENTIALS",
}
AWS_MFA = {"MfaConfiguration": "OPTIONAL", "SoftwareTokenMfaConfiguration": {"Enabled": True}}


def queue_read(stubber: Any) -> None:
    stubber.add_response("list_user_pools", {"UserPools": [{"Id": POOL_ID, "Name": NAME}]})
    stubber.add_response("describe_user_pool", {"UserPool": AWS_POOL}, {"UserPoolId": POOL_ID})
    stubber.add_response("get_user_pool_mfa_config", AWS_MFA, {"UserPoolId": POOL_ID})


def test_what_aws_fills_in_does_not_count_as_a_change(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stub_cognito(monkeypatch)
    queue_read(stubber)

    result = run({**ARGS, "username_attributes": ["email"]}, capsys)

    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    stubber.assert_no_pending_responses()


def test_an_update_carries_the_settings_the_module_does_not_manage(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stub_cognito(monkeypatch)
    queue_read(stubber)
    policies = copy.deepcopy(AWS_POOL["Policies"])
    policies["PasswordPolicy"]["MinimumLength"] = 16
    expected = {
        "UserPoolId": POOL_ID,
        "PoolName": NAME,
        "Policies": policies,
        "DeletionProtection": "INACTIVE",
        "LambdaConfig": AWS_POOL["LambdaConfig"],
        "AutoVerifiedAttributes": ["email"],
        "VerificationMessageTemplate": AWS_POOL["VerificationMessageTemplate"],
        "UserAttributeUpdateSettings": AWS_POOL["UserAttributeUpdateSettings"],
        "MfaConfiguration": "OPTIONAL",
        "EmailConfiguration": AWS_POOL["EmailConfiguration"],
        "UserPoolTags": {"Environment": "staging"},
        # UnusedAccountValidityDays is left out: AWS refuses it next to TemporaryPasswordValidityDays.
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
        "AccountRecoverySetting": AWS_POOL["AccountRecoverySetting"],
        "UserPoolTier": "ESSENTIALS",
    }
    stubber.add_response("update_user_pool", {}, expected)
    stubber.add_response("describe_user_pool", {"UserPool": AWS_POOL}, {"UserPoolId": POOL_ID})
    stubber.add_response("get_user_pool_mfa_config", AWS_MFA, {"UserPoolId": POOL_ID})

    result = run({**ARGS, "password_policy": {"min_length": 16}}, capsys)

    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is True
    stubber.assert_no_pending_responses()


def test_an_aws_error_becomes_a_failed_result_that_says_what_failed(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stub_cognito(monkeypatch)
    stubber.add_client_error("list_user_pools", "AccessDeniedException", "User is not authorized")

    result = run(ARGS, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to list user pools looking for {NAME}: ")
    assert "AccessDeniedException" in result["msg"] and "User is not authorized" in result["msg"]
    assert result["error"]["code"] == "AccessDeniedException"
