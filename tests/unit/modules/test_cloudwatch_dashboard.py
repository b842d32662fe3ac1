"""Unit tests of plugins/modules/cloudwatch_dashboard.py, against moto in-process.

What moto 5.2.5 does with these calls (measured in-process): PutDashboard stores the body as sent
and refuses a body that is not JSON (InvalidParameterInput) but checks nothing else in it;
GetDashboard returns that string and the ARN (arn:aws:cloudwatch::<account>:dashboard/<name>) and
answers ResourceNotFound for an unknown name; DeleteDashboards answers ResourceNotFound when a name
does not exist, as AWS does. So the whole lifecycle runs against moto; the body checks AWS would
make are the module's own, made before any call.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import Calls, run_module, spy_module_clients
from moto import mock_aws

MODULE = "cloudwatch_dashboard"
NAME = "webstack-prod"
REGION = "us-east-1"
BODY: dict[str, Any] = {
    "widgets": [
        {
            "type": "metric",
            "x": 0,
            "y": 0,
            "width": 12,
            "height": 6,
            "properties": {
                "title": "Requests",
                "region": REGION,
                "stat": "Sum",
                "period": 60,
                "metrics": [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/webstack-edge-alb/50dc6c"]],
            },
        },
        {
            "type": "alarm",
            "x": 12,
            "y": 0,
            "width": 12,
            "height": 6,
            "properties": {"title": "Alarms", "alarms": [f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:a"]},
        },
    ]
}


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
    return run_module(MODULE, {**args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def stored(client: Any) -> dict[str, Any] | None:
    try:
        return json.loads(client.get_dashboard(DashboardName=NAME)["DashboardBody"])
    except client.exceptions.ResourceNotFound:
        return None


def names(calls: Calls) -> list[str]:
    return [name for name, _ in calls]


def test_creates_the_dashboard(cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]) -> None:
    result = run({"name": NAME, "body": BODY}, capsys)

    assert result["changed"] is True
    assert result["dashboard_arn"] == f"arn:aws:cloudwatch::123456789012:dashboard/{NAME}"
    assert result["body"] == BODY
    assert names(api_calls) == ["GetDashboard", "PutDashboard", "GetDashboard"]
    assert stored(cloudwatch) == BODY


def test_same_body_is_a_no_op_with_one_read(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    # Stored with other spacing and key order than the module sends: compared as data.
    cloudwatch.put_dashboard(DashboardName=NAME, DashboardBody=json.dumps(BODY, indent=4))

    result = run({"name": NAME, "body": copy.deepcopy(BODY)}, capsys)

    assert result["changed"] is False
    assert result["body"] == BODY
    assert names(api_calls) == ["GetDashboard"]


def test_one_widget_changed_writes_the_new_body_and_shows_the_diff(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"name": NAME, "body": BODY}, capsys)
    api_calls.clear()
    changed = copy.deepcopy(BODY)
    changed["widgets"][0]["properties"]["stat"] = "Average"

    result = run({"name": NAME, "body": changed}, capsys, diff=True)

    assert result["changed"] is True
    assert [name for name in names(api_calls) if name.startswith(("Put", "Delete"))] == ["PutDashboard"]
    assert result["diff"]["before"]["widgets"][0]["properties"]["stat"] == "Sum"
    assert result["diff"]["after"]["widgets"][0]["properties"]["stat"] == "Average"
    assert result["diff"]["before"]["widgets"][1] == result["diff"]["after"]["widgets"][1]
    assert stored(cloudwatch) == changed


def test_check_mode_reports_a_creation_and_writes_nothing(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run({"name": NAME, "body": BODY}, capsys, check_mode=True, diff=True)

    assert result["changed"] is True
    assert result["body"] == BODY
    assert result["diff"] == {"before": {}, "after": BODY}
    assert names(api_calls) == ["GetDashboard"]
    assert stored(cloudwatch) is None


def test_check_mode_reports_a_change_and_keeps_the_old_body(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"name": NAME, "body": BODY}, capsys)
    api_calls.clear()
    changed = copy.deepcopy(BODY)
    del changed["widgets"][1]

    result = run({"name": NAME, "body": changed}, capsys, check_mode=True)

    assert result["changed"] is True
    assert names(api_calls) == ["GetDashboard"]
    assert stored(cloudwatch) == BODY


def test_absent_deletes_the_dashboard_then_finds_nothing(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"name": NAME, "body": BODY}, capsys)

    deleted = run({"name": NAME, "state": "absent"}, capsys, diff=True)
    api_calls.clear()
    again = run({"name": NAME, "state": "absent"}, capsys)

    assert deleted["changed"] is True
    assert deleted["diff"] == {"before": BODY, "after": {}}
    assert stored(cloudwatch) is None
    assert again["changed"] is False
    assert names(api_calls) == ["GetDashboard"]


def test_absent_in_check_mode_deletes_nothing(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str]
) -> None:
    run({"name": NAME, "body": BODY}, capsys)
    api_calls.clear()

    result = run({"name": NAME, "state": "absent"}, capsys, check_mode=True)

    assert result["changed"] is True
    assert names(api_calls) == ["GetDashboard"]
    assert stored(cloudwatch) == BODY


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"name": "web stack", "body": BODY}, "is not a dashboard name"),
        ({"name": NAME, "body": {"widget": []}}, "body.widgets is NoneType; expected a list"),
        ({"name": NAME, "body": {"widgets": [{"type": "graph", "properties": {}}]}}, "body.widgets[0].type is 'graph'"),
        ({"name": NAME, "body": {"widgets": [{"type": "text"}]}}, "body.widgets[0].properties is missing"),
        (
            {"name": NAME, "body": {"widgets": [{"type": "text", "properties": {}, "x": 20, "width": 6}]}},
            "x 20 + width 6 passes the grid's 24 columns",
        ),
        (
            {"name": NAME, "body": {"widgets": [{"type": "text", "properties": {}, "height": "6"}]}},
            "body.widgets[0].height is '6'; expected an integer 1..1000",
        ),
    ],
)
def test_a_body_aws_would_refuse_fails_before_any_call(
    cloudwatch: Any, api_calls: Calls, capsys: pytest.CaptureFixture[str], args: dict[str, Any], message: str
) -> None:
    result = run(args, capsys)

    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []
