#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Ansible's module layout puts the documentation blocks before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: autoscaling_launch_template_rollout
short_description: Roll an Auto Scaling group's instances onto its current launch template version
description:
  - Start an instance refresh of an EC2 Auto Scaling group when, and only when, one of its
    C(InService) instances runs another launch template version than the one the group
    launches now, and no refresh of the group is active.
  - The group's launch template comes from its C(LaunchTemplate) or from its
    C(MixedInstancesPolicy). A version of V($Latest) or V($Default) (or none, which AWS reads
    as V($Default)) is resolved to a number through C(DescribeLaunchTemplates).
  - An instance is outdated when it was launched from another launch template or another
    version, or from no launch template at all (a launch configuration).
  - Unlike M(amazon.aws.autoscaling_instance_refresh), which starts a refresh on every run,
    a run whose instances are all current changes nothing.
  - The refresh is C(Rolling); AWS replaces the outdated instances a few at a time and keeps
    O(min_healthy_percentage) of the desired capacity in service and healthy meanwhile. With
    O(max_healthy_percentage) above 100 it launches new instances before terminating old ones,
    so that a one-instance group never goes without one.
  - With O(launch_template_version), the refresh carries that version as its desired configuration;
    the group itself keeps launching its current version until the refresh succeeds, AWS then
    points it at the new one, and with O(auto_rollback) a failed refresh puts the replaced
    instances back on the old version (AWS rolls back only to a numbered version given this way).
author:
  - webstack maintainers (!UNKNOWN)
options:
  name:
    description:
      - Name of the Auto Scaling group.
    type: str
    required: true
  launch_template_version:
    description:
      - The numbered version of the group's launch template the instances should run. When the group
        launches another version, or an instance runs another one, a refresh to this version starts
        (its desired configuration), and the group moves to it when the refresh succeeds.
      - Without it, the version the group launches now.
    type: str
  min_healthy_percentage:
    description:
      - Percentage of the desired capacity that stays in service and healthy during the refresh.
    type: int
    default: 90
  max_healthy_percentage:
    description:
      - Percentage of the desired capacity the group may reach during the refresh, 100 to 200, at most
        100 above O(min_healthy_percentage). Above 100, new instances are launched before old ones
        are terminated. Without it, AWS's default (old instances go first).
    type: int
  auto_rollback:
    description:
      - Let AWS roll the refresh back when it fails (new instances fail their health checks). Needs
        O(launch_template_version).
    type: bool
    default: false
  instance_warmup:
    description:
      - Seconds a new instance needs before it counts as healthy and the refresh moves on.
    type: int
    default: 300
  skip_matching:
    description:
      - Leave alone the instances that already run the wanted launch template version.
    type: bool
    default: true
  wait:
    description:
      - Wait until the refresh the module started ends, and fail unless it ends V(Successful).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait when O(wait=true).
    type: int
    default: 1800
notes:
  - A refresh that is V(Pending), V(InProgress), V(Cancelling), V(RollbackInProgress) or
    V(Baking) blocks another one; the module then starts none, reports that refresh and warns.
    Run it again once that refresh has ended.
  - Instance-type overrides of a mixed instances policy that name their own launch template
    are not read; instances launched from such a template count as outdated.
  - Check mode reads only and reports C(changed) as a real run would.
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reports the outdated instances and that a refresh would start, without starting it.
    support: full
  diff_mode:
    description: Shows the outdated instances and the refresh before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the frontend instances run the group's current launch template version
  webstack.aws.autoscaling_launch_template_rollout:
    name: webstack-staging-frontend

- name: Ensure the backend instances run the current version, half of them at a time, and wait
  webstack.aws.autoscaling_launch_template_rollout:
    name: webstack-prod-backend
    min_healthy_percentage: 50
    instance_warmup: 120
    wait: true
    wait_timeout: 2400

- name: Ensure the frontend instances run version 4, launching before terminating, rolled back on failure
  webstack.aws.autoscaling_launch_template_rollout:
    name: webstack-staging-frontend
    launch_template_version: "4"
    min_healthy_percentage: 100
    max_healthy_percentage: 200
    auto_rollback: true
