#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ec2_vpc_flow_log
short_description: Manage the flow log of a VPC, subnet or network interface to one destination
description:
  - Create, replace and delete an EC2 flow log (C(DescribeFlowLogs), C(CreateFlowLogs), C(DeleteFlowLogs)).
  - The flow log is identified by the resource it watches and its destination (a CloudWatch Logs log
    group, by name, or an S3 bucket ARN); other flow logs of the same resource are left alone.
  - AWS cannot change a flow log. When the traffic type, the delivery role, the aggregation interval
    or the log format differ, the module deletes the flow log and creates it again (a few seconds
    without records). Tags are changed in place (C(CreateTags), C(DeleteTags)).
  - Neither amazon.aws nor community.aws has a flow log module.
author:
  - webstack maintainers (!UNKNOWN)
options:
  resource_id:
    description:
      - The id of the VPC (C(vpc-...)), subnet (C(subnet-...)) or network interface (C(eni-...)).
    type: str
    required: true
  resource_type:
    description:
      - What O(resource_id) names.
    type: str
    choices: [VPC, Subnet, NetworkInterface]
    default: VPC
  traffic_type:
    description:
      - Which traffic is logged.
    type: str
    choices: [ACCEPT, REJECT, ALL]
    default: ALL
  log_destination_type:
    description:
      - Where the records go.
    type: str
    choices: [cloud-watch-logs, s3]
    default: cloud-watch-logs
  log_group_name:
    description:
      - The CloudWatch Logs log group, when O(log_destination_type=cloud-watch-logs).
    type: str
  log_destination:
    description:
      - The S3 bucket ARN (optionally with a folder), when O(log_destination_type=s3).
    type: str
  deliver_logs_permission_arn:
    description:
      - The ARN of the IAM role that delivers to CloudWatch Logs (trusting C(vpc-flow-logs.amazonaws.com)).
      - Required with O(log_destination_type=cloud-watch-logs) and O(state=present).
    type: str
  max_aggregation_interval:
    description:
      - Seconds over which a record aggregates packets.
    type: int
    choices: [60, 600]
    default: 600
  log_format:
    description:
      - The fields of a record (C(${version} ${account-id} ...)). Left out, AWS's default format, and
        whatever format an existing flow log has is kept.
    type: str
  tags:
    description:
      - Tags of the flow log. Left out, the tags are not managed.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description:
      - Remove the tags not in O(tags).
    type: bool
    default: true
  state:
    description:
      - Whether the flow log should exist.
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
    description: Reads the flow logs and reports what would be created, replaced or deleted, without writing.
    support: full
  diff_mode:
    description: Shows the flow log's settings and tags before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the shared VPC logs all its traffic to CloudWatch Logs
  webstack.aws.ec2_vpc_flow_log:
    resource_id: "{{ vpc_id }}"
    traffic_type: ALL
    log_group_name: /webstack-edge/vpc-flow-logs
    deliver_logs_permission_arn: arn:aws:iam::123456789012:role/webstack-edge-vpc-flow-logs
    tags:
      Name: webstack-edge-vpc-flow-logs

- name: Ensure the VPC no longer logs to that group
  webstack.aws.ec2_vpc_flow_log:
    resource_id: "{{ vpc_id }}"
    log_group_name: /webstack-edge/vpc-flow-logs
    state: absent
"""

RETURN = r"""
flow_log:
  description:
    - The flow log as C(DescribeFlowLogs) reports it, in snake_case, with its tags as a dict.
    - Empty when there is none, or in check mode when it would be created.
  returned: always
  type: dict
  contains:
    flow_log_id:
      description: The flow log's id.
      type: str
      sample: fl-0123456789abcdef0
    resource_id:
      description: What it watches.
      type: str
      sample: vpc-0123456789abcdef0
    traffic_type:
      description: ACCEPT, REJECT or ALL.
      type: str
      sample: ALL
    log_group_name:
      description: The log group, for CloudWatch Logs.
      type: str
      sample: /webstack-edge/vpc-flow-logs
    deliver_logs_permission_arn:
      description: The delivery role.
      type: str
      sample: arn:aws:iam::123456789012:role/webstack-edge-vpc-flow-logs
    tags:
      description: The tags.
      type: dict
      sample: {"Name": "webstack-edge-vpc-flow-logs"}
