"""Unit tests of plugins/modules/autoscaling_launch_template_rollout.py.

moto 5.2.5 has no instance refresh API, so every test runs against botocore's Stubber:
one stubbed client per service (autoscaling and ec2), each expected call queued with its
exact parameters; a call that was not queued, or a queued one never made, fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from botocore.stub import Stubber
from conftest import Calls, record_calls, run_module

MODULE = "autoscaling_launch_template_rollout"
NAME = "webstack-staging-frontend"
TEMPLATE_ID = "lt-0123456789abcdef0"
TEMPLATE_NAME = "webstack-staging-frontend"
REFRESH_ID = "08b91cf7-8fa6-48af-b6a6-d227f40f1b9b"
PREFERENCES = {"MinHealthyPercentage": 90, "InstanceWarmup": 300, "SkipMatching": True}


class Stubs:
    """The module's two clients under Stubber, and every call they made."""

    def __init__(self) -> None:
        self.calls: Calls = []
        self.clients = {service: boto3.client(service, region_name="us-east-1") for service in ("autoscaling", "ec2")}
        for client in self.clients.values():
            record_calls(client, self.calls)
        self.autoscaling = Stubber(self.clients["autoscaling"])
        self.ec2 = Stubber(self.clients["ec2"])

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]


@pytest.fixture
def stubs(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubs]:
    stubs = Stubs()

    def stubbed_client(self: AnsibleAWSModule, service: str, retry_decorator: Any = None, **kwargs: Any) -> Any:
        client = stubs.clients[service]
        return RetryingBotoClientWrapper(client, retry_decorator) if retry_decorator else client

    monkeypatch.setattr(AnsibleAWSModule, "client", stubbed_client)
    with stubs.autoscaling, stubs.ec2:
        yield stubs
        stubs.autoscaling.assert_no_pending_responses()
        stubs.ec2.assert_no_pending_responses()


def run(capsys: pytest.CaptureFixture[str], args: dict[str, Any] | None = None, **flags: Any) -> dict[str, Any]:
    return run_module(MODULE, {"name": NAME, **(args or {}), **{f"_ansible_{k}": v for k, v in flags.items()}}, capsys)


def instance(instance_id: str, version: str | None, state: str = "InService") -> dict[str, Any]:
    described: dict[str, Any] = {
        "InstanceId": instance_id,
        "AvailabilityZone": "us-east-1a",
        "LifecycleState": state,
        "HealthStatus": "Healthy",
        "ProtectedFromScaleIn": False,
    }
    if version is not None:
        described["LaunchTemplate"] = {
            "LaunchTemplateId": TEMPLATE_ID,
            "LaunchTemplateName": TEMPLATE_NAME,
            "Version": version,
        }
    return described


def group(instances: list[dict[str, Any]], version: str | None = "3", mixed: bool = False) -> dict[str, Any]:
    spec = {"LaunchTemplateId": TEMPLATE_ID, "LaunchTemplateName": TEMPLATE_NAME}
    if version is not None:
        spec["Version"] = version
    described: dict[str, Any] = {
        "AutoScalingGroupName": NAME,
        "MinSize": 2,
        "MaxSize": 4,
        "DesiredCapacity": 2,
        "DefaultCooldown": 300,
        "AvailabilityZones": ["us-east-1a"],
        "HealthCheckType": "ELB",
        "CreatedTime": "2026-01-01T00:00:00Z",
        "Instances": instances,
    }
    if mixed:
        described["MixedInstancesPolicy"] = {"LaunchTemplate": {"LaunchTemplateSpecification": spec}}
    else:
        described["LaunchTemplate"] = spec
    return described


def expect_group(stubs: Stubs, described: dict[str, Any]) -> None:
    stubs.autoscaling.add_response(
        "describe_auto_scaling_groups", {"AutoScalingGroups": [described]}, {"AutoScalingGroupNames": [NAME]}
    )


def expect_template(stubs: Stubs, latest: int = 3, default: int = 2) -> None:
    stubs.ec2.add_response(
        "describe_launch_templates",
        {
            "LaunchTemplates": [
                {
                    "LaunchTemplateId": TEMPLATE_ID,
                    "LaunchTemplateName": TEMPLATE_NAME,
                    "LatestVersionNumber": latest,
                    "DefaultVersionNumber": default,
                }
            ]
        },
        {"LaunchTemplateIds": [TEMPLATE_ID]},
    )


def refresh(status: str, refresh_id: str = REFRESH_ID, **extra: Any) -> dict[str, Any]:
    return {"InstanceRefreshId": refresh_id, "AutoScalingGroupName": NAME, "Status": status, **extra}