"""

RETURN = r"""
instance_refresh_id:
  description:
    - ID of the refresh the module started, or of the active refresh that kept it from starting one.
    - None when no refresh was needed, and in check mode.
  returned: always
  type: str
  sample: 08b91cf7-8fa6-48af-b6a6-d227f40f1b9b
status:
  description:
    - Status of that refresh (V(Pending), V(InProgress), V(Successful), ...); None without one.
  returned: always
  type: str
  sample: Pending
outdated_instances:
  description: IDs of the C(InService) instances that ran another launch template version, sorted.
  returned: always
  type: list
  elements: str
  sample: ["i-0123456789abcdef0"]
group_launch_template_version:
  description: The version number the group launched when the module ran (before a refresh moved it).
  returned: always
  type: str
  sample: "3"
launch_template:
  description:
    - The launch template the instances should run, with its version resolved to a number
      (O(launch_template_version), or the version the group launches).
  returned: always
  type: dict
  contains:
    launch_template_id:
      description: ID of the launch template.
      type: str
      sample: lt-0123456789abcdef0
    launch_template_name:
      description: Name of the launch template.
      type: str
      sample: webstack-staging-frontend
    version:
      description: The version number new instances get.
      type: str
      sample: "3"
    requested_version:
      description: The version as the group names it (V($Latest), V($Default), a number, or None).
      type: str
      sample: $Latest