"""

from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, call, exit_with_result
from ansible_collections.webstack.aws.plugins.module_utils.tags import tag_changes, tag_list, tags_after

PREFIXES = {"VPC": "vpc-", "Subnet": "subnet-", "NetworkInterface": "eni-"}
# What CreateFlowLogs fixes for good: a difference means delete and create again.
IMMUTABLE = ("traffic_type", "deliver_logs_permission_arn", "max_aggregation_interval", "log_format")


def argument_spec() -> dict[str, Any]:
    return dict(
        resource_id=dict(type="str", required=True),
        resource_type=dict(type="str", choices=list(PREFIXES), default="VPC"),
        traffic_type=dict(type="str", choices=["ACCEPT", "REJECT", "ALL"], default="ALL"),
        log_destination_type=dict(type="str", choices=["cloud-watch-logs", "s3"], default="cloud-watch-logs"),
        log_group_name=dict(type="str"),
        log_destination=dict(type="str"),
        deliver_logs_permission_arn=dict(type="str"),
        max_aggregation_interval=dict(type="int", choices=[60, 600], default=600),
        log_format=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )


def check_params(module: AnsibleAWSModule) -> None:
    """Fail on what AWS would refuse, before any call."""
    params = module.params
    prefix = PREFIXES[params["resource_type"]]
    if not params["resource_id"].startswith(prefix):
        module.fail_json(
            msg=f"resource_id {params['resource_id']!r} is not the id of a {params['resource_type']} ({prefix}...)"
        )
    if params["log_destination_type"] == "cloud-watch-logs":
        if not params["log_group_name"] or params["log_destination"]:
            module.fail_json(msg="log_destination_type cloud-watch-logs takes log_group_name, not log_destination")
        if params["state"] == "present" and not str(params["deliver_logs_permission_arn"] or "").startswith("arn:aws"):
            module.fail_json(
                msg="deliver_logs_permission_arn: delivery to CloudWatch Logs needs the ARN of an IAM role, "
                f"got {params['deliver_logs_permission_arn']!r}"
            )
    else:
        if not str(params["log_destination"] or "").startswith("arn:aws") or params["log_group_name"]:
            module.fail_json(msg="log_destination_type s3 takes log_destination (a bucket ARN), not log_group_name")


def destination_filter(params: dict[str, Any]) -> bool:
    return params["log_destination_type"] == "cloud-watch-logs"


def find(module: AnsibleAWSModule, client: Any) -> list[dict[str, Any]]:
    """The flow logs of the resource to the wanted destination (normally none or one)."""
    params = module.params
    filters = [{"Name": "resource-id", "Values": [params["resource_id"]]}]
    response = call(
        module, client.describe_flow_logs, f"Failed to read the flow logs of {params['resource_id']}", Filters=filters
    )
    found = []
    for flow_log in response.get("FlowLogs", []):
        if destination_filter(params):
            if (
                flow_log.get("LogGroupName") == params["log_group_name"]
                and flow_log.get("LogDestinationType", "cloud-watch-logs") == "cloud-watch-logs"
            ):
                found.append(flow_log)
        elif flow_log.get("LogDestination") == params["log_destination"]:
            found.append(flow_log)
    return found


def view(flow_log: dict[str, Any] | None) -> dict[str, Any]:
    """The flow log as the module's options show it; {} when none."""
    if not flow_log:
        return {}
    return {
        "resource_id": flow_log.get("ResourceId"),
        "traffic_type": flow_log.get("TrafficType"),
        "log_destination_type": flow_log.get("LogDestinationType", "cloud-watch-logs"),
        "log_group_name": flow_log.get("LogGroupName"),
        "log_destination": flow_log.get("LogDestination"),
        "deliver_logs_permission_arn": flow_log.get("DeliverLogsPermissionArn"),
        "max_aggregation_interval": flow_log.get("MaxAggregationInterval", 600),
        "log_format": flow_log.get("LogFormat"),
        "tags": boto3_tag_list_to_ansible_dict(flow_log.get("Tags", [])),
    }


def wanted_view(module: AnsibleAWSModule, before: dict[str, Any]) -> dict[str, Any]:
    params = module.params
    cwl = params["log_destination_type"] == "cloud-watch-logs"
    current_tags = before.get("tags", {})
    return {
        "resource_id": params["resource_id"],
        "traffic_type": params["traffic_type"],
        "log_destination_type": params["log_destination_type"],
        "log_group_name": params["log_group_name"] if cwl else None,
        # AWS reports the log group's ARN as the destination of a CloudWatch Logs flow log, moto nothing
        # (docs/EMULATOR.md E44): kept as found, never compared.
        "log_destination": before.get("log_destination") if cwl else params["log_destination"],
        "deliver_logs_permission_arn": params["deliver_logs_permission_arn"]
        if cwl
        else before.get("deliver_logs_permission_arn"),
        "max_aggregation_interval": params["max_aggregation_interval"],
        "log_format": params["log_format"] or before.get("log_format"),
        "tags": tags_after(current_tags, *tag_changes(current_tags, params["tags"], params["purge_tags"]))
        if params["tags"] is not None
        else current_tags,
    }


