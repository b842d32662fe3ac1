"""Unit tests of plugins/modules/ec2_vpc_flow_log.py, against moto in-process.

moto 5.2.5 implements CreateFlowLogs (tags through TagSpecifications), DescribeFlowLogs with the
resource-id filter, DeleteFlowLogs, and CreateTags / DeleteTags on a flow log's id. It reports a
CloudWatch Logs flow log without LogDestination (AWS reports the log group's ARN there); the module
does not compare that field for CloudWatch Logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import Calls, run_module, spy_module_clients
from moto import mock_aws

MODULE = "ec2_vpc_flow_log"
ROLE = "arn:aws:iam::123456789012:role/webstack-edge-vpc-flow-logs"
GROUP = "/webstack-edge/vpc-flow-logs"
MUTATING = ("Create", "Delete")


@pytest.fixture
def api_calls() -> Calls:
    return []


@pytest.fixture
def ec2(aws_env: None, api_calls: Calls, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    spy_module_clients(monkeypatch, api_calls)
    with mock_aws():
        yield boto3.client("ec2", region_name="us-east-1")


@pytest.fixture
def vpc_id(ec2: Any) -> str:
    return ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], **flags: Any) -> dict[str, Any]:
    return run_module(MODULE, {**args, **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def args_for(vpc_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "resource_id": vpc_id,
        "log_group_name": GROUP,
        "deliver_logs_permission_arn": ROLE,
        "tags": {"Name": "webstack-edge-vpc-flow-logs"},
        **extra,
    }


def mutating(calls: Calls) -> list[str]:
    return [name for name, _ in calls if name.startswith(MUTATING)]


def live(ec2: Any, vpc_id: str) -> list[dict[str, Any]]:
    return ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]


def test_check_mode_creates_nothing(ec2: Any, vpc_id: str, api_calls: Calls, capsys: Any) -> None:
    result = run(args_for(vpc_id), capsys, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["traffic_type"] == "ALL"
    assert mutating(api_calls) == []
    assert live(ec2, vpc_id) == []


def test_create_then_rerun_is_a_no_op(ec2: Any, vpc_id: str, api_calls: Calls, capsys: Any) -> None:
    first = run(args_for(vpc_id), capsys)
    assert first["changed"] is True
    assert mutating(api_calls) == ["CreateFlowLogs"]
    (flow_log,) = live(ec2, vpc_id)
    assert flow_log["LogGroupName"] == GROUP
    assert flow_log["DeliverLogsPermissionArn"] == ROLE
    assert flow_log["TrafficType"] == "ALL"
    assert {t["Key"]: t["Value"] for t in flow_log["Tags"]} == {"Name": "webstack-edge-vpc-flow-logs"}
    assert first["flow_log"]["flow_log_id"] == flow_log["FlowLogId"]

    api_calls.clear()
    second = run(args_for(vpc_id), capsys, check_mode=True)
    third = run(args_for(vpc_id), capsys)
    assert second["changed"] is False
    assert third["changed"] is False
    assert mutating(api_calls) == []


def test_an_immutable_change_replaces_the_flow_log(ec2: Any, vpc_id: str, api_calls: Calls, capsys: Any) -> None:
    run(args_for(vpc_id), capsys)
    (old,) = live(ec2, vpc_id)
    api_calls.clear()

    result = run(args_for(vpc_id, traffic_type="REJECT"), capsys, diff=True)

    assert result["changed"] is True
    assert mutating(api_calls) == ["DeleteFlowLogs", "CreateFlowLogs"]
    (new,) = live(ec2, vpc_id)
    assert new["FlowLogId"] != old["FlowLogId"]
    assert new["TrafficType"] == "REJECT"
    assert result["diff"]["before"]["traffic_type"] == "ALL"


def test_a_tag_change_is_made_in_place(ec2: Any, vpc_id: str, api_calls: Calls, capsys: Any) -> None:
    run(args_for(vpc_id), capsys)
    (old,) = live(ec2, vpc_id)
    api_calls.clear()

    result = run(args_for(vpc_id, tags={"Name": "renamed"}), capsys)

    assert result["changed"] is True
    assert mutating(api_calls) == ["CreateTags"]
    (new,) = live(ec2, vpc_id)
    assert new["FlowLogId"] == old["FlowLogId"]
    assert {t["Key"]: t["Value"] for t in new["Tags"]} == {"Name": "renamed"}


def test_other_flow_logs_of_the_vpc_are_left_alone(ec2: Any, vpc_id: str, api_calls: Calls, capsys: Any) -> None:
    ec2.create_flow_logs(
        ResourceIds=[vpc_id], ResourceType="VPC", TrafficType="ALL", LogGroupName="other", DeliverLogsPermissionArn=ROLE
    )
    run(args_for(vpc_id), capsys)
    run(args_for(vpc_id, state="absent"), capsys)
    assert [f["LogGroupName"] for f in live(ec2, vpc_id)] == ["other"]


def test_absent_deletes_and_then_is_a_no_op(ec2: Any, vpc_id: str, api_calls: Calls, capsys: Any) -> None:
    run(args_for(vpc_id), capsys)
    check = run(args_for(vpc_id, state="absent"), capsys, check_mode=True)
    assert check["changed"] is True
    assert len(live(ec2, vpc_id)) == 1

    gone = run(args_for(vpc_id, state="absent"), capsys)
    again = run(args_for(vpc_id, state="absent"), capsys)

    assert gone["changed"] is True
    assert again["changed"] is False
    assert live(ec2, vpc_id) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"resource_id": "subnet-0abc"}, "is not the id of a VPC"),
        ({"deliver_logs_permission_arn": None}, "needs the ARN of an IAM role"),
        ({"log_destination": "arn:aws:s3:::bucket"}, "takes log_group_name, not log_destination"),
        ({"log_destination_type": "s3", "deliver_logs_permission_arn": None}, "takes log_destination"),
    ],
)
def test_bad_input_is_refused_before_any_call(
    ec2: Any, vpc_id: str, api_calls: Calls, capsys: Any, extra: dict[str, Any], message: str
) -> None:
    result = run(args_for(vpc_id, **extra), capsys)
    assert result["failed"] is True
    assert message in result["msg"]
    assert api_calls == []