"""

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, exit_with_result, wait_until

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports the missing SDK

# Refreshes during which AWS refuses to start another one.
ACTIVE_STATUSES = ("Pending", "InProgress", "Cancelling", "RollbackInProgress", "Baking")
POLL_SECONDS = 15


def argument_spec() -> dict[str, Any]:
    return dict(
        name=dict(type="str", required=True),
        launch_template_version=dict(type="str"),
        min_healthy_percentage=dict(type="int", default=90),
        max_healthy_percentage=dict(type="int"),
        auto_rollback=dict(type="bool", default=False),
        instance_warmup=dict(type="int", default=300),
        skip_matching=dict(type="bool", default=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=1800),
    )


def check_params(module: AnsibleAWSModule) -> None:
    params = module.params
    if not 0 <= params["min_healthy_percentage"] <= 100:
        module.fail_json(msg=f"min_healthy_percentage must be 0 to 100, got {params['min_healthy_percentage']}")
    for option in ("instance_warmup", "wait_timeout"):
        if params[option] < 0:
            module.fail_json(msg=f"{option} must be 0 or more seconds, got {params[option]}")
    maximum = params["max_healthy_percentage"]
    if maximum is not None and not (100 <= maximum <= 200 and maximum - params["min_healthy_percentage"] <= 100):
        module.fail_json(
            msg=f"max_healthy_percentage must be 100 to 200 and at most 100 above min_healthy_percentage "
            f"({params['min_healthy_percentage']}), got {maximum}"
        )
    version = params["launch_template_version"]
    if version is not None and not version.isdigit():
        module.fail_json(
            msg=f"launch_template_version must be a version number (AWS rolls back only to one), got {version!r}"
        )
    if params["auto_rollback"] and version is None:
        module.fail_json(
            msg="auto_rollback needs launch_template_version: AWS rolls back only a refresh that names its version"
        )


# --- reading ------------------------------------------------------------------------------


def describe_group(module: AnsibleAWSModule, client: Any, name: str) -> dict[str, Any]:
    try:
        groups = client.describe_auto_scaling_groups(AutoScalingGroupNames=[name], aws_retry=True)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to describe Auto Scaling group {name}")
    if not groups["AutoScalingGroups"]:
        module.fail_json(msg=f"Auto Scaling group {name} does not exist")
    return groups["AutoScalingGroups"][0]


def group_template(module: AnsibleAWSModule, group: dict[str, Any]) -> dict[str, Any]:
    """The launch template specification the group launches from (LaunchTemplate or MixedInstancesPolicy)."""
    mixed = group.get("MixedInstancesPolicy", {}).get("LaunchTemplate", {}).get("LaunchTemplateSpecification")
    spec = group.get("LaunchTemplate") or mixed
    if not spec:
        source = group.get("LaunchConfigurationName")
        found = f"the launch configuration {source}" if source else "no launch template"
        module.fail_json(
            msg=f"Auto Scaling group {group['AutoScalingGroupName']} launches from {found}; "
            "expected a launch template (LaunchTemplate or MixedInstancesPolicy)"
        )
    return spec


def resolve_version(module: AnsibleAWSModule, client: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """The template with its version as a number: $Latest and $Default (or none) asked of EC2."""
    requested = spec.get("Version")
    template = {
        "launch_template_id": spec.get("LaunchTemplateId"),
        "launch_template_name": spec.get("LaunchTemplateName"),
        "version": requested,
        "requested_version": requested,
    }
    if requested is not None and requested.isdigit():
        return template
    if spec.get("LaunchTemplateId"):
        query, reference = {"LaunchTemplateIds": [spec["LaunchTemplateId"]]}, spec["LaunchTemplateId"]
    else:
        query, reference = {"LaunchTemplateNames": [spec["LaunchTemplateName"]]}, spec["LaunchTemplateName"]
    try:
        described = client.describe_launch_templates(aws_retry=True, **query)["LaunchTemplates"][0]
    except AWS_ERRORS as e:
        version = requested or "$Default"
        module.fail_json_aws(e, msg=f"Failed to resolve version {version} of launch template {reference}")
    key = "LatestVersionNumber" if requested == "$Latest" else "DefaultVersionNumber"
    template.update(
        launch_template_id=described["LaunchTemplateId"],
        launch_template_name=described["LaunchTemplateName"],
        version=str(described[key]),
    )
    return template


def outdated_instances(group: dict[str, Any], template: dict[str, Any]) -> list[str]:
    """InService instances launched from another template or version than ``template``, sorted."""
    outdated = []
    for instance in group.get("Instances", []):
        if instance.get("LifecycleState") != "InService":
            continue
        launched = instance.get("LaunchTemplate") or {}
        same_template = launched.get("LaunchTemplateId") == template["launch_template_id"]
        if not same_template or str(launched.get("Version")) != template["version"]:
            outdated.append(instance["InstanceId"])
    return sorted(outdated)


def describe_refreshes(module: AnsibleAWSModule, client: Any, name: str, **query: Any) -> list[dict[str, Any]]:
    """The group's refreshes, newest first (AWS's order); only the first page, where an active one is."""
    try:
        response = client.describe_instance_refreshes(AutoScalingGroupName=name, aws_retry=True, **query)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to describe the instance refreshes of Auto Scaling group {name}")
    return response.get("InstanceRefreshes", [])


def active_refresh(module: AnsibleAWSModule, client: Any, name: str) -> dict[str, Any] | None:
    refreshes = describe_refreshes(module, client, name)
    return next((refresh for refresh in refreshes if refresh.get("Status") in ACTIVE_STATUSES), None)


# --- acting -------------------------------------------------------------------------------


def refresh_request(params: dict[str, Any], name: str, template: dict[str, Any]) -> dict[str, Any]:
    """StartInstanceRefresh's arguments: the preferences and, with a wanted version, the desired configuration."""
    preferences: dict[str, Any] = {
        "MinHealthyPercentage": params["min_healthy_percentage"],
        "InstanceWarmup": params["instance_warmup"],
        "SkipMatching": params["skip_matching"],
    }
    if params["max_healthy_percentage"] is not None:
        preferences["MaxHealthyPercentage"] = params["max_healthy_percentage"]
    request: dict[str, Any] = {"AutoScalingGroupName": name, "Strategy": "Rolling", "Preferences": preferences}
    if params["launch_template_version"] is not None:
        preferences["AutoRollback"] = params["auto_rollback"]
        request["DesiredConfiguration"] = {
            "LaunchTemplate": {"LaunchTemplateId": template["launch_template_id"], "Version": template["version"]}
        }
    return request


