"""cognito_user_pool_domain against moto, and against botocore's Stubber for what real AWS describes."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import run_module
from test_cognito_common import cognito, mutating, pool_id, record_calls, stub_cognito  # noqa: F401 - pytest fixtures shared by the Cognito tests

PREFIX = "webstack-staging"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-1111-1111-1111-111111111111"
OTHER_CERT = "arn:aws:acm:us-east-1:123456789012:certificate/22222222-2222-2222-2222-222222222222"


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: bool) -> dict[str, Any]:
    """Run the module; flags: check_mode, diff."""
    extra = {f"_ansible_{flag}": value for flag, value in flags.items()}
    return run_module("cognito_user_pool_domain", {**args, **extra}, capsys)


# --- against moto ------------------------------------------------------------------------


def test_create_binds_the_prefix_domain_to_the_pool(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run({"user_pool_id": pool_id, "domain": PREFIX}, capsys)

    assert result["changed"] is True
    assert result["user_pool_domain"]["domain"] == PREFIX
    assert result["user_pool_domain"]["user_pool_id"] == pool_id
    assert cognito.describe_user_pool_domain(Domain=PREFIX)["DomainDescription"]["UserPoolId"] == pool_id


def test_rerun_reports_no_change_and_calls_nothing_mutating(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run({"user_pool_id": pool_id, "domain": PREFIX}, capsys)
    calls = record_calls(monkeypatch)

    result = run({"user_pool_id": pool_id, "domain": PREFIX}, capsys)

    assert result["changed"] is False
    assert mutating(calls) == []


def test_a_domain_of_another_pool_fails_clearly(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = cognito.create_user_pool(PoolName="other")["UserPool"]["Id"]
    cognito.create_user_pool_domain(UserPoolId=other, Domain=PREFIX)
    calls = record_calls(monkeypatch)

    present = run({"user_pool_id": pool_id, "domain": PREFIX}, capsys)
    absent = run({"user_pool_id": pool_id, "domain": PREFIX, "state": "absent"}, capsys)

    for result in (present, absent):
        assert result["failed"] is True
        assert result["msg"].startswith(f"Domain {PREFIX} belongs to user pool {other}, not {pool_id}")
    assert mutating(calls) == []


def test_a_pool_with_another_prefix_domain_fails_clearly(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run({"user_pool_id": pool_id, "domain": PREFIX}, capsys)
    calls = record_calls(monkeypatch)

    result = run({"user_pool_id": pool_id, "domain": "webstack-renamed"}, capsys)

    assert result["failed"] is True
    assert f"already has the prefix domain {PREFIX}" in result["msg"]
    assert mutating(calls) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"domain": "auth.example.com"}, "is not a valid prefix"),
        ({"domain": "Bad_Prefix"}, "is not a valid prefix"),
        ({"domain": PREFIX, "certificate_arn": CERT}, "certificate_arn is for a custom domain"),
    ],
    ids=["host-name-without-certificate", "invalid-prefix", "prefix-with-certificate"],
)
def test_a_domain_aws_would_refuse_fails_before_calling_it(
    cognito: Any,
    pool_id: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: dict[str, Any],
    message: str,
) -> None:
    calls = record_calls(monkeypatch)

    result = run({"user_pool_id": pool_id, **args}, capsys)

    assert result["failed"] is True
    assert message in result["msg"]
    assert mutating(calls) == []


def test_delete_removes_the_domain(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run({"user_pool_id": pool_id, "domain": PREFIX}, capsys)
    calls = record_calls(monkeypatch)

    result = run({"user_pool_id": pool_id, "domain": PREFIX, "state": "absent"}, capsys)

    assert result["changed"] is True
    assert mutating(calls) == ["DeleteUserPoolDomain"]
    assert cognito.describe_user_pool_domain(Domain=PREFIX)["DomainDescription"] == {}


def test_delete_when_absent_is_a_no_op(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = record_calls(monkeypatch)

    result = run({"user_pool_id": pool_id, "domain": PREFIX, "state": "absent"}, capsys)

    assert result["changed"] is False
    assert mutating(calls) == []


@pytest.mark.parametrize("state", ["present", "absent"])
def test_check_mode_reports_the_change_and_calls_nothing_mutating(
    cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    if state == "absent":
        run({"user_pool_id": pool_id, "domain": PREFIX}, capsys)
    calls = record_calls(monkeypatch)

    result = run({"user_pool_id": pool_id, "domain": PREFIX, "state": state}, capsys, check_mode=True)

    assert result["changed"] is True
    assert mutating(calls) == []
    exists = bool(cognito.describe_user_pool_domain(Domain=PREFIX)["DomainDescription"])
    assert exists is (state == "absent")


def test_diff_shows_the_domain_before_and_after(cognito: Any, pool_id: str, capsys: pytest.CaptureFixture[str]) -> None:
    created = run({"user_pool_id": pool_id, "domain": PREFIX}, capsys, diff=True)
    deleted = run({"user_pool_id": pool_id, "domain": PREFIX, "state": "absent"}, capsys, diff=True)

    view = {"user_pool_id": pool_id, "domain": PREFIX, "certificate_arn": None}
    assert created["diff"] == {"before": {}, "after": view}
    assert deleted["diff"] == {"before": view, "after": {}}


def test_a_missing_pool_fails_clearly(cognito: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = run({"user_pool_id": "us-east-1_missing", "domain": PREFIX}, capsys)

    assert result["failed"] is True
    assert result["msg"] == "User pool us-east-1_missing does not exist"


# --- against the Stubber: what real AWS answers -----------------------------------------

POOL_ID = "us-east-1_AbCdEfGhI"
CUSTOM = "auth.example.com"


def custom_domain(certificate_arn: str) -> dict[str, Any]:
    """A custom domain as real AWS describes it (moto leaves out CustomDomainConfig)."""
    return {
        "DomainDescription": {
            "UserPoolId": POOL_ID,
            "AWSAccountId": "123456789012",
            "Domain": CUSTOM,
            "S3Bucket": "aws-cognito-prod-iad-assets",
            "CloudFrontDistribution": "d111111abcdef8.cloudfront.net",
            "Version": "20260101000000",
            "Status": "ACTIVE",
            "CustomDomainConfig": {"CertificateArn": certificate_arn},
            "ManagedLoginVersion": 1,
        }
    }


def test_the_same_certificate_is_a_no_op(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stub_cognito(monkeypatch)
    stubber.add_response("describe_user_pool_domain", custom_domain(CERT), {"Domain": CUSTOM})

    result = run({"user_pool_id": POOL_ID, "domain": CUSTOM, "certificate_arn": CERT}, capsys)

    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    assert result["user_pool_domain"]["cloud_front_distribution"] == "d111111abcdef8.cloudfront.net"
    stubber.assert_no_pending_responses()


def test_another_certificate_only_calls_update_user_pool_domain(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stub_cognito(monkeypatch)
    stubber.add_response("describe_user_pool_domain", custom_domain(CERT), {"Domain": CUSTOM})
    expected = {"UserPoolId": POOL_ID, "Domain": CUSTOM, "CustomDomainConfig": {"CertificateArn": OTHER_CERT}}
    stubber.add_response("update_user_pool_domain", {"CloudFrontDomain": "d111111abcdef8.cloudfront.net"}, expected)
    stubber.add_response("describe_user_pool_domain", custom_domain(OTHER_CERT), {"Domain": CUSTOM})

    result = run({"user_pool_id": POOL_ID, "domain": CUSTOM, "certificate_arn": OTHER_CERT}, capsys, diff=True)

    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is True
    assert result["diff"]["before"]["certificate_arn"] == CERT
    assert result["diff"]["after"]["certificate_arn"] == OTHER_CERT
    assert result["user_pool_domain"]["custom_domain_config"] == {"certificate_arn": OTHER_CERT}
    stubber.assert_no_pending_responses()


def test_an_aws_error_on_describe_becomes_a_failed_result(
    aws_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = stub_cognito(monkeypatch)
    stubber.add_client_error("describe_user_pool_domain", "InternalErrorException", "Something broke")

    result = run({"user_pool_id": POOL_ID, "domain": PREFIX}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to describe domain {PREFIX}: ")
    assert "InternalErrorException" in result["msg"]