def expect_refreshes(stubs: Stubs, refreshes: list[dict[str, Any]], ids: list[str] | None = None) -> None:
    expected: dict[str, Any] = {"AutoScalingGroupName": NAME}
    if ids is not None:
        expected["InstanceRefreshIds"] = ids
    stubs.autoscaling.add_response("describe_instance_refreshes", {"InstanceRefreshes": refreshes}, expected)


def expect_start(stubs: Stubs, preferences: dict[str, Any] = PREFERENCES, version: str | None = None) -> None:
    expected: dict[str, Any] = {"AutoScalingGroupName": NAME, "Strategy": "Rolling", "Preferences": preferences}
    if version is not None:
        expected["DesiredConfiguration"] = {"LaunchTemplate": {"LaunchTemplateId": TEMPLATE_ID, "Version": version}}
    stubs.autoscaling.add_response("start_instance_refresh", {"InstanceRefreshId": REFRESH_ID}, expected)


OUTDATED = [instance("i-0000000000000000b", "2"), instance("i-0000000000000000a", "3")]


# --- nothing to do, and a refresh started -------------------------------------------------


def test_current_instances_start_no_refresh(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group([instance("i-0000000000000000a", "3"), instance("i-0000000000000000b", "3")]))

    result = run(capsys)

    assert result["changed"] is False
    assert result["outdated_instances"] == []
    assert (result["instance_refresh_id"], result["status"]) == (None, None)
    assert stubs.operations() == ["DescribeAutoScalingGroups"]


def test_outdated_instance_starts_exactly_one_rolling_refresh(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group(OUTDATED))
    expect_refreshes(stubs, [refresh("Successful", "older-refresh")])
    expect_start(stubs)
    expect_refreshes(stubs, [refresh("Pending")], ids=[REFRESH_ID])

    result = run(capsys)

    assert result["changed"] is True
    assert result["outdated_instances"] == ["i-0000000000000000b"]
    assert (result["instance_refresh_id"], result["status"]) == (REFRESH_ID, "Pending")
    assert [call for call in stubs.calls if call[0] == "StartInstanceRefresh"] == [
        ("StartInstanceRefresh", {"AutoScalingGroupName": NAME, "Strategy": "Rolling", "Preferences": PREFERENCES})
    ]


def test_options_become_the_refresh_preferences(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group(OUTDATED))
    expect_refreshes(stubs, [])
    expect_start(stubs, {"MinHealthyPercentage": 50, "InstanceWarmup": 60, "SkipMatching": False})
    expect_refreshes(stubs, [refresh("Pending")], ids=[REFRESH_ID])

    result = run(capsys, {"min_healthy_percentage": 50, "instance_warmup": 60, "skip_matching": False})

    assert result["changed"] is True


def test_instances_not_in_service_do_not_count(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group([instance("i-0000000000000000a", "3"), instance("i-0000000000000000b", "2", "Pending")]))

    result = run(capsys)

    assert result["changed"] is False


def test_instance_from_another_template_or_none_is_outdated(stubs: Stubs, capsys) -> None:
    other = instance("i-0000000000000000c", "3")
    other["LaunchTemplate"]["LaunchTemplateId"] = "lt-0fffffffffffffff0"
    expect_group(stubs, group([instance("i-0000000000000000a", "3"), other, instance("i-0000000000000000d", None)]))
    expect_refreshes(stubs, [])

    result = run(capsys, check_mode=True)

    assert result["outdated_instances"] == ["i-0000000000000000c", "i-0000000000000000d"]


# --- an active refresh --------------------------------------------------------------------


@pytest.mark.parametrize("status", ["Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking"])
def test_active_refresh_blocks_a_new_one_and_is_reported(stubs: Stubs, capsys, status: str) -> None:
    expect_group(stubs, group(OUTDATED))
    expect_refreshes(stubs, [refresh(status, "running-refresh"), refresh("Successful", "older-refresh")])

    result = run(capsys)

    assert result["changed"] is False
    assert (result["instance_refresh_id"], result["status"]) == ("running-refresh", status)
    assert "StartInstanceRefresh" not in stubs.operations()
    assert f"running-refresh of {NAME} is {status}, so no other was started" in json.dumps(result["warnings"])


# --- check mode and diff ------------------------------------------------------------------


def test_check_mode_reports_changed_without_starting(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group(OUTDATED))
    expect_refreshes(stubs, [])

    result = run(capsys, check_mode=True)

    assert result["changed"] is True
    assert result["outdated_instances"] == ["i-0000000000000000b"]
    assert result["instance_refresh_id"] is None
    assert stubs.operations() == ["DescribeAutoScalingGroups", "DescribeInstanceRefreshes"]


