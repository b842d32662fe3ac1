"""Unit tests of plugins/modules/wafv2_web_acl_association.py.

What moto 5.2.5 does with these calls (measured in-process): AssociateWebACL, DisassociateWebACL and
GetWebACLForResource work and accept any resource ARN (no load balancer needs to exist);
GetWebACLForResource answers without a WebACL key when nothing protects the resource. Unlike AWS,
AssociateWebACL on a resource another web ACL protects keeps the old association (GetWebACLForResource
keeps answering the old web ACL), and associating the same web ACL twice stores it twice.
ListResourcesForWebACL is not implemented.

So the lifecycle runs against moto; what only AWS answers (a missing resource, a web ACL not yet
available, a refused call) runs against botocore's Stubber.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber
from conftest import Calls, run_module
from wafv2_common import (
    api_calls,  # noqa: F401 - pytest fixtures shared by the WAFv2 tests
    mutating_calls,
    stubber,  # noqa: F401
    wafv2,  # noqa: F401
)

MODULE = "wafv2_web_acl_association"
REGION = "us-east-1"
ALB_ARN = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:loadbalancer/app/webstack-edge/50dc6c495c0c9188"
MUTATING_PREFIXES = ("Associate", "Disassociate")
VISIBILITY = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "edge"}

# --- harness ------------------------------------------------------------------------------


def mutating(calls: Calls) -> list[tuple[str, dict[str, Any]]]:
    return mutating_calls(calls, MUTATING_PREFIXES)


def web_acl(client: Any, name: str) -> str:
    summary = client.create_web_acl(
        Name=name, Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY
    )["Summary"]
    return summary["ARN"]


@pytest.fixture
def acl_arn(wafv2: Any) -> str:
    return web_acl(wafv2, "webstack-edge")


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    """Run the module; flags: check_mode, diff."""
    return run_module(MODULE, {**args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def protecting(client: Any) -> str | None:
    return client.get_web_acl_for_resource(ResourceArn=ALB_ARN).get("WebACL", {}).get("ARN")


# --- against moto -------------------------------------------------------------------------


def test_present_associates_the_web_acl(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN}, capsys)

    assert result["changed"] is True
    assert result["web_acl_arn"] == acl_arn
    assert result["resource_arn"] == ALB_ARN
    assert mutating(api_calls) == [("AssociateWebACL", {"WebACLArn": acl_arn, "ResourceArn": ALB_ARN})]
    assert protecting(wafv2) == acl_arn


def test_rerun_reports_no_change_and_calls_nothing_mutating(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN}, capsys)
    api_calls.clear()

    result = run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN}, capsys)

    assert result["changed"] is False
    assert result["web_acl_arn"] == acl_arn
    assert [name for name, _ in api_calls] == ["GetWebACLForResource"]


def test_another_web_acl_replaces_the_current_one(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN}, capsys)
    other = web_acl(wafv2, "webstack-edge-v2")
    api_calls.clear()

    result = run({"web_acl_arn": other, "resource_arn": ALB_ARN}, capsys, diff=True)

    assert result["changed"] is True
    assert mutating(api_calls) == [
        ("DisassociateWebACL", {"ResourceArn": ALB_ARN}),
        ("AssociateWebACL", {"WebACLArn": other, "ResourceArn": ALB_ARN}),
    ]
    assert result["diff"] == {
        "before": {"resource_arn": ALB_ARN, "web_acl_arn": acl_arn},
        "after": {"resource_arn": ALB_ARN, "web_acl_arn": other},
    }
    assert protecting(wafv2) == other


def test_absent_disassociates_the_named_web_acl(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN}, capsys)
    api_calls.clear()

    result = run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN, "state": "absent"}, capsys)

    assert result["changed"] is True
    assert result["web_acl_arn"] == ""
    assert mutating(api_calls) == [("DisassociateWebACL", {"ResourceArn": ALB_ARN})]
    assert protecting(wafv2) is None


def test_absent_without_a_web_acl_disassociates_whichever_protects(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN}, capsys)

    result = run({"resource_arn": ALB_ARN, "state": "absent"}, capsys)

    assert result["changed"] is True
    assert protecting(wafv2) is None


def test_absent_leaves_another_web_acl_alone(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    other = web_acl(wafv2, "someone-elses")
    wafv2.associate_web_acl(WebACLArn=other, ResourceArn=ALB_ARN)

    result = run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN, "state": "absent"}, capsys)

    assert result["changed"] is False
    assert result["web_acl_arn"] == other
    assert mutating(api_calls) == []
    assert protecting(wafv2) == other


def test_absent_when_nothing_protects_is_a_no_op(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN, "state": "absent"}, capsys)

    assert result["changed"] is False
    assert mutating(api_calls) == []


@pytest.mark.parametrize("state", ["present", "absent"])
def test_check_mode_reports_the_change_and_calls_nothing_mutating(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str], state: str
) -> None:
    if state == "absent":
        wafv2.associate_web_acl(WebACLArn=acl_arn, ResourceArn=ALB_ARN)

    result = run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN, "state": state}, capsys, check_mode=True)

    assert result["changed"] is True
    assert result["web_acl_arn"] == (acl_arn if state == "present" else "")
    assert mutating(api_calls) == []
    assert protecting(wafv2) == (None if state == "present" else acl_arn)


def test_diff_shows_the_association_before_and_after(
    wafv2: Any, acl_arn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN}, capsys, diff=True)
    removed = run({"web_acl_arn": acl_arn, "resource_arn": ALB_ARN, "state": "absent"}, capsys, diff=True)

    none = {"resource_arn": ALB_ARN, "web_acl_arn": ""}
    some = {"resource_arn": ALB_ARN, "web_acl_arn": acl_arn}
    assert created["diff"] == {"before": none, "after": some}
    assert removed["diff"] == {"before": some, "after": none}


def test_a_missing_web_acl_fails_clearly(wafv2: Any, acl_arn: str, capsys: pytest.CaptureFixture[str]) -> None:
    missing = acl_arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"

    result = run({"web_acl_arn": missing, "resource_arn": ALB_ARN}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to associate web ACL {missing} with {ALB_ARN}")
    assert result["error"]["code"] == "WAFNonexistentItemException"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"web_acl_arn": "webstack-edge"}, "is not the ARN of a regional web ACL"),
        (
            {"web_acl_arn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/0a1b2c3d"},
            "CloudFront web ACLs are set in the distribution's configuration",
        ),
        ({"resource_arn": "webstack-edge-alb"}, "is not an ARN"),
        ({"web_acl_arn": None}, "state is present but all of the following are missing: web_acl_arn"),
    ],
    ids=["name-not-arn", "cloudfront-acl", "resource-not-arn", "present-without-acl"],
)
def test_bad_arguments_fail_before_any_call(
    wafv2: Any,
    acl_arn: str,
    api_calls: Calls,
    capsys: pytest.CaptureFixture[str],
    args: dict[str, Any],
    message: str,
) -> None:
    given = {key: value for key, value in {"web_acl_arn": acl_arn, "resource_arn": ALB_ARN, **args}.items() if value}

    result = run(given, capsys)

    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []


# --- against the Stubber: what real AWS answers -------------------------------------------

ACL_ARN = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/webstack-edge/a1b2c3d4-5678-90ab-cdef-0123456789ab"


def test_a_missing_resource_fails_clearly_when_present(stubber: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    stubber.add_client_error(
        "get_web_acl_for_resource",
        "WAFNonexistentItemException",
        "AWS WAF couldn't perform the operation because your resource doesn't exist.",
        expected_params={"ResourceArn": ALB_ARN},
    )

    result = run({"web_acl_arn": ACL_ARN, "resource_arn": ALB_ARN}, capsys)

    assert result["failed"] is True
    assert result["msg"] == f"Resource {ALB_ARN} does not exist, or WAF cannot protect it"


def test_a_missing_resource_is_already_absent(
    stubber: Stubber, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    stubber.add_client_error(
        "get_web_acl_for_resource", "WAFNonexistentItemException", expected_params={"ResourceArn": ALB_ARN}
    )

    result = run({"web_acl_arn": ACL_ARN, "resource_arn": ALB_ARN, "state": "absent"}, capsys)

    assert result["changed"] is False
    assert mutating(api_calls) == []


def test_a_web_acl_not_yet_available_is_retried(
    stubber: Stubber, api_calls: Calls, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    stubber.add_response("get_web_acl_for_resource", {}, {"ResourceArn": ALB_ARN})
    associate = {"WebACLArn": ACL_ARN, "ResourceArn": ALB_ARN}
    stubber.add_client_error("associate_web_acl", "WAFUnavailableEntityException", expected_params=associate)
    stubber.add_response("associate_web_acl", {}, associate)

    result = run({"web_acl_arn": ACL_ARN, "resource_arn": ALB_ARN}, capsys)

    assert result["changed"] is True
    assert [name for name, _ in api_calls] == ["GetWebACLForResource", "AssociateWebACL", "AssociateWebACL"]


def test_a_refused_association_fails_with_the_aws_error(stubber: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    stubber.add_response("get_web_acl_for_resource", {}, {"ResourceArn": ALB_ARN})
    stubber.add_client_error(
        "associate_web_acl",
        "WAFInvalidParameterException",
        "Error reason: The ARN isn't valid.",
        expected_params={"WebACLArn": ACL_ARN, "ResourceArn": ALB_ARN},
    )

    result = run({"web_acl_arn": ACL_ARN, "resource_arn": ALB_ARN}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to associate web ACL {ACL_ARN} with {ALB_ARN}")
    assert result["error"]["code"] == "WAFInvalidParameterException"