def start_refresh(module: AnsibleAWSModule, client: Any, name: str, template: dict[str, Any]) -> str:
    try:
        response = client.start_instance_refresh(aws_retry=True, **refresh_request(module.params, name, template))
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to start an instance refresh of Auto Scaling group {name}")
    return response["InstanceRefreshId"]


def refresh_status(module: AnsibleAWSModule, client: Any, name: str, refresh_id: str) -> dict[str, Any]:
    found = describe_refreshes(module, client, name, InstanceRefreshIds=[refresh_id])
    if not found:
        module.fail_json(msg=f"Instance refresh {refresh_id} of Auto Scaling group {name} is not listed")
    return found[0]


def wait_for_refresh(module: AnsibleAWSModule, client: Any, name: str, refresh_id: str) -> dict[str, Any]:
    """Poll until the refresh ends; fail unless it ends Successful or the time is up."""
    ended, refresh = wait_until(
        lambda: refresh_status(module, client, name, refresh_id),
        lambda refresh: refresh.get("Status") not in ACTIVE_STATUSES,
        module.params["wait_timeout"],
        delay=POLL_SECONDS,
        max_delay=POLL_SECONDS,
    )
    status = refresh.get("Status")
    if not ended:
        module.fail_json(
            msg=f"Instance refresh {refresh_id} of Auto Scaling group {name} is still {status} after "
            f"{module.params['wait_timeout']} s ({refresh.get('PercentageComplete', 0)}% done)",
            instance_refresh_id=refresh_id,
            status=status,
        )
    if status != "Successful":
        module.fail_json(
            msg=f"Instance refresh {refresh_id} of Auto Scaling group {name} ended {status}: "
            f"{refresh.get('StatusReason', 'no reason given')}",
            instance_refresh_id=refresh_id,
            status=status,
        )
    return refresh


def main() -> None:
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    check_params(module)
    name = module.params["name"]
    autoscaling = aws_client(module, "autoscaling")
    ec2 = aws_client(module, "ec2")

    group = describe_group(module, autoscaling, name)
    launching = resolve_version(module, ec2, group_template(module, group))
    wanted = module.params["launch_template_version"]
    template = dict(launching, version=wanted) if wanted is not None else launching
    outdated = outdated_instances(group, template)
    result = dict(
        launch_template=template,
        group_launch_template_version=launching["version"],
        outdated_instances=outdated,
        instance_refresh_id=None,
        status=None,
    )
    before = {"group_version": launching["version"], "outdated_instances": outdated, "instance_refresh_id": None}
    # Nothing to do once the group launches the wanted version and every instance runs it.
    if not outdated and launching["version"] == template["version"]:
        exit_with_result(module, False, before, before, **result)

    active = active_refresh(module, autoscaling, name)
    if active:
        module.warn(
            f"Instance refresh {active['InstanceRefreshId']} of {name} is {active['Status']}, so no other was "
            f"started; the group launches version {launching['version']} and "
            f"{', '.join(outdated) or 'no instance'} still run another version than {template['version']}. "
            "Run again once that refresh has ended."
        )
        result.update(instance_refresh_id=active["InstanceRefreshId"], status=active["Status"])
        before["instance_refresh_id"] = active["InstanceRefreshId"]
        exit_with_result(module, False, before, before, **result)

    after = {"group_version": template["version"], "outdated_instances": [], "instance_refresh_id": None}
    if module.check_mode:
        exit_with_result(module, True, before, after, **result)
    refresh_id = start_refresh(module, autoscaling, name, template)
    if module.params["wait"]:
        refresh = wait_for_refresh(module, autoscaling, name, refresh_id)
    else:
        refresh = refresh_status(module, autoscaling, name, refresh_id)
    result.update(instance_refresh_id=refresh_id, status=refresh.get("Status"))
    exit_with_result(module, True, before, dict(after, instance_refresh_id=refresh_id), **result)


if __name__ == "__main__":
    main()
