"""elb_listener_rule against moto, and against botocore's Stubber for what real AWS describes.

moto echoes actions as they were sent; AWS fills in the defaults of authenticate-cognito and
redirect actions and mirrors a forward's target group into a ForwardConfig. The Stubber tests
feed back those AWS-shaped answers to show that a rerun against AWS changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import Calls, run_module, spy_module_clients, stubbed_module_client
from moto import mock_aws

MODULE = "elb_listener_rule"
REGION = "us-east-1"
MUTATING_PREFIXES = ("Create", "Modify", "Delete", "Set", "Add", "Remove")
POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf123"
HOST = "staging.example.com"
COGNITO = {
    "type": "authenticate-cognito",
    "user_pool_arn": POOL_ARN,
    "user_pool_client_id": "client123",
    "user_pool_domain": "webstack-staging",
}
COGNITO_REQUEST = {
    "Type": "authenticate-cognito",
    "Order": 1,
    "AuthenticateCognitoConfig": {
        "UserPoolArn": POOL_ARN,
        "UserPoolClientId": "client123",
        "UserPoolDomain": "webstack-staging",
        "Scope": "openid",
        "SessionTimeout": 604800,
        "SessionCookieName": "AWSELBAuthSessionCookie",
        "OnUnauthenticatedRequest": "authenticate",
    },
}


@pytest.fixture
def elb(aws_env: None) -> Iterator[dict[str, Any]]:
    """moto in-process with an ALB, an HTTPS and an HTTP listener and two target groups."""
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        client = boto3.client("elbv2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"][
                "SubnetId"
            ]
            for n, az in ((1, "a"), (2, "b"))
        ]
        lb = client.create_load_balancer(Name="webstack", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        groups = [
            client.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0][
                "TargetGroupArn"
            ]
            for name in ("staging-frontend", "prod-frontend")
        ]
        not_found = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}]
        https = client.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTPS",
            Port=443,
            Certificates=[{"CertificateArn": "arn:aws:iam::123456789012:server-certificate/webstack"}],
            DefaultActions=not_found,
        )["Listeners"][0]["ListenerArn"]
        http = client.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=not_found)[
            "Listeners"
        ][0]["ListenerArn"]
        yield {"client": client, "https": https, "http": http, "groups": groups}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    recorded: Calls = []
    spy_module_clients(monkeypatch, recorded)
    return recorded


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: bool) -> dict[str, Any]:
    """Run the module; flags: check_mode, diff."""
    return run_module(MODULE, {**args, **{f"_ansible_{flag}": value for flag, value in flags.items()}}, capsys)


def mutating(calls: Calls) -> list[str]:
    return [name for name, _ in calls if name.startswith(MUTATING_PREFIXES)]


def rule_args(elb: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The staging host rule: Cognito, then forward to the staging target group."""
    return {
        "listener_arn": elb["https"],
        "priority": 20,
        "conditions": [{"host_header": [HOST, "www." + HOST]}],
        "actions": [COGNITO, {"type": "forward", "target_group_arn": elb["groups"][0]}],
        "tags": {"Environment": "Non-Production"},
        **overrides,
    }


def live_rules(elb: dict[str, Any]) -> list[dict[str, Any]]:
    rules = elb["client"].describe_rules(ListenerArn=elb["https"])["Rules"]
    return [rule for rule in rules if not rule["IsDefault"]]


# --- against moto ------------------------------------------------------------------------