def test_diff_shows_the_outdated_instances_and_the_refresh(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group(OUTDATED))
    expect_refreshes(stubs, [])
    expect_start(stubs)
    expect_refreshes(stubs, [refresh("Pending")], ids=[REFRESH_ID])

    result = run(capsys, diff=True)

    assert result["diff"] == {
        "before": {"group_version": "3", "outdated_instances": ["i-0000000000000000b"], "instance_refresh_id": None},
        "after": {"group_version": "3", "outdated_instances": [], "instance_refresh_id": REFRESH_ID},
    }


def test_diff_without_outdated_instances_is_empty(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group([instance("i-0000000000000000a", "3")]))

    result = run(capsys, diff=True)

    assert result["diff"]["before"] == result["diff"]["after"]


# --- resolving the version ----------------------------------------------------------------


def test_latest_is_resolved_through_describe_launch_templates(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group([instance("i-0000000000000000a", "3"), instance("i-0000000000000000b", "2")], "$Latest"))
    expect_template(stubs, latest=3, default=2)
    expect_refreshes(stubs, [])

    result = run(capsys, check_mode=True)

    assert result["outdated_instances"] == ["i-0000000000000000b"]
    assert result["launch_template"] == {
        "launch_template_id": TEMPLATE_ID,
        "launch_template_name": TEMPLATE_NAME,
        "version": "3",
        "requested_version": "$Latest",
    }


@pytest.mark.parametrize("version", ["$Default", None])
def test_default_or_no_version_is_the_default_version(stubs: Stubs, capsys, version: str | None) -> None:
    expect_group(stubs, group([instance("i-0000000000000000a", "2")], version))
    expect_template(stubs, latest=3, default=2)

    result = run(capsys)

    assert result["changed"] is False
    assert result["launch_template"]["version"] == "2"


def test_mixed_instances_policy_template_is_used(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group([instance("i-0000000000000000a", "3")], "$Latest", mixed=True))
    expect_template(stubs, latest=4)
    expect_refreshes(stubs, [])

    result = run(capsys, check_mode=True)

    assert result["changed"] is True
    assert result["launch_template"]["version"] == "4"


# --- waiting ------------------------------------------------------------------------------


