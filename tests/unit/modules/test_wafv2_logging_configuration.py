"""Unit tests of plugins/modules/wafv2_logging_configuration.py.

What moto 5.2.5 does with these calls (measured in-process): Put/Get/DeleteLoggingConfiguration work
and echo the configuration exactly as sent (header-name case, the ':*' suffix of a log group ARN,
the order of redacted fields). Unlike AWS, PutLoggingConfiguration accepts any destination (a log group
whose name lacks 'aws-waf-logs-', a log group ARN ending in ':*') and any web ACL ARN, even one that
does not exist. GetLoggingConfiguration and DeleteLoggingConfiguration answer
WAFNonexistentItemException when the web ACL does not log.

So the lifecycle runs against moto, and what AWS answers differently (its extra LogType / LogScope
fields, refusals) runs against botocore's Stubber.
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

MODULE = "wafv2_logging_configuration"
REGION = "us-east-1"
LOG_GROUP = f"arn:aws:logs:{REGION}:123456789012:log-group:aws-waf-logs-webstack-edge"
MUTATING_PREFIXES = ("Put", "Delete")
VISIBILITY = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "edge"}
FIELDS = [{"single_header": "authorization"}, {"query_string": True}]
# What the module sends for FIELDS: sorted by option name, so that the order of the options does not matter.
API_FIELDS = [{"QueryString": {}}, {"SingleHeader": {"Name": "authorization"}}]

# --- harness ------------------------------------------------------------------------------


def mutating(calls: Calls) -> list[tuple[str, dict[str, Any]]]:
    return mutating_calls(calls, MUTATING_PREFIXES)


@pytest.fixture
def acl_arn(wafv2: Any) -> str:
    summary = wafv2.create_web_acl(
        Name="webstack-edge", Scope="REGIONAL", DefaultAction={"Allow": {}}, VisibilityConfig=VISIBILITY
    )["Summary"]
    return summary["ARN"]


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    """Run the module; flags: check_mode, diff."""
    return run_module(MODULE, {**args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def args_for(acl_arn: str, **extra: Any) -> dict[str, Any]:
    return {"web_acl_arn": acl_arn, "log_destination_arns": [LOG_GROUP], "redacted_fields": FIELDS, **extra}


def live(client: Any, acl_arn: str) -> dict[str, Any] | None:
    try:
        return client.get_logging_configuration(ResourceArn=acl_arn)["LoggingConfiguration"]
    except client.exceptions.WAFNonexistentItemException:
        return None


# --- against moto -------------------------------------------------------------------------


def test_create_puts_the_configuration_without_the_log_group_suffix(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(args_for(acl_arn, log_destination_arns=[LOG_GROUP + ":*"]), capsys)

    assert result["changed"] is True
    expected = {"ResourceArn": acl_arn, "LogDestinationConfigs": [LOG_GROUP], "RedactedFields": API_FIELDS}
    assert mutating(api_calls) == [("PutLoggingConfiguration", {"LoggingConfiguration": expected})]
    assert live(wafv2, acl_arn)["LogDestinationConfigs"] == [LOG_GROUP]
    assert result["logging_configuration"]["log_destination_configs"] == [LOG_GROUP]
    assert result["logging_configuration"]["redacted_fields"] == [
        {"query_string": {}},
        {"single_header": {"name": "authorization"}},
    ]


def test_rerun_in_another_order_and_case_is_a_no_op(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run(args_for(acl_arn), capsys)
    api_calls.clear()
    reordered = [{"query_string": True}, {"single_header": "Authorization"}, {"query_string": True}]

    result = run(args_for(acl_arn, log_destination_arns=[LOG_GROUP + ":*"], redacted_fields=reordered), capsys)

    assert result["changed"] is False
    assert [name for name, _ in api_calls] == ["GetLoggingConfiguration"]


def test_a_configuration_set_by_hand_in_mixed_case_is_a_no_op(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    wafv2.put_logging_configuration(
        LoggingConfiguration={
            "ResourceArn": acl_arn,
            "LogDestinationConfigs": [LOG_GROUP + ":*"],
            "RedactedFields": [{"QueryString": {}}, {"SingleHeader": {"Name": "Authorization"}}],
        }
    )

    result = run(args_for(acl_arn), capsys)

    assert result["changed"] is False
    assert mutating(api_calls) == []


def test_one_more_redacted_field_puts_exactly_that(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run(args_for(acl_arn), capsys)
    api_calls.clear()

    result = run(args_for(acl_arn, redacted_fields=[*FIELDS, {"method": True}]), capsys, diff=True)

    assert result["changed"] is True
    expected = {
        "ResourceArn": acl_arn,
        "LogDestinationConfigs": [LOG_GROUP],
        "RedactedFields": [{"Method": {}}, *API_FIELDS],
    }
    assert mutating(api_calls) == [("PutLoggingConfiguration", {"LoggingConfiguration": expected})]
    assert result["diff"]["before"]["redacted_fields"] == [{"query_string": True}, {"single_header": "authorization"}]
    assert result["diff"]["after"]["redacted_fields"] == [
        {"method": True},
        {"query_string": True},
        {"single_header": "authorization"},
    ]


def test_a_snake_case_logging_filter_is_sent_in_the_api_shape_and_compared(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    snake = {
        "default_behavior": "DROP",
        "filters": [
            {"behavior": "KEEP", "requirement": "MEETS_ANY", "conditions": [{"action_condition": {"action": "BLOCK"}}]}
        ],
    }
    camel = {
        "DefaultBehavior": "DROP",
        "Filters": [
            {"Behavior": "KEEP", "Requirement": "MEETS_ANY", "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}]}
        ],
    }

    created = run(args_for(acl_arn, logging_filter=snake), capsys)
    api_calls.clear()
    rerun = run(args_for(acl_arn, logging_filter=camel), capsys)

    assert created["changed"] is True
    assert live(wafv2, acl_arn)["LoggingFilter"] == camel
    assert rerun["changed"] is False
    assert mutating(api_calls) == []


def test_a_dropped_option_is_removed_from_the_configuration(
    wafv2: Any, acl_arn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(args_for(acl_arn), capsys)

    result = run({"web_acl_arn": acl_arn, "log_destination_arns": [LOG_GROUP]}, capsys)

    assert result["changed"] is True
    assert "RedactedFields" not in live(wafv2, acl_arn)


def test_delete_removes_the_configuration(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run(args_for(acl_arn), capsys)
    api_calls.clear()

    result = run({"web_acl_arn": acl_arn, "state": "absent"}, capsys, diff=True)

    assert result["changed"] is True
    assert result["logging_configuration"] == {}
    assert mutating(api_calls) == [("DeleteLoggingConfiguration", {"ResourceArn": acl_arn})]
    assert result["diff"] == {
        "before": {
            "log_destination_arns": [LOG_GROUP],
            "redacted_fields": [{"query_string": True}, {"single_header": "authorization"}],
            "logging_filter": None,
        },
        "after": {},
    }
    assert live(wafv2, acl_arn) is None


def test_delete_when_absent_is_a_no_op(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run({"web_acl_arn": acl_arn, "state": "absent"}, capsys)

    assert result["changed"] is False
    assert mutating(api_calls) == []


@pytest.mark.parametrize("state", ["present", "absent"])
def test_check_mode_reports_the_change_and_calls_nothing_mutating(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str], state: str
) -> None:
    if state == "absent":
        run(args_for(acl_arn), capsys)
        api_calls.clear()

    result = run(args_for(acl_arn, state=state), capsys, check_mode=True)

    assert result["changed"] is True
    assert mutating(api_calls) == []
    assert (live(wafv2, acl_arn) is None) is (state == "present")


def test_diff_on_create_shows_the_wanted_configuration(
    wafv2: Any, acl_arn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(args_for(acl_arn), capsys, diff=True)

    assert result["diff"] == {
        "before": {},
        "after": {
            "log_destination_arns": [LOG_GROUP],
            "redacted_fields": [{"query_string": True}, {"single_header": "authorization"}],
            "logging_filter": None,
        },
    }


def test_a_missing_web_acl_fails_clearly(
    wafv2: Any, acl_arn: str, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = acl_arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"

    result = run(args_for(missing), capsys)

    assert result["failed"] is True
    assert result["msg"] == f"Web ACL {missing} does not exist"
    assert mutating(api_calls) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"log_destination_arns": [f"arn:aws:logs:{REGION}:123456789012:log-group:/webstack/waf:*"]},
            "the CloudWatch Logs log group '/webstack/waf' does not start with 'aws-waf-logs-'",
        ),
        ({"log_destination_arns": ["arn:aws:s3:::webstack-logs"]}, "the S3 bucket 'webstack-logs' does not start"),
        ({"log_destination_arns": ["aws-waf-logs-webstack-edge"]}, "is not the ARN of a CloudWatch Logs log group"),
        ({"log_destination_arns": [LOG_GROUP, LOG_GROUP]}, "AWS takes exactly one destination per web ACL"),
        ({"log_destination_arns": None}, "state is present but all of the following are missing: log_destination_arns"),
        ({"redacted_fields": [{"query_string": False}]}, "query_string: false redacts nothing"),
        ({"redacted_fields": [{"single_header": "cookie", "method": True}]}, "mutually exclusive"),
        ({"redacted_fields": [{}]}, "one of the following is required"),
        ({"web_acl_arn": "webstack-edge"}, "is not the ARN of a web ACL"),
    ],
    ids=[
        "log-group-name",
        "bucket-name",
        "not-an-arn",
        "two-destinations",
        "no-destination",
        "false-field",
        "two-fields-in-one-entry",
        "empty-entry",
        "web-acl-name",
    ],
)
def test_bad_arguments_fail_before_any_call(
    wafv2: Any,
    acl_arn: str,
    api_calls: Calls,
    capsys: pytest.CaptureFixture[str],
    args: dict[str, Any],
    message: str,
) -> None:
    given = {key: value for key, value in args_for(acl_arn, **args).items() if value is not None}

    result = run(given, capsys)

    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []


# --- against the Stubber: what real AWS answers -------------------------------------------

ACL_ARN = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/webstack-edge/a1b2c3d4-5678-90ab-cdef-0123456789ab"


def aws_configuration(**extra: Any) -> dict[str, Any]:
    """A logging configuration as AWS returns it, with the fields moto leaves out."""
    return {
        "ResourceArn": ACL_ARN,
        "LogDestinationConfigs": [LOG_GROUP],
        "RedactedFields": [{"QueryString": {}}, {"SingleHeader": {"Name": "authorization"}}],
        "ManagedByFirewallManager": False,
        "LogType": "WAF_LOGS",
        "LogScope": "CUSTOMER",
        **extra,
    }


def test_what_aws_returns_matches_the_same_options(
    stubber: Stubber, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    stubber.add_response(
        "get_logging_configuration", {"LoggingConfiguration": aws_configuration()}, {"ResourceArn": ACL_ARN}
    )

    result = run(args_for(ACL_ARN), capsys)

    assert result["changed"] is False
    assert result["logging_configuration"]["log_scope"] == "CUSTOMER"


def test_a_refused_put_fails_with_the_aws_error(stubber: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    stubber.add_response(
        "get_logging_configuration",
        {"LoggingConfiguration": aws_configuration(RedactedFields=[])},
        {"ResourceArn": ACL_ARN},
    )
    stubber.add_client_error(
        "put_logging_configuration",
        "WAFLogDestinationPermissionIssueException",
        "The logging destination has an invalid resource policy.",
        expected_params={
            "LoggingConfiguration": {
                "ResourceArn": ACL_ARN,
                "LogDestinationConfigs": [LOG_GROUP],
                "RedactedFields": [{"QueryString": {}}, {"SingleHeader": {"Name": "authorization"}}],
            }
        },
    )

    result = run(args_for(ACL_ARN), capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to set the logging configuration of web ACL {ACL_ARN}")
    assert result["error"]["code"] == "WAFLogDestinationPermissionIssueException"


def test_a_refused_read_fails_with_the_aws_error(stubber: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    stubber.add_client_error(
        "get_logging_configuration", "AccessDeniedException", "not allowed", expected_params={"ResourceArn": ACL_ARN}
    )

    result = run({"web_acl_arn": ACL_ARN, "state": "absent"}, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to read the logging configuration of web ACL {ACL_ARN}")
