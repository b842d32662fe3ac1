#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudwatch_metric_alarms
short_description: Manage every CloudWatch metric alarm under one name prefix, with tags, in one read
description:
  - Makes the metric alarms whose names start with O(name_prefix) equal to O(alarms) - what each watches,
    when it breaches, whom it notifies and its tags - and deletes those under the prefix that O(alarms) does
    not name (O(purge)). With O(state=absent), deletes every alarm under the prefix.
  - One paginated C(DescribeAlarms) by prefix and one C(ListTagsForResource) per alarm read the current state;
    C(PutMetricAlarm) is sent only for an alarm that is missing or differs, C(TagResource) / C(UntagResource)
    only for tags that differ, C(DeleteAlarms) (100 names a call) only for alarms to remove. A rerun only reads.
  - Why not M(amazon.aws.cloudwatch_metric_alarm) - it manages one alarm per process (a loop of 20 alarms is
    20 module runs), sets no tags (AWS ignores the tags of C(PutMetricAlarm) for an alarm that exists, so they
    need their own calls) and has no diff mode.
  - Every alarm is checked before any call for what AWS would refuse (a name outside the prefix, a comparison,
    statistic or missing-data treatment AWS does not know, a period that is not 10, 20, 30 or a multiple of 60,
    more datapoints than evaluation periods, more than 30 dimensions).
author:
  - webstack maintainers (!UNKNOWN)
options:
  name_prefix:
    description:
      - The name space this task owns. Every alarm of O(alarms) must be named with it, and with O(purge) or
        O(state=absent) every other alarm named with it is deleted.
    type: str
    required: true
  alarms:
    description:
      - The alarms, each a dict of C(name), C(namespace), C(metric_name), C(statistic), C(comparison),
        C(threshold), C(period), C(evaluation_periods) and optionally C(datapoints_to_alarm) (default
        C(evaluation_periods)), C(dimensions) (a dict), C(unit), C(treat_missing_data) (default V(missing)),
        C(description), C(alarm_actions), C(ok_actions), C(insufficient_data_actions) (lists of ARNs) and
        C(actions_enabled) (default V(true)).
    type: list
    elements: dict
    default: []
  tags:
    description:
      - Tags every alarm of O(alarms) carries. With O(purge_tags), other tags are removed.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove the tags of an alarm that O(tags) does not name.
    type: bool
    default: true
  purge:
    description: Delete the alarms named with O(name_prefix) that O(alarms) does not name.
    type: bool
    default: true
  state:
    description:
      - V(present) makes the alarms equal to O(alarms); V(absent) deletes every alarm named with O(name_prefix).
    type: str
    choices: [present, absent]
    default: present
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reads the alarms and reports which would be created, changed or deleted, without writing.
    support: full
  diff_mode:
    description: Shows each alarm under the prefix before and after, by name.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure production's alarms watch the ALB and the database, and no other alarm is named webstack-prod-
  webstack.aws.cloudwatch_metric_alarms:
    name_prefix: webstack-prod-
    alarms:
      - name: webstack-prod-target-5xx
        namespace: AWS/ApplicationELB
        metric_name: HTTPCode_Target_5XX_Count
        statistic: Sum
        comparison: GreaterThanThreshold
        threshold: 10
        period: 60
        evaluation_periods: 5
        dimensions:
          LoadBalancer: app/webstack-edge-alb/50dc6c495c0c9188
          TargetGroup: targetgroup/webstack-prod-frontend/1a2b3c4d5e6f7a8b
        treat_missing_data: notBreaching
        alarm_actions: [arn:aws:sns:eu-west-1:123456789012:webstack-prod-alarms]
        ok_actions: [arn:aws:sns:eu-west-1:123456789012:webstack-prod-alarms]
    tags:
      Environment: prod

- name: Ensure no alarm named webstack-staging- is left
  webstack.aws.cloudwatch_metric_alarms:
    name_prefix: webstack-staging-
    state: absent
"""

RETURN = r"""
alarms:
  description:
    - Every alarm named with O(name_prefix) once the task is done (in check mode, as it would be), by name,
      in the module's terms.
  returned: always
  type: dict
  sample:
    webstack-prod-target-5xx:
      namespace: AWS/ApplicationELB
      metric_name: HTTPCode_Target_5XX_Count
      statistic: Sum
      comparison: GreaterThanThreshold
      threshold: 10.0
      period: 60
      evaluation_periods: 5
      datapoints_to_alarm: 5
      dimensions: {LoadBalancer: app/webstack-edge-alb/50dc6c495c0c9188}
      unit: null
      treat_missing_data: notBreaching
      description: ""
      alarm_actions: [arn:aws:sns:eu-west-1:123456789012:webstack-prod-alarms]
      ok_actions: [arn:aws:sns:eu-west-1:123456789012:webstack-prod-alarms]
      insufficient_data_actions: []
      actions_enabled: true
      tags: {Environment: prod}
created:
  description: The names of the alarms created (or that would be).
  returned: always
  type: list
  elements: str
updated:
  description: The names of the alarms whose definition or tags changed (or would).
  returned: always
  type: list
  elements: str
deleted:
  description: The names of the alarms deleted (or that would be).
  returned: always
  type: list
  elements: str
