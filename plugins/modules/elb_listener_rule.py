#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elb_listener_rule
short_description: Manage one rule of an Application Load Balancer listener
description:
  - Create, update, move and delete one rule of an ALB listener, identified by O(listener_arn) and O(priority).
  - Actions are compared after filling in what AWS adds by default (the scope, session timeout, cookie name and
    unauthenticated behaviour of C(authenticate-cognito); host, path, query, port and protocol of C(redirect);
    the C(ForwardConfig) mirroring a forward's target group), so a rerun against AWS reports no change.
    Order is the position in O(actions).
  - Condition values are compared regardless of their order.
  - When no rule has O(priority) but a rule with the same conditions has another priority, that rule is moved
    to O(priority) instead of a duplicate being created.
  - C(authenticate-cognito) needs an HTTPS listener; the module fails before changing anything otherwise.
author:
  - webstack maintainers (!UNKNOWN)
options:
  listener_arn:
    description: ARN of the listener.
    type: str
    required: true
  priority:
    description: Priority of the rule, 1 to 50000; lower is evaluated first.
    type: int
    required: true
  conditions:
    description:
      - Conditions of the rule; all must match. Each item sets exactly one of its options.
      - Required with O(state=present). With O(state=absent), the rule at O(priority) is deleted only if its
        conditions are these; without O(conditions), whatever rule has O(priority) is deleted.
    type: list
    elements: dict
    suboptions:
      host_header:
        description: Host names (wildcards C(*) and C(?) allowed); one must match.
        type: list
        elements: str
      path_pattern:
        description: Path patterns; one must match.
        type: list
        elements: str
      http_request_method:
        description: HTTP methods, for example V(GET).
        type: list
        elements: str
      source_ip:
        description: Client address ranges in CIDR notation.
        type: list
        elements: str
      http_header:
        description: A header and the values it may have.
        type: dict
        suboptions:
          name:
            description: Header name.
            type: str
            required: true
          values:
            description: Values; one must match.
            type: list
            elements: str
            required: true
      query_string:
        description: Query parameters; one pair must match.
        type: list
        elements: dict
        suboptions:
          key:
            description: Parameter name; any name when unset.
            type: str
          value:
            description: Parameter value.
            type: str
            required: true
  actions:
    description:
      - Actions of the rule, in the order the load balancer runs them. Exactly one C(forward), C(redirect) or
        C(fixed-response) action, and it comes last. Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      type:
        description: Kind of action.
        type: str
        required: true
        choices: [forward, authenticate-cognito, redirect, fixed-response]
      target_group_arn:
        description: C(forward) target group.
        type: str
      user_pool_arn:
        description: C(authenticate-cognito) user pool ARN.
        type: str
      user_pool_client_id:
        description: C(authenticate-cognito) app client ID.
        type: str
      user_pool_domain:
        description: C(authenticate-cognito) domain prefix or custom domain of the user pool.
        type: str
      scope:
        description: C(authenticate-cognito) scopes; AWS's default is V(openid).
        type: str
      session_timeout:
        description: C(authenticate-cognito) session lifetime in seconds; AWS's default is V(604800).
        type: int
      session_cookie_name:
        description: C(authenticate-cognito) cookie name; AWS's default is V(AWSELBAuthSessionCookie).
        type: str
      on_unauthenticated_request:
        description: C(authenticate-cognito) behaviour without a session; AWS's default is V(authenticate).
        type: str
        choices: [deny, allow, authenticate]
      authentication_request_extra_params:
        description: C(authenticate-cognito) query parameters added to the authorization request.
        type: dict
      protocol:
        description: C(redirect) protocol; AWS's default keeps the request's.
        type: str
        choices: [HTTP, HTTPS, "#{protocol}"]
      host:
        description: C(redirect) host; AWS's default is V(#{host}).
        type: str
      port:
        description: C(redirect) port; AWS's default is V(#{port}).
        type: str
      path:
        description: C(redirect) path; AWS's default is V(/#{path}).
        type: str
      query:
        description: C(redirect) query; AWS's default is V(#{query}).
        type: str
      status_code:
        description: V(HTTP_301) or V(HTTP_302) for C(redirect); the HTTP status (V(404)) for C(fixed-response).
        type: str
      content_type:
        description: C(fixed-response) content type; left as it is when unset.
        type: str
        choices: [text/plain, text/css, text/html, application/javascript, application/json]
      message_body:
        description: C(fixed-response) body; left as it is when unset.
        type: str
  state:
    description: Whether the rule should exist.
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
    description: Reads the listener's rules and reports what would be created, updated, moved or deleted,
      without writing.
    support: full
  diff_mode:
    description: Shows the rule's priority, conditions, normalised actions and tags before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the staging host rule authenticates through Cognito
  webstack.aws.elb_listener_rule:
    listener_arn: "{{ edge_https_listener_arn }}"
    priority: 20
    conditions:
      - host_header: [staging.example.com]
    actions:
      - type: authenticate-cognito
        user_pool_arn: "{{ identity_user_pool.arn }}"
        user_pool_client_id: "{{ identity_app_client.client_id }}"
        user_pool_domain: webstack-staging
      - type: forward
        target_group_arn: "{{ compute_frontend_target_group_arn }}"
    tags:
      Environment: Non-Production

- name: Ensure the staging host rule is gone
  webstack.aws.elb_listener_rule:
    listener_arn: "{{ edge_https_listener_arn }}"
    priority: 20
    conditions:
      - host_header: [staging.example.com]
    state: absent
"""

RETURN = r"""
rule:
  description: The rule in the options' shape, with AWS's defaults filled in. Empty when absent.
  returned: always
  type: dict
  contains:
    arn:
      description: ARN of the rule; null when it would be created in check mode.
      type: str
      sample: arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/web/50dc6c49/f2f7dc8e/9683b2d0
    priority:
      description: Priority of the rule.
      type: int
      sample: 20
    conditions:
      description: Conditions, values sorted.
      type: list
      elements: dict
      sample: [{"host_header": ["staging.example.com"]}]
    actions:
      description: Actions in order.
      type: list
      elements: dict
      sample: [{"type": "forward", "target_group_arn": "arn:aws:elasticloadbalancing:..."}]
    tags:
      description: Tags of the rule.
      type: dict
      sample: {"Environment": "Non-Production"}
"""

import json
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, call, exit_with_result, paginate
from ansible_collections.webstack.aws.plugins.module_utils.elbv2_actions import (
    action_errors,
    action_option_spec,
    action_requests,
    current_action_views,
    desired_action_view,
    keep_unset,
)
from ansible_collections.webstack.aws.plugins.module_utils.tags import tag_changes, tags_after

MAX_PRIORITY = 50000
# Option of a condition -> the API's Field and config key.
CONDITION_FIELDS = {
    "host_header": ("host-header", "HostHeaderConfig"),
    "path_pattern": ("path-pattern", "PathPatternConfig"),
    "http_request_method": ("http-request-method", "HttpRequestMethodConfig"),
    "source_ip": ("source-ip", "SourceIpConfig"),
    "http_header": ("http-header", "HttpHeaderConfig"),
    "query_string": ("query-string", "QueryStringConfig"),
}
QUERY_PAIR = {"key": "Key", "value": "Value"}
OPTION_OF_FIELD = {field: option for option, (field, _config_key) in CONDITION_FIELDS.items()}


def argument_spec() -> dict[str, Any]:
    keys = list(CONDITION_FIELDS)
    condition_options = {key: dict(type="list", elements="str") for key in keys}
    condition_options["http_header"] = dict(
        type="dict",
        options=dict(name=dict(type="str", required=True), values=dict(type="list", elements="str", required=True)),
    )
    condition_options["query_string"] = dict(
        type="list",
        elements="dict",
        options=dict(key=dict(type="str", no_log=False), value=dict(type="str", required=True)),
    )
    return dict(
        listener_arn=dict(type="str", required=True),
        priority=dict(type="int", required=True),
        conditions=dict(
            type="list",
            elements="dict",
            options=condition_options,
            mutually_exclusive=[keys],
            required_one_of=[keys],
        ),
        actions=action_option_spec(),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )


# --- conditions ---------------------------------------------------------------------------


def _condition_value(option: str, value: Any) -> Any:
    """A condition's value with its order (which AWS does not keep) made canonical."""
    if option == "http_header":
        return {"name": value["name"], "values": sorted(set(value["values"]))}
    if option == "query_string":
        pairs = [{k: v for k, v in pair.items() if v is not None} for pair in value]
        return sorted(pairs, key=lambda pair: (pair.get("key") or "", pair["value"]))
    return sorted(set(value))


def condition_views(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conditions in option shape, in a canonical order."""
    return sorted(conditions, key=lambda condition: json.dumps(condition, sort_keys=True))


def desired_conditions(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    views = []
    for item in options:
        option, value = next((key, value) for key, value in item.items() if value is not None)
        views.append({option: _condition_value(option, value)})
    return condition_views(views)


def current_conditions(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    views = []
    for condition in conditions:
        option = OPTION_OF_FIELD.get(condition["Field"], condition["Field"])
        config = condition.get(CONDITION_FIELDS.get(option, ("", ""))[1], {})
        if option == "http_header":
            value = {"name": config.get("HttpHeaderName"), "values": config.get("Values", [])}
        elif option == "query_string":
            value = [{key: pair.get(name) for key, name in QUERY_PAIR.items()} for pair in config.get("Values", [])]
        else:
            value = config.get("Values", condition.get("Values", []))
        views.append({option: _condition_value(option, value)})
    return condition_views(views)


def condition_requests(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    requests = []
    for view in views:
        ((option, value),) = view.items()
        field, config_key = CONDITION_FIELDS[option]
        if option == "http_header":
            config = {"HttpHeaderName": value["name"], "Values": value["values"]}
        elif option == "query_string":
            config = {"Values": [{name: p[key] for key, name in QUERY_PAIR.items() if key in p} for p in value]}
        else:
            config = {"Values": value}
        requests.append({"Field": field, config_key: config})
    return requests


# --- reading ------------------------------------------------------------------------------


def listener_rules(module: AnsibleAWSModule, client: Any, listener_arn: str) -> list[dict[str, Any]]:
    """The listener's rules except its default one."""
    msg = f"Failed to read the rules of listener {listener_arn}"
    response = paginate(module, client, "describe_rules", msg, ListenerArn=listener_arn)
    return [rule for rule in response.get("Rules", []) if not rule.get("IsDefault")]


def require_https_listener(module: AnsibleAWSModule, client: Any, listener_arn: str) -> None:
    """AWS refuses authenticate-cognito on an HTTP listener (moto does not, docs/EMULATOR.md E20): fail first."""
    response = call(
        module, client.describe_listeners, f"Failed to describe listener {listener_arn}", ListenerArns=[listener_arn]
    )
    protocol = response["Listeners"][0].get("Protocol")
    if protocol != "HTTPS":
        module.fail_json(
            msg=f"authenticate-cognito needs an HTTPS listener; listener {listener_arn} uses {protocol}. "
            "Put the rule on the HTTPS listener (and redirect HTTP to HTTPS)."
        )


def rule_tags(module: AnsibleAWSModule, client: Any, arn: str) -> dict[str, str]:
    response = call(module, client.describe_tags, f"Failed to read the tags of rule {arn}", ResourceArns=[arn])
    descriptions = response.get("TagDescriptions") or [{}]
    return boto3_tag_list_to_ansible_dict(descriptions[0].get("Tags", []))


def rule_view(rule: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    return {
        "priority": int(rule["Priority"]),
        "conditions": current_conditions(rule.get("Conditions", [])),
        "actions": current_action_views(rule.get("Actions", [])),
        "tags": tags,
    }


# --- acting -------------------------------------------------------------------------------


def check_params(module: AnsibleAWSModule) -> None:
    params = module.params
    if not 1 <= params["priority"] <= MAX_PRIORITY:
        module.fail_json(msg=f"priority must be 1..{MAX_PRIORITY}, got {params['priority']}")
    if params["state"] == "present":
        missing = [key for key in ("conditions", "actions") if not params[key]]
        if missing:
            module.fail_json(msg=f"state=present needs at least one item in {' and '.join(missing)}")
        errors = action_errors(params["actions"])
        if errors:
            module.fail_json(msg="; ".join(errors))


def result(arn: str | None, view: dict[str, Any]) -> dict[str, Any]:
    return {"rule": {"arn": arn, **view} if view else {}}


def create_rule(module: AnsibleAWSModule, client: Any, desired: dict[str, Any]) -> None:
    arn = None
    if not module.check_mode:
        request = {
            "ListenerArn": module.params["listener_arn"],
            "Priority": desired["priority"],
            "Conditions": condition_requests(desired["conditions"]),
            "Actions": action_requests(desired["actions"]),
        }
        if desired["tags"]:
            request["Tags"] = ansible_dict_to_boto3_tag_list(desired["tags"])
        response = call(
            module, client.create_rule, f"Failed to create the rule at priority {desired['priority']}", **request
        )
        arn = response["Rules"][0]["RuleArn"]
    exit_with_result(module, True, {}, desired, **result(arn, desired))


def update_rule(module: AnsibleAWSModule, client: Any, rule: dict[str, Any], desired: dict[str, Any]) -> None:
    arn = rule["RuleArn"]
    before = rule_view(rule, rule_tags(module, client, arn))
    to_set, to_remove = tag_changes(before["tags"], module.params["tags"], module.params["purge_tags"])
    after = {
        **desired,
        "actions": keep_unset(desired["actions"], before["actions"]),
        "tags": tags_after(before["tags"], to_set, to_remove),
    }
    modify = {}
    if after["conditions"] != before["conditions"]:
        modify["Conditions"] = condition_requests(after["conditions"])
    if after["actions"] != before["actions"]:
        modify["Actions"] = action_requests(after["actions"])
    if not module.check_mode:
        if after["priority"] != before["priority"]:
            call(
                module,
                client.set_rule_priorities,
                f"Failed to move rule {arn} from priority {before['priority']} to {after['priority']}",
                RulePriorities=[{"RuleArn": arn, "Priority": after["priority"]}],
            )
        if modify:
            call(module, client.modify_rule, f"Failed to modify rule {arn}", RuleArn=arn, **modify)
        if to_remove:
            call(module, client.remove_tags, f"Failed to remove tags of {arn}", ResourceArns=[arn], TagKeys=to_remove)
        if to_set:
            tags = ansible_dict_to_boto3_tag_list(to_set)
            call(module, client.add_tags, f"Failed to tag rule {arn}", ResourceArns=[arn], Tags=tags)
    exit_with_result(module, before != after, before, after, **result(arn, after))


def ensure_present(module: AnsibleAWSModule, client: Any, rules: list[dict[str, Any]]) -> None:
    params = module.params
    desired = {
        "priority": params["priority"],
        "conditions": desired_conditions(params["conditions"]),
        "actions": [desired_action_view(option) for option in params["actions"]],
        "tags": {key: str(value) for key, value in (params["tags"] or {}).items()},
    }
    if any(view["type"] == "authenticate-cognito" for view in desired["actions"]):
        require_https_listener(module, client, params["listener_arn"])
    at_priority = [rule for rule in rules if int(rule["Priority"]) == params["priority"]]
    same_conditions = [rule for rule in rules if current_conditions(rule["Conditions"]) == desired["conditions"]]
    rule = next(iter(at_priority or sorted(same_conditions, key=lambda rule: int(rule["Priority"]))), None)
    if rule is None:
        create_rule(module, client, desired)
    update_rule(module, client, rule, desired)


def ensure_absent(module: AnsibleAWSModule, client: Any, rules: list[dict[str, Any]]) -> None:
    params = module.params
    rule = next((rule for rule in rules if int(rule["Priority"]) == params["priority"]), None)
    if rule is None:
        exit_with_result(module, False, {}, {}, **result(None, {}))
    before = rule_view(rule, rule_tags(module, client, rule["RuleArn"]))
    if params["conditions"] is not None and before["conditions"] != desired_conditions(params["conditions"]):
        module.warn(
            f"The rule at priority {params['priority']} has other conditions ({before['conditions']}) than the "
            "given ones; it is left in place"
        )
        exit_with_result(module, False, before, before, **result(rule["RuleArn"], before))
    if not module.check_mode:
        call(module, client.delete_rule, f"Failed to delete rule {rule['RuleArn']}", RuleArn=rule["RuleArn"])
    exit_with_result(module, True, before, {}, **result(None, {}))


def main() -> None:
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    check_params(module)
    client = aws_client(module, "elbv2")
    rules = listener_rules(module, client, module.params["listener_arn"])
    if module.params["state"] == "present":
        ensure_present(module, client, rules)
    else:
        ensure_absent(module, client, rules)


if __name__ == "__main__":
    main()