def needs_replacing(before: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return any(before.get(key) != wanted.get(key) for key in IMMUTABLE)


def create(module: AnsibleAWSModule, client: Any) -> str:
    params = module.params
    request: dict[str, Any] = {
        "ResourceIds": [params["resource_id"]],
        "ResourceType": params["resource_type"],
        "TrafficType": params["traffic_type"],
        "LogDestinationType": params["log_destination_type"],
        "MaxAggregationInterval": params["max_aggregation_interval"],
    }
    if params["log_destination_type"] == "cloud-watch-logs":
        request["LogGroupName"] = params["log_group_name"]
        request["DeliverLogsPermissionArn"] = params["deliver_logs_permission_arn"]
    else:
        request["LogDestination"] = params["log_destination"]
    if params["log_format"]:
        request["LogFormat"] = params["log_format"]
    if params["tags"]:
        request["TagSpecifications"] = [{"ResourceType": "vpc-flow-log", "Tags": tag_list(params["tags"])}]
    response = call(
        module, client.create_flow_logs, f"Failed to create the flow log of {params['resource_id']}", **request
    )
    if response.get("Unsuccessful") or not response.get("FlowLogIds"):
        module.fail_json(msg=f"AWS refused the flow log of {params['resource_id']}: {response.get('Unsuccessful')}")
    return response["FlowLogIds"][0]


def delete(module: AnsibleAWSModule, client: Any, ids: list[str]) -> None:
    call(module, client.delete_flow_logs, f"Failed to delete the flow logs {ids}", FlowLogIds=ids)


def read(module: AnsibleAWSModule, client: Any, flow_log_id: str) -> dict[str, Any]:
    response = call(
        module, client.describe_flow_logs, f"Failed to read flow log {flow_log_id}", FlowLogIds=[flow_log_id]
    )
    logs = response.get("FlowLogs", [])
    return logs[0] if logs else {}


def result(flow_log: dict[str, Any] | None) -> dict[str, Any]:
    if not flow_log:
        return {"flow_log": {}}
    shown = camel_dict_to_snake_dict({key: value for key, value in flow_log.items() if key != "Tags"})
    shown["tags"] = boto3_tag_list_to_ansible_dict(flow_log.get("Tags", []))
    return {"flow_log": shown}


def ensure_present(module: AnsibleAWSModule, client: Any, found: list[dict[str, Any]]) -> None:
    current = found[0] if found else None
    before = view(current)
    wanted = wanted_view(module, before)
    if len(found) <= 1 and before == wanted:
        exit_with_result(module, False, before, wanted, **result(current))
    if module.check_mode:
        exit_with_result(module, True, before, wanted, **result(current))
    if current is not None and len(found) == 1 and not needs_replacing(before, wanted):
        to_set, to_remove = tag_changes(before["tags"], module.params["tags"], module.params["purge_tags"])
        flow_log_id = current["FlowLogId"]
        msg = f"Failed to update the tags of flow log {flow_log_id}"
        if to_remove:
            call(module, client.delete_tags, msg, Resources=[flow_log_id], Tags=[{"Key": key} for key in to_remove])
        if to_set:
            call(module, client.create_tags, msg, Resources=[flow_log_id], Tags=tag_list(to_set))
    else:
        if found:
            delete(module, client, [flow_log["FlowLogId"] for flow_log in found])
        flow_log_id = create(module, client)
    after = read(module, client, flow_log_id)
    exit_with_result(module, True, before, view(after) or wanted, **result(after))


def ensure_absent(module: AnsibleAWSModule, client: Any, found: list[dict[str, Any]]) -> None:
    before = view(found[0]) if found else {}
    if not found:
        exit_with_result(module, False, {}, {}, **result(None))
    if not module.check_mode:
        delete(module, client, [flow_log["FlowLogId"] for flow_log in found])
    exit_with_result(module, True, before, {}, **result(None))


def main() -> None:
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    check_params(module)
    client = aws_client(module, "ec2")
    found = find(module, client)
    if module.params["state"] == "present":
        ensure_present(module, client, found)
    else:
        ensure_absent(module, client, found)


if __name__ == "__main__":
    main()