"""

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, call, exit_with_result, paginate
from ansible_collections.webstack.aws.plugins.module_utils.tags import tag_changes, tag_list, tags_after

COMPARISONS = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
MISSING_DATA = ("breaching", "notBreaching", "ignore", "missing")
MAX_DIMENSIONS = 30
DELETE_BATCH = 100
REQUIRED = ("name", "namespace", "metric_name", "statistic", "comparison", "threshold", "period", "evaluation_periods")
OPTIONAL = {
    "datapoints_to_alarm": None,
    "dimensions": {},
    "unit": None,
    "treat_missing_data": "missing",
    "description": "",
    "alarm_actions": [],
    "ok_actions": [],
    "insufficient_data_actions": [],
    "actions_enabled": True,
}


def argument_spec() -> dict[str, Any]:
    return dict(
        name_prefix=dict(type="str", required=True),
        alarms=dict(type="list", elements="dict", default=[]),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        purge=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )


# --- inputs ---------------------------------------------------------------------------------


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def alarm_problems(index: int, alarm: dict[str, Any], prefix: str) -> list[str]:
    """What AWS would refuse in one alarm (or what would break the prefix's ownership), each naming where."""
    where = f"alarms[{index}] ({alarm.get('name', '?')})"
    missing = [key for key in REQUIRED if alarm.get(key) in (None, "")]
    if missing:
        return [f"{where} lacks {', '.join(missing)}"]
    problems = []
    unknown = sorted(set(alarm) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        problems.append(f"{where} has unknown keys {', '.join(unknown)}")
    if not str(alarm["name"]).startswith(prefix):
        problems.append(f"{where}: the name does not start with the name_prefix {prefix!r}")
    if alarm["comparison"] not in COMPARISONS:
        problems.append(f"{where}: comparison {alarm['comparison']!r} is not one of {', '.join(COMPARISONS)}")
    if alarm["statistic"] not in STATISTICS:
        problems.append(f"{where}: statistic {alarm['statistic']!r} is not one of {', '.join(STATISTICS)}")
    if alarm.get("treat_missing_data", "missing") not in MISSING_DATA:
        problems.append(f"{where}: treat_missing_data {alarm['treat_missing_data']!r} is not one of {MISSING_DATA}")
    try:
        float(alarm["threshold"])
    except (TypeError, ValueError):
        problems.append(f"{where}: threshold {alarm['threshold']!r} is not a number")
    period = as_int(alarm["period"])
    if period is None or period <= 0 or (period not in (10, 20, 30) and period % 60):
        problems.append(f"{where}: period {alarm['period']!r} is not 10, 20, 30 or a multiple of 60 seconds")
    evaluations = as_int(alarm["evaluation_periods"])
    if evaluations is None or evaluations < 1:
        problems.append(f"{where}: evaluation_periods {alarm['evaluation_periods']!r} is not a positive integer")
    datapoints = alarm.get("datapoints_to_alarm")
    if datapoints is not None:
        points = as_int(datapoints)
        if points is None or points < 1 or (evaluations is not None and points > evaluations):
            problems.append(f"{where}: datapoints_to_alarm {datapoints!r} is not 1..evaluation_periods")
    dimensions = alarm.get("dimensions") or {}
    if not isinstance(dimensions, dict) or len(dimensions) > MAX_DIMENSIONS:
        problems.append(f"{where}: dimensions must be a dict of at most {MAX_DIMENSIONS} names")
    return problems


def wanted_alarms(module: AnsibleAWSModule) -> dict[str, dict[str, Any]]:
    """The alarms asked for, by name, in the module's terms with defaults filled; fails on any problem."""
    prefix, alarms = module.params["name_prefix"], module.params["alarms"]
    if not prefix:
        module.fail_json(msg="name_prefix is empty: it would make every alarm of the region this task's")
    if module.params["state"] == "absent" and alarms:
        module.fail_json(msg="state=absent deletes every alarm named with name_prefix; give no alarms")
    problems = [problem for index, alarm in enumerate(alarms) for problem in alarm_problems(index, alarm, prefix)]
    names = [alarm.get("name") for alarm in alarms]
    problems += [f"the name {name!r} is given twice" for name in sorted({n for n in names if names.count(n) > 1})]
    if problems:
        module.fail_json(msg="The alarms would be refused: " + "; ".join(problems), problems=problems)
    wanted = {}
    for alarm in alarms:
        view = {**OPTIONAL, **{key: value for key, value in alarm.items() if value is not None}}
        view["threshold"] = float(view["threshold"])
        view["period"], view["evaluation_periods"] = int(float(view["period"])), int(float(view["evaluation_periods"]))
        view["datapoints_to_alarm"] = int(float(view["datapoints_to_alarm"] or view["evaluation_periods"]))
        view["dimensions"] = {str(key): str(value) for key, value in (view["dimensions"] or {}).items()}
        for key in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
            view[key] = sorted(view[key])
        view["description"] = str(view["description"])
        wanted[view.pop("name")] = view
    return wanted


# --- reading and acting ---------------------------------------------------------------------


def view_of(alarm: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """An alarm as DescribeAlarms reports it, in the module's terms."""
    return {
        "namespace": alarm.get("Namespace"),
        "metric_name": alarm.get("MetricName"),
        "statistic": alarm.get("Statistic"),
        "comparison": alarm.get("ComparisonOperator"),
        "threshold": float(alarm.get("Threshold", 0)),
        "period": alarm.get("Period"),
        "evaluation_periods": alarm.get("EvaluationPeriods"),
        "datapoints_to_alarm": alarm.get("DatapointsToAlarm") or alarm.get("EvaluationPeriods"),
        "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])},
        "unit": alarm.get("Unit"),
        "treat_missing_data": alarm.get("TreatMissingData") or "missing",
        "description": alarm.get("AlarmDescription") or "",
        "alarm_actions": sorted(alarm.get("AlarmActions", [])),
        "ok_actions": sorted(alarm.get("OKActions", [])),
        "insufficient_data_actions": sorted(alarm.get("InsufficientDataActions", [])),
        "actions_enabled": alarm.get("ActionsEnabled", True),
        "tags": tags,
        "arn": alarm.get("AlarmArn", ""),
    }


def read(module: AnsibleAWSModule, client: Any, prefix: str, with_tags: bool = True) -> dict[str, dict[str, Any]]:
    """Every metric alarm named with ``prefix``, by name, with its tags (or none: ``with_tags=False``)."""
    found = paginate(
        module, client, "describe_alarms", f"Failed to list the alarms named {prefix}*",
        AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"],
    )  # fmt: skip
    current = {}
    for alarm in found.get("MetricAlarms", []):
        if not with_tags:
            current[alarm["AlarmName"]] = view_of(alarm, {})
            continue
        listed = call(
            module, client.list_tags_for_resource, f"Failed to list the tags of alarm {alarm['AlarmName']}",
            missing=["ResourceNotFoundException"], ResourceARN=alarm["AlarmArn"],
        )  # fmt: skip
        tags = boto3_tag_list_to_ansible_dict((listed or {}).get("Tags", []))
        current[alarm["AlarmName"]] = view_of(alarm, tags)
    return current


def definition(view: dict[str, Any]) -> dict[str, Any]:
    """What PutMetricAlarm sets, without the tags and the ARN."""
    return {key: value for key, value in view.items() if key not in ("tags", "arn")}


def put_request(name: str, view: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    request = {
        "AlarmName": name,
        "Namespace": view["namespace"],
        "MetricName": view["metric_name"],
        "Statistic": view["statistic"],
        "ComparisonOperator": view["comparison"],
        "Threshold": view["threshold"],
        "Period": view["period"],
        "EvaluationPeriods": view["evaluation_periods"],
        "DatapointsToAlarm": view["datapoints_to_alarm"],
        "Dimensions": [{"Name": key, "Value": value} for key, value in sorted(view["dimensions"].items())],
        "TreatMissingData": view["treat_missing_data"],
        "AlarmDescription": view["description"],
        "AlarmActions": view["alarm_actions"],
        "OKActions": view["ok_actions"],
        "InsufficientDataActions": view["insufficient_data_actions"],
        "ActionsEnabled": view["actions_enabled"],
    }
    if view.get("unit"):
        request["Unit"] = view["unit"]
    if tags:
        request["Tags"] = tag_list(tags)
    return request


def without_arn(alarms: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {k: v for k, v in view.items() if k != "arn"} for name, view in sorted(alarms.items())}


def main() -> None:
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    wanted = wanted_alarms(module)
    prefix, state = module.params["name_prefix"], module.params["state"]
    client = aws_client(module, "cloudwatch")
    current = read(module, client, prefix)

    created, updated, after = [], [], {}
    if state == "present":
        for name, view in wanted.items():
            now = current.get(name)
            old_tags = now["tags"] if now else {}
            to_set, to_remove = tag_changes(old_tags, module.params["tags"], module.params["purge_tags"])
            tags = tags_after(old_tags, to_set, to_remove)
            after[name] = {**view, "tags": tags, "arn": now["arn"] if now else ""}
            if now is None:
                created.append(name)
                if not module.check_mode:
                    what = f"Failed to create alarm {name}"
                    call(module, client.put_metric_alarm, what, **put_request(name, view, tags))
                continue
            redefined = definition(now) != view
            if not redefined and not to_set and not to_remove:
                continue
            updated.append(name)
            if module.check_mode:
                continue
            if redefined:
                call(module, client.put_metric_alarm, f"Failed to update alarm {name}", **put_request(name, view, {}))
            if to_remove:
                what = f"Failed to untag alarm {name}"
                call(module, client.untag_resource, what, ResourceARN=now["arn"], TagKeys=to_remove)
            if to_set:
                what = f"Failed to tag alarm {name}"
                call(module, client.tag_resource, what, ResourceARN=now["arn"], Tags=tag_list(to_set))
    deleted = sorted(name for name in current if state == "absent" or (module.params["purge"] and name not in wanted))
    for name in current:
        if name not in deleted and name not in after:
            after[name] = current[name]
    if deleted and not module.check_mode:
        for start in range(0, len(deleted), DELETE_BATCH):
            batch = deleted[start : start + DELETE_BATCH]
            call(module, client.delete_alarms, f"Failed to delete alarms {', '.join(batch)}", AlarmNames=batch)
    if (created or updated) and not module.check_mode:
        # The ARNs of the alarms just created, as AWS reports them.
        for name, view in read(module, client, prefix, with_tags=False).items():
            if name in after:
                after[name]["arn"] = view["arn"]

    changed = bool(created or updated or deleted)
    exit_with_result(
        module,
        changed,
        without_arn(current),
        without_arn(after),
        alarms=dict(sorted(after.items())),
        created=sorted(created),
        updated=sorted(updated),
        deleted=deleted,
    )


if __name__ == "__main__":
    main()
