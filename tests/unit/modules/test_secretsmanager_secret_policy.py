"""Unit tests of plugins/modules/secretsmanager_secret_policy.py.

moto 5.2.5 stores the policy text it is sent and answers GetResourcePolicy with it unchanged (and
ignores BlockPublicPolicy), so the lifecycle runs against moto; AWS's reformatted answer (a list of
one element as the element, spaces around colons) runs against botocore's Stubber.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import Calls, run_module, spy_module_clients, stubbed_module_client
from moto import mock_aws

MODULE = "secretsmanager_secret_policy"
NAME = "webstack-prod/mysql/master"
READERS = ["arn:aws:iam::123456789012:role/webstack-prod-*-instance", "arn:aws:iam::123456789012:user/deployer"]
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyReadingToOthers",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": "*",
            "Condition": {"StringNotLike": {"aws:PrincipalArn": READERS}},
        }
    ],
}


@pytest.fixture
def api_calls() -> Calls:
    return []


@pytest.fixture
def secrets(aws_env: None, api_calls: Calls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    spy_module_clients(monkeypatch, api_calls)
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name=NAME, SecretString="{}")
        yield client


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    return run_module(MODULE, {**args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def writes(calls: Calls) -> list[str]:
    return [name for name, _ in calls if not name.startswith("Get")]


def test_put_then_rerun_then_absent(secrets: Any, api_calls: Calls, capsys: Any) -> None:
    check = run({"secret_id": NAME, "policy": POLICY}, capsys, check_mode=True, diff=True)
    assert check["changed"] is True
    assert check["diff"] == {"before": {}, "after": POLICY}
    assert writes(api_calls) == []

    put_result = run({"secret_id": NAME, "policy": POLICY}, capsys)
    assert put_result["changed"] is True
    held = secrets.get_resource_policy(SecretId=NAME)["ResourcePolicy"]
    assert json.loads(held) == POLICY
    assert put_result["policy_text"] == held, "the text as the secret holds it, read back"
    put = [params for name, params in api_calls if name == "PutResourcePolicy"]
    assert put[0]["BlockPublicPolicy"] is True

    api_calls.clear()
    reordered = {**POLICY, "Statement": [{**POLICY["Statement"][0], "Action": "secretsmanager:GetSecretValue"}]}
    assert run({"secret_id": NAME, "policy": reordered}, capsys)["changed"] is False
    assert writes(api_calls) == []

    assert run({"secret_id": NAME, "state": "absent"}, capsys)["changed"] is True
    assert "ResourcePolicy" not in secrets.get_resource_policy(SecretId=NAME)
    assert run({"secret_id": NAME, "state": "absent"}, capsys)["changed"] is False


def test_a_missing_secret_fails_but_check_mode_predicts(secrets: Any, capsys: Any) -> None:
    args = {"secret_id": "webstack-prod/nothing", "policy": POLICY}
    assert run(args, capsys, check_mode=True)["changed"] is True
    failed = run(args, capsys)
    assert failed["failed"] is True
    assert "does not exist" in failed["msg"]


def test_aws_reformatted_answer_is_no_change(aws_env: None, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    statement = POLICY["Statement"][0]
    # As AWS answers: its own spacing, a list of one element as the element, lists in its own order.
    aws_text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    **statement,
                    "Action": "secretsmanager:GetSecretValue",
                    "Condition": {"StringNotLike": {"aws:PrincipalArn": list(reversed(READERS))}},
                }
            ],
        },
        indent=2,
        separators=(" , ", " : "),
    )
    with stubbed_module_client(monkeypatch, "secretsmanager") as stub:
        stub.add_response(
            "get_resource_policy",
            {
                "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{NAME}-AbCdEf",
                "Name": NAME,
                "ResourcePolicy": aws_text,
            },
            {"SecretId": NAME},
        )
        result = run({"secret_id": NAME, "policy": POLICY}, capsys)
    assert result["changed"] is False
