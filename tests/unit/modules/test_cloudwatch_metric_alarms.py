"""Unit tests of plugins/modules/cloudwatch_metric_alarms.py, against moto in-process.

What moto does with these calls (measured in-process): DescribeAlarms by AlarmNamePrefix returns
DatapointsToAlarm, TreatMissingData, Dimensions and the actions as PutMetricAlarm stored them;
PutMetricAlarm keeps the Tags of the first creation; ListTagsForResource, TagResource and
UntagResource work on the alarm's ARN; DeleteAlarms takes names that exist.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import Calls, run_module, spy_module_clients
from moto import mock_aws

MODULE = "cloudwatch_metric_alarms"
PREFIX = "webstack-prod-"
REGION = "us-east-1"
TOPIC = f"arn:aws:sns:{REGION}:123456789012:webstack-prod-alarms"
ALARMS: list[dict[str, Any]] = [
    {
        "name": "webstack-prod-target-5xx",
        "namespace": "AWS/ApplicationELB",
        "metric_name": "HTTPCode_Target_5XX_Count",
        "statistic": "Sum",
        "comparison": "GreaterThanThreshold",
        "threshold": 10,
        "period": 60,
        "evaluation_periods": 5,
        "dimensions": {"LoadBalancer": "app/webstack-edge-alb/50dc6c", "TargetGroup": "targetgroup/tg/1a2b"},
        "treat_missing_data": "notBreaching",
        "description": "Target 5xx",
        "alarm_actions": [TOPIC],
        "ok_actions": [TOPIC],
    },
    {
        "name": "webstack-prod-rds-cpu",
        "namespace": "AWS/RDS",
        "metric_name": "CPUUtilization",
        "statistic": "Average",
        "comparison": "GreaterThanOrEqualToThreshold",
        "threshold": "80",
        "period": 300,
        "evaluation_periods": 3,
        "datapoints_to_alarm": 2,
        "dimensions": {"DBInstanceIdentifier": "webstack-prod-db"},
        "alarm_actions": [TOPIC],
    },
]
TAGS = {"Environment": "prod", "Project": "webstack"}


@pytest.fixture
def api_calls() -> Calls:
    return []


@pytest.fixture
def cloudwatch(aws_env: None, api_calls: Calls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    spy_module_clients(monkeypatch, api_calls)
    with mock_aws():
        yield boto3.client("cloudwatch", region_name=REGION)


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    """Run the module; flags: check_mode, diff."""
    args = {"name_prefix": PREFIX, **args}
    return run_module(MODULE, {**args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def stored(client: Any) -> dict[str, dict[str, Any]]:
    alarms = client.describe_alarms(AlarmNamePrefix="webstack-")["MetricAlarms"]
    return {
        a["AlarmName"]: {
            **a,
            "tags": {t["Key"]: t["Value"] for t in client.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"]},
        }
        for a in alarms
    }


def writes(calls: Calls) -> list[str]:
    return [name for name, _ in calls if not name.startswith(("Describe", "List"))]


def test_creates_every_alarm_with_its_tags(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run({"alarms": ALARMS, "tags": TAGS}, capsys)

    assert result["changed"] is True
    assert result["created"] == ["webstack-prod-rds-cpu", "webstack-prod-target-5xx"]
    assert writes(api_calls) == ["PutMetricAlarm", "PutMetricAlarm"]
    alarms = stored(cloudwatch)
    five = alarms["webstack-prod-target-5xx"]
    assert (five["Threshold"], five["Period"], five["EvaluationPeriods"], five["DatapointsToAlarm"]) == (10.0, 60, 5, 5)
    assert {d["Name"]: d["Value"] for d in five["Dimensions"]} == ALARMS[0]["dimensions"]
    assert five["TreatMissingData"] == "notBreaching"
    assert five["AlarmActions"] == [TOPIC] and five["OKActions"] == [TOPIC]
    assert five["tags"] == TAGS
    cpu = alarms["webstack-prod-rds-cpu"]
    assert (cpu["Threshold"], cpu["DatapointsToAlarm"], cpu["TreatMissingData"]) == (80.0, 2, "missing")
    assert result["alarms"]["webstack-prod-rds-cpu"]["arn"] == cpu["AlarmArn"]


def test_a_rerun_only_reads(cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]) -> None:
    run({"alarms": ALARMS, "tags": TAGS}, capsys)
    api_calls.clear()

    result = run({"alarms": copy.deepcopy(ALARMS), "tags": TAGS}, capsys)

    assert result["changed"] is False
    assert (result["created"], result["updated"], result["deleted"]) == ([], [], [])
    assert [name for name, _ in api_calls] == ["DescribeAlarms", "ListTagsForResource", "ListTagsForResource"]


def test_one_threshold_changed_rewrites_that_alarm_only_and_shows_the_diff(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"alarms": ALARMS, "tags": TAGS}, capsys)
    api_calls.clear()
    changed = copy.deepcopy(ALARMS)
    changed[1]["threshold"] = 90

    result = run({"alarms": changed, "tags": TAGS}, capsys, diff=True)

    assert result["updated"] == ["webstack-prod-rds-cpu"]
    assert writes(api_calls) == ["PutMetricAlarm"]
    assert result["diff"]["before"]["webstack-prod-rds-cpu"]["threshold"] == 80.0
    assert result["diff"]["after"]["webstack-prod-rds-cpu"]["threshold"] == 90.0
    assert result["diff"]["before"]["webstack-prod-target-5xx"] == result["diff"]["after"]["webstack-prod-target-5xx"]
    alarms = stored(cloudwatch)
    assert alarms["webstack-prod-rds-cpu"]["Threshold"] == 90.0
    assert alarms["webstack-prod-rds-cpu"]["tags"] == TAGS


def test_changed_tags_are_set_and_removed_without_rewriting_the_alarm(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"alarms": ALARMS, "tags": TAGS}, capsys)
    api_calls.clear()

    result = run({"alarms": ALARMS, "tags": {"Environment": "production"}}, capsys)

    assert result["updated"] == ["webstack-prod-rds-cpu", "webstack-prod-target-5xx"]
    assert sorted(writes(api_calls)) == ["TagResource", "TagResource", "UntagResource", "UntagResource"]
    assert all(a["tags"] == {"Environment": "production"} for a in stored(cloudwatch).values())


def test_alarms_under_the_prefix_no_longer_asked_for_are_deleted_and_others_stay(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"alarms": ALARMS}, capsys)
    cloudwatch.put_metric_alarm(
        AlarmName="webstack-staging-rds-cpu", Namespace="AWS/RDS", MetricName="CPUUtilization", Statistic="Average",
        ComparisonOperator="GreaterThanThreshold", Threshold=80, Period=60, EvaluationPeriods=1,
    )  # fmt: skip
    api_calls.clear()

    result = run({"alarms": ALARMS[:1]}, capsys)

    assert result["deleted"] == ["webstack-prod-rds-cpu"]
    assert writes(api_calls) == ["DeleteAlarms"]
    assert sorted(stored(cloudwatch)) == ["webstack-prod-target-5xx", "webstack-staging-rds-cpu"]


def test_check_mode_predicts_and_writes_nothing(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run({"alarms": ALARMS, "tags": TAGS}, capsys, check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["created"] == ["webstack-prod-rds-cpu", "webstack-prod-target-5xx"]
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["webstack-prod-target-5xx"]["tags"] == TAGS
    assert writes(api_calls) == []
    assert stored(cloudwatch) == {}


def test_absent_deletes_every_alarm_under_the_prefix_then_finds_nothing(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"alarms": ALARMS}, capsys)

    deleted = run({"state": "absent"}, capsys)
    again = run({"state": "absent"}, capsys)

    assert deleted["deleted"] == ["webstack-prod-rds-cpu", "webstack-prod-target-5xx"]
    assert stored(cloudwatch) == {}
    assert again["changed"] is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "webstack-staging-x"}, "does not start with the name_prefix 'webstack-prod-'"),
        ({"comparison": "GreaterThan"}, "comparison 'GreaterThan' is not one of"),
        ({"statistic": "p99"}, "statistic 'p99' is not one of"),
        ({"threshold": "high"}, "threshold 'high' is not a number"),
        ({"period": 45}, "period 45 is not 10, 20, 30 or a multiple of 60"),
        ({"datapoints_to_alarm": 9}, "datapoints_to_alarm 9 is not 1..evaluation_periods"),
        ({"treat_missing_data": "zero"}, "treat_missing_data 'zero' is not one of"),
        ({"metric_name": None}, "lacks metric_name"),
        ({"metric": "x"}, "has unknown keys metric"),
    ],
)
def test_an_alarm_aws_would_refuse_fails_before_any_call(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str], change: dict[str, Any], message: str
) -> None:
    alarm = {**ALARMS[0], **change}

    result = run({"alarms": [alarm]}, capsys)

    assert result.get("failed") is True
    assert message in result["msg"]
    assert api_calls == []


def test_a_name_given_twice_fails_before_any_call(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run({"alarms": [ALARMS[0], ALARMS[0]]}, capsys)

    assert "given twice" in result["msg"]
    assert api_calls == []