def test_create_sends_ordered_actions_with_every_cognito_default(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(rule_args(elb), capsys)

    assert result["changed"] is True
    (rule,) = live_rules(elb)
    assert result["rule"]["arn"] == rule["RuleArn"]
    assert rule["Priority"] == "20"
    assert rule["Actions"] == [COGNITO_REQUEST, {"Type": "forward", "Order": 2, "TargetGroupArn": elb["groups"][0]}]
    assert rule["Conditions"] == [{"Field": "host-header", "HostHeaderConfig": {"Values": [HOST, "www." + HOST]}}]
    tags = elb["client"].describe_tags(ResourceArns=[rule["RuleArn"]])["TagDescriptions"][0]["Tags"]
    assert tags == [{"Key": "Environment", "Value": "Non-Production"}]
    assert mutating(calls) == ["CreateRule"]
    assert result["rule"]["actions"][0]["session_timeout"] == 604800
    assert result["rule"]["conditions"] == [{"host_header": [HOST, "www." + HOST]}]


def test_rerun_with_values_reordered_reports_no_change_and_calls_nothing_mutating(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run(rule_args(elb), capsys)
    calls.clear()

    result = run(rule_args(elb, conditions=[{"host_header": ["www." + HOST, HOST]}]), capsys)

    assert result["changed"] is False
    assert mutating(calls) == []


def test_changing_one_action_option_sends_only_the_actions(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run(rule_args(elb), capsys)
    calls.clear()
    forward = {"type": "forward", "target_group_arn": elb["groups"][0]}

    result = run(rule_args(elb, actions=[{**COGNITO, "session_timeout": 3600}, forward]), capsys)

    assert result["changed"] is True
    modify = [params for name, params in calls if name == "ModifyRule"]
    expected_cognito = {**COGNITO_REQUEST["AuthenticateCognitoConfig"], "SessionTimeout": 3600}
    assert modify == [
        {
            "RuleArn": created["rule"]["arn"],
            "Actions": [
                {**COGNITO_REQUEST, "AuthenticateCognitoConfig": expected_cognito},
                {"Type": "forward", "Order": 2, "TargetGroupArn": elb["groups"][0]},
            ],
        }
    ]
    assert mutating(calls) == ["ModifyRule"]
    assert live_rules(elb)[0]["Actions"][0]["AuthenticateCognitoConfig"]["SessionTimeout"] == 3600


def test_changing_a_condition_sends_only_the_conditions(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run(rule_args(elb), capsys)
    calls.clear()

    result = run(rule_args(elb, conditions=[{"host_header": [HOST]}, {"path_pattern": ["/api/*"]}]), capsys)

    assert result["changed"] is True
    modify = [params for name, params in calls if name == "ModifyRule"]
    assert modify == [
        {
            "RuleArn": created["rule"]["arn"],
            "Conditions": [
                {"Field": "host-header", "HostHeaderConfig": {"Values": [HOST]}},
                {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}},
            ],
        }
    ]


def test_tags_change_through_add_and_remove_tags_only(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run(rule_args(elb), capsys)
    calls.clear()

    result = run(rule_args(elb, tags={"Tier": "frontend"}), capsys)

    arn = created["rule"]["arn"]
    assert result["changed"] is True
    assert [call for call in calls if call[0].startswith(MUTATING_PREFIXES)] == [
        ("RemoveTags", {"ResourceArns": [arn], "TagKeys": ["Environment"]}),
        ("AddTags", {"ResourceArns": [arn], "Tags": [{"Key": "Tier", "Value": "frontend"}]}),
    ]
    assert result["rule"]["tags"] == {"Tier": "frontend"}


def test_a_rule_with_the_same_conditions_elsewhere_is_moved_not_duplicated(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run(rule_args(elb, priority=10), capsys)
    calls.clear()

    result = run(rule_args(elb, priority=20), capsys)

    arn = created["rule"]["arn"]
    assert result["changed"] is True
    assert [call for call in calls if call[0].startswith(MUTATING_PREFIXES)] == [
        ("SetRulePriorities", {"RulePriorities": [{"RuleArn": arn, "Priority": 20}]})
    ]
    assert [(rule["RuleArn"], rule["Priority"]) for rule in live_rules(elb)] == [(arn, "20")]


def test_delete_removes_the_rule_at_the_priority(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run(rule_args(elb), capsys)
    calls.clear()

    result = run(rule_args(elb, state="absent", actions=None), capsys)
    again = run(rule_args(elb, state="absent", actions=None), capsys)

    assert result["changed"] is True
    assert [call for call in calls if call[0].startswith(MUTATING_PREFIXES)] == [
        ("DeleteRule", {"RuleArn": created["rule"]["arn"]})
    ]
    assert again["changed"] is False
    assert live_rules(elb) == []


def test_delete_leaves_a_rule_with_other_conditions_in_place(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run(rule_args(elb), capsys)
    calls.clear()

    result = run(rule_args(elb, state="absent", conditions=[{"host_header": ["example.com"]}]), capsys)

    assert result["changed"] is False
    assert "has other conditions" in json.dumps(result["warnings"])
    assert mutating(calls) == []
    assert len(live_rules(elb)) == 1


@pytest.mark.parametrize("change", ["create", "modify", "move", "delete"])
def test_check_mode_reports_the_change_and_calls_nothing_mutating(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str], change: str
) -> None:
    if change != "create":
        run(rule_args(elb), capsys)
    before = live_rules(elb)
    calls.clear()
    args = {
        "create": rule_args(elb),
        "modify": rule_args(elb, conditions=[{"host_header": [HOST]}]),
        "move": rule_args(elb, priority=30),
        "delete": rule_args(elb, state="absent"),
    }[change]

    result = run(args, capsys, check_mode=True)

    assert result["changed"] is True
    assert mutating(calls) == []
    assert live_rules(elb) == before


def test_diff_shows_the_rule_in_the_options_shape(elb: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    created = run(rule_args(elb), capsys, diff=True)
    modified = run(rule_args(elb, priority=25, tags=None), capsys, diff=True)

    view = {
        "priority": 20,
        "conditions": [{"host_header": [HOST, "www." + HOST]}],
        "actions": [
            {
                **COGNITO,
                "scope": "openid",
                "session_timeout": 604800,
                "session_cookie_name": "AWSELBAuthSessionCookie",
                "on_unauthenticated_request": "authenticate",
                "authentication_request_extra_params": {},
            },
            {"type": "forward", "target_group_arn": elb["groups"][0]},
        ],
        "tags": {"Environment": "Non-Production"},
    }
    assert created["diff"] == {"before": {}, "after": view}
    assert modified["diff"] == {"before": view, "after": {**view, "priority": 25}}


def test_cognito_on_an_http_listener_fails_before_any_change(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(rule_args(elb, listener_arn=elb["http"]), capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"authenticate-cognito needs an HTTPS listener; listener {elb['http']} uses HTTP")
    assert mutating(calls) == []


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ([{"type": "forward", "target_group_arn": "tg"}, COGNITO], "must come last"),
        ([{**COGNITO, "user_pool_arn": "pool"}, {"type": "fixed-response", "status_code": "404"}], "not a Cognito"),
        ([{"type": "forward", "target_group_arn": "tg", "host": "example.com"}], "host is not an option"),
        ([{"type": "redirect", "status_code": "301"}], "HTTP_301 or HTTP_302"),
    ],
    ids=["terminal-not-last", "bad-pool-arn", "foreign-option", "bad-redirect-code"],
)
def test_actions_aws_would_refuse_fail_before_any_call(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str], actions: list[dict], message: str
) -> None:
    result = run(rule_args(elb, actions=actions), capsys)

    assert result["failed"] is True
    assert message in result["msg"]
    assert calls == []


def test_redirect_and_fixed_response_rules_are_idempotent(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    redirect = rule_args(
        elb, actions=[{"type": "redirect", "protocol": "HTTPS", "port": 443, "status_code": "HTTP_301"}]
    )
    fixed = rule_args(
        elb,
        priority=30,
        conditions=[{"path_pattern": ["/health"]}, {"http_header": {"name": "X-Probe", "values": ["1"]}}],
        actions=[{"type": "fixed-response", "status_code": "200", "content_type": "text/plain", "message_body": "ok"}],
    )
    for args in (redirect, fixed):
        run(args, capsys)
    calls.clear()

    results = [run(args, capsys) for args in (redirect, fixed)]

    assert [result["changed"] for result in results] == [False, False]
    assert mutating(calls) == []
    assert results[0]["rule"]["actions"][0]["path"] == "/#{path}"


def test_an_unset_content_type_keeps_the_one_the_rule_has(
    elb: dict[str, Any], calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    response = {"type": "fixed-response", "status_code": "503", "content_type": "application/json"}
    run(rule_args(elb, actions=[{**response, "message_body": "{}"}]), capsys)
    calls.clear()

    result = run(rule_args(elb, actions=[{"type": "fixed-response", "status_code": "503"}]), capsys)

    assert result["changed"] is False
    assert mutating(calls) == []
    assert result["rule"]["actions"] == [{**response, "message_body": "{}"}]


# --- against AWS-shaped answers (Stubber) --------------------------------------------------

LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/webstack/50dc6c49/f2f7dc8e"
RULE_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/webstack/50dc6c49/f2f7dc8e/9683b2d0"
TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/staging-frontend/73e2d6bc"
DEFAULT_RULE = {
    "RuleArn": RULE_ARN + "0",
    "Priority": "default",
    "Conditions": [],
    "Actions": [{"Type": "fixed-response", "Order": 1, "FixedResponseConfig": {"StatusCode": "404"}}],
    "IsDefault": True,
}


def aws_rule(actions: list[dict[str, Any]]) -> dict[str, Any]:
    """A rule as AWS describes it: both the legacy Values and the HostHeaderConfig."""
    return {
        "RuleArn": RULE_ARN,
        "Priority": "20",
        "Conditions": [{"Field": "host-header", "Values": [HOST], "HostHeaderConfig": {"Values": [HOST]}}],
        "Actions": actions,
        "IsDefault": False,
    }


@pytest.fixture
def stub(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with stubbed_module_client(monkeypatch, "elbv2") as stubber:
        yield stubber


def expect_reads(stub: Any, rules: list[dict[str, Any]], protocol: str | None) -> None:
    stub.add_response("describe_rules", {"Rules": [*rules, DEFAULT_RULE]}, {"ListenerArn": LISTENER})
    if protocol:
        listener = {"ListenerArn": LISTENER, "Protocol": protocol, "Port": 443}
        stub.add_response("describe_listeners", {"Listeners": [listener]}, {"ListenerArns": [LISTENER]})
    if rules:
        tags = {
            "TagDescriptions": [{"ResourceArn": RULE_ARN, "Tags": [{"Key": "Environment", "Value": "Non-Production"}]}]
        }
        stub.add_response("describe_tags", tags, {"ResourceArns": [RULE_ARN]})


def test_cognito_and_forward_as_aws_completes_them_are_no_change(stub: Any, capsys: pytest.CaptureFixture[str]) -> None:
    forward = {
        "Type": "forward",
        "Order": 2,
        "TargetGroupArn": TARGET_GROUP,
        "ForwardConfig": {
            "TargetGroups": [{"TargetGroupArn": TARGET_GROUP, "Weight": 1}],
            "TargetGroupStickinessConfig": {"Enabled": False},
        },
    }
    cognito = {**COGNITO_REQUEST, "AuthenticateCognitoConfig": {**COGNITO_REQUEST["AuthenticateCognitoConfig"]}}
    cognito["AuthenticateCognitoConfig"]["AuthenticationRequestExtraParams"] = {}
    # AWS answers with the actions in any order; Order decides.
    expect_reads(stub, [aws_rule([forward, cognito])], "HTTPS")

    args = {
        "listener_arn": LISTENER,
        "priority": 20,
        "conditions": [{"host_header": [HOST]}],
        "actions": [COGNITO, {"type": "forward", "target_group_arn": TARGET_GROUP}],
    }
    result = run(args, capsys)

    assert result["changed"] is False  # a ModifyRule would find no queued answer and fail the run
    assert result["rule"]["actions"][1] == {"type": "forward", "target_group_arn": TARGET_GROUP}


def test_redirect_as_aws_completes_it_is_no_change(stub: Any, capsys: pytest.CaptureFixture[str]) -> None:
    redirect = {
        "Type": "redirect",
        "Order": 1,
        "RedirectConfig": {
            "Protocol": "HTTPS",
            "Port": "443",
            "Host": "#{host}",
            "Path": "/#{path}",
            "Query": "#{query}",
            "StatusCode": "HTTP_301",
        },
    }
    expect_reads(stub, [aws_rule([redirect])], None)

    args = {
        "listener_arn": LISTENER,
        "priority": 20,
        "conditions": [{"host_header": [HOST]}],
        "actions": [{"type": "redirect", "protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}],
    }
    result = run(args, capsys)

    assert result["changed"] is False


def test_an_aws_error_fails_with_what_was_being_done(stub: Any, capsys: pytest.CaptureFixture[str]) -> None:
    expect_reads(stub, [], None)
    stub.add_client_error("create_rule", "TooManyRules", "You've reached the limit on the number of rules")

    args = {
        "listener_arn": LISTENER,
        "priority": 20,
        "conditions": [{"host_header": [HOST]}],
        "actions": [{"type": "forward", "target_group_arn": TARGET_GROUP}],
    }
    result = run(args, capsys)

    assert result["failed"] is True
    assert result["msg"].startswith("Failed to create the rule at priority 20")
    assert result["error"]["code"] == "TooManyRules"