def test_wait_polls_until_the_refresh_succeeds(stubs: Stubs, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    expect_group(stubs, group(OUTDATED))
    expect_refreshes(stubs, [])
    expect_start(stubs)
    for status in ("Pending", "InProgress", "Successful"):
        expect_refreshes(stubs, [refresh(status)], ids=[REFRESH_ID])

    result = run(capsys, {"wait": True})

    assert (result["changed"], result["status"]) == (True, "Successful")
    assert len(sleeps) == 2


def test_wait_fails_when_the_refresh_fails(stubs: Stubs, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.sleep", lambda _: None)
    expect_group(stubs, group(OUTDATED))
    expect_refreshes(stubs, [])
    expect_start(stubs)
    expect_refreshes(stubs, [refresh("Failed", StatusReason="Instances failed to pass health checks")], [REFRESH_ID])

    result = run(capsys, {"wait": True})

    assert result["failed"] is True
    assert result["msg"] == (
        f"Instance refresh {REFRESH_ID} of Auto Scaling group {NAME} ended Failed: "
        "Instances failed to pass health checks"
    )


def test_wait_fails_after_the_timeout(stubs: Stubs, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    expect_group(stubs, group(OUTDATED))
    expect_refreshes(stubs, [])
    expect_start(stubs)
    expect_refreshes(stubs, [refresh("InProgress", PercentageComplete=50)], ids=[REFRESH_ID])

    result = run(capsys, {"wait": True, "wait_timeout": 0})

    assert result["failed"] is True
    assert "is still InProgress after 0 s (50% done)" in result["msg"]
    assert result["instance_refresh_id"] == REFRESH_ID


# --- errors -------------------------------------------------------------------------------


def test_client_error_on_start_fails_with_its_message(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group(OUTDATED))
    expect_refreshes(stubs, [])
    stubs.autoscaling.add_client_error(
        "start_instance_refresh",
        service_error_code="InstanceRefreshInProgress",
        service_message="An Instance Refresh is already in progress",
    )

    result = run(capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to start an instance refresh of Auto Scaling group {NAME}: ")
    assert result["error"]["code"] == "InstanceRefreshInProgress"


def test_client_error_on_describe_fails_naming_the_group(stubs: Stubs, capsys) -> None:
    stubs.autoscaling.add_client_error(
        "describe_auto_scaling_groups", service_error_code="AccessDenied", service_message="not allowed"
    )

    result = run(capsys)

    assert result["failed"] is True
    assert result["msg"].startswith(f"Failed to describe Auto Scaling group {NAME}: ")


def test_missing_group_fails(stubs: Stubs, capsys) -> None:
    stubs.autoscaling.add_response(
        "describe_auto_scaling_groups", {"AutoScalingGroups": []}, {"AutoScalingGroupNames": [NAME]}
    )

    result = run(capsys)

    assert result == {**result, "failed": True, "msg": f"Auto Scaling group {NAME} does not exist"}


def test_group_with_a_launch_configuration_fails(stubs: Stubs, capsys) -> None:
    described = group([])
    del described["LaunchTemplate"]
    described["LaunchConfigurationName"] = "old-config"
    expect_group(stubs, described)

    result = run(capsys)

    assert result["failed"] is True
    assert f"{NAME} launches from the launch configuration old-config; expected a launch template" in result["msg"]


def test_out_of_range_percentage_fails_before_any_call(stubs: Stubs, capsys) -> None:
    result = run(capsys, {"min_healthy_percentage": 101})

    assert result["failed"] is True
    assert result["msg"] == "min_healthy_percentage must be 0 to 100, got 101"
    assert stubs.calls == []


# --- a wanted version: launch before terminating, roll back on failure (issue 18) ----------

SAFE = {"launch_template_version": "4", "min_healthy_percentage": 100, "max_healthy_percentage": 200}
SAFE_PREFERENCES = {**PREFERENCES, "MinHealthyPercentage": 100, "MaxHealthyPercentage": 200, "AutoRollback": True}


def test_a_wanted_version_is_the_refreshs_desired_configuration_with_rollback(stubs: Stubs, capsys) -> None:
    # The group still launches version 3, its instances run 3: the refresh moves both to 4.
    expect_group(stubs, group([instance("i-0000000000000000a", "3")]))
    expect_refreshes(stubs, [])
    expect_start(stubs, SAFE_PREFERENCES, version="4")
    expect_refreshes(stubs, [refresh("Pending")], ids=[REFRESH_ID])

    result = run(capsys, {**SAFE, "auto_rollback": True})

    assert result["changed"] is True
    assert result["group_launch_template_version"] == "3"
    assert result["launch_template"]["version"] == "4"
    assert result["outdated_instances"] == ["i-0000000000000000a"]


def test_an_empty_group_on_an_older_version_is_moved_by_a_refresh(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group([]))
    expect_refreshes(stubs, [])
    expect_start(stubs, {**SAFE_PREFERENCES, "AutoRollback": False}, version="4")
    expect_refreshes(stubs, [refresh("Successful")], ids=[REFRESH_ID])

    result = run(capsys, SAFE)

    assert (result["changed"], result["outdated_instances"]) == (True, [])


def test_the_group_and_its_instances_on_the_wanted_version_start_nothing(stubs: Stubs, capsys) -> None:
    expect_group(stubs, group([instance("i-0000000000000000a", "4")], version="4"))

    result = run(capsys, {**SAFE, "auto_rollback": True})

    assert result["changed"] is False
    assert stubs.operations() == ["DescribeAutoScalingGroups"]


def test_a_waiting_play_fails_with_the_reason_when_the_refresh_fails_and_rolls_back(
    stubs: Stubs, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda _: None)
    expect_group(stubs, group([instance("i-0000000000000000a", "3")]))
    expect_refreshes(stubs, [])
    expect_start(stubs, SAFE_PREFERENCES, version="4")
    for status in ("Pending", "InProgress"):
        expect_refreshes(stubs, [refresh(status)], ids=[REFRESH_ID])
    reason = "Instances failed to pass health checks; the refresh is rolled back"
    expect_refreshes(stubs, [refresh("Failed", StatusReason=reason)], ids=[REFRESH_ID])

    result = run(capsys, {**SAFE, "auto_rollback": True, "wait": True})

    assert result["failed"] is True
    assert result["msg"] == f"Instance refresh {REFRESH_ID} of Auto Scaling group {NAME} ended Failed: {reason}"
    assert result["status"] == "Failed"


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({"max_healthy_percentage": 250}, "max_healthy_percentage"),
        ({"min_healthy_percentage": 50, "max_healthy_percentage": 200}, "max_healthy_percentage"),
        ({"auto_rollback": True}, "auto_rollback needs launch_template_version"),
        ({"launch_template_version": "$Latest"}, "launch_template_version must be a version number"),
    ],
)
def test_invalid_refresh_options_fail_before_any_call(stubs: Stubs, capsys, args: dict[str, Any], named: str) -> None:
    result = run(capsys, args)

    assert result["failed"] is True
    assert named in result["msg"]
    assert stubs.operations() == []
