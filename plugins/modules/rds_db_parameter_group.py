#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Ansible's module layout puts the documentation blocks before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_db_parameter_group
short_description: Manage an RDS DB parameter group and verify its parameter values
description:
  - Create, update and delete an Amazon RDS DB parameter group (for example of family V(mysql8.0)) and its
    parameter values.
  - The module reads every parameter of the group (or, for a new group, the family's defaults) and, before
    changing anything, checks that each given parameter exists in the family, can be modified and has a value
    within its C(AllowedValues) (a range such as V(0-31536000) or a list such as V(0,1) or V(ON,OFF)).
  - Only the values that differ are sent, at most 20 per C(ModifyDBParameterGroup) call as AWS requires,
    each with the apply method its C(ApplyType) calls for. The parameters are then read back, and the module
    fails if AWS does not report the values it was given.
  - Unlike C(amazon.aws.rds_instance_param_group), an unknown, unmodifiable or out-of-range parameter fails the
    module instead of being reported in a list, and a group cannot silently keep another family.
author:
  - webstack maintainers (!UNKNOWN)
options:
  name:
    description:
      - Name of the DB parameter group. AWS stores it in lowercase.
    type: str
    required: true
  family:
    description:
      - DB parameter group family, for example V(mysql8.0) or V(postgres16).
      - Required to create the group. It cannot change afterwards; a different family fails the module.
    type: str
  description:
    description:
      - Description of the group. Required to create it.
      - AWS cannot change it afterwards; a different description only produces a warning.
    type: str
  parameters:
    description:
      - Parameter values by name, for example V(utf8mb4) for C(character_set_server).
      - Values are compared as strings. A boolean, or a string such as V(ON), V(off), V(true) or V(0), takes the
        form the parameter reports (V(1)/V(0) for C(slow_query_log), V(ON)/V(OFF) for C(event_scheduler)), so
        V(ON) and V(1) are the same value for a parameter that allows V(0,1).
      - A value from a list of allowed values takes the spelling AWS lists (V(UTF8MB4) becomes V(utf8mb4)).
      - Formulas such as V({DBInstanceClassMemory/12582880}) are passed as they are; AWS checks them.
      - Parameters not listed are left as they are unless O(purge_parameters=true).
    type: dict
    default: {}
  apply_method:
    description:
      - When instances using the group take the changed values.
      - V(auto) applies dynamic parameters immediately and static ones at the next reboot, as each parameter's
        C(ApplyType) in C(DescribeDBParameters) says.
      - V(immediate) fails, before changing anything, if a static parameter would change.
      - V(pending-reboot) defers every change, dynamic ones included, to the next reboot.
    type: str
    choices: [auto, immediate, pending-reboot]
    default: auto
  purge_parameters:
    description:
      - Reset to their defaults the parameters set on the group (source V(user)) that are not in O(parameters).
    type: bool
    default: false
  state:
    description:
      - Whether the group should exist.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Instances using the group take static parameters only after a reboot; the module lists them in
    RV(parameters_pending_reboot) and warns.
  - A group still used by an instance cannot be deleted; AWS's error is reported.
  - Default groups (C(default.*)) cannot be modified; AWS's error is reported.
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reads the group and its parameters, checks the given values, and reports what would change,
      without writing.
    support: full
  diff_mode:
    description: Shows the group's family, description, given parameter values and tags before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the web stack database logs slow queries and uses utf8mb4
  webstack.aws.rds_db_parameter_group:
    name: webstack-mysql80
    family: mysql8.0
    description: Parameters of the web stack database
    parameters:
      character_set_server: utf8mb4
      collation_server: utf8mb4_0900_ai_ci
      slow_query_log: true
      long_query_time: 2
      max_connections: 500
      performance_schema: 1
    tags:
      Project: webstack

- name: Ensure the group sets exactly these parameters, all taking effect at the next reboot
  webstack.aws.rds_db_parameter_group:
    name: webstack-mysql80
    family: mysql8.0
    description: Parameters of the web stack database
    parameters:
      slow_query_log: "ON"
    apply_method: pending-reboot
    purge_parameters: true

- name: Ensure the old parameter group is gone
  webstack.aws.rds_db_parameter_group:
    name: webstack-mysql57
    state: absent
"""

RETURN = r"""
db_parameter_group:
  description: The group as DescribeDBParameterGroups returns it, in snake_case, with its tags. Empty when absent.
  returned: always
  type: dict
  contains:
    db_parameter_group_name:
      description: Name of the group.
      type: str
      sample: webstack-mysql80
    db_parameter_group_family:
      description: Family of the group.
      type: str
      sample: mysql8.0
    description:
      description: Description of the group.
      type: str
      sample: Parameters of the web stack database
    db_parameter_group_arn:
      description: ARN of the group.
      type: str
      sample: arn:aws:rds:eu-west-1:123456789012:pg:webstack-mysql80
    tags:
      description: Tags of the group.
      type: dict
      sample: {"Project": "webstack"}
parameters:
  description: Values of the parameters set on the group (source C(user)) once the module is done.
  returned: when O(state=present)
  type: dict
  sample: {"slow_query_log": "1", "long_query_time": "2"}
parameters_changed:
  description: Names of the parameters the module set or reset.
  returned: when O(state=present)
  type: list
  elements: str
  sample: ["long_query_time", "slow_query_log"]
parameters_pending_reboot:
  description:
    - Names of the changed parameters that instances take only at their next reboot (sent with apply method
      C(pending-reboot)). With O(apply_method=auto) these are the static ones.
  returned: when O(state=present)
  type: list
  elements: str
  sample: ["performance_schema"]
"""

import re
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    normalize_boto3_result,
    paginated_query_with_retries,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.webstack.aws.plugins.module_utils.arn_tags import (
    apply_tags,
    exit_with_result,
    tag_changes,
    tags_after,
)

try:
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
    # What an endpoint that cannot answer raises: a server error page instead of an AWS response.
    UNANSWERED: tuple[type[Exception], ...] = (ResponseParserError, NotImplementedError)
except ImportError:
    AWS_ERRORS = UNANSWERED = ()  # AnsibleAWSModule reports the missing SDK

MAX_PARAMETERS_PER_CALL = 20  # ModifyDBParameterGroup and ResetDBParameterGroup limit
# How AWS and users spell true and false; a two-valued parameter lists one of each in AllowedValues.
# ({**a, **b}: the modules run on Python 3.8, which has no dict union.)
BOOLEAN_WORDS = {**dict.fromkeys(("1", "on", "true", "yes"), True), **dict.fromkeys(("0", "off", "false", "no"), False)}
RANGE = re.compile(r"^(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)$")


def argument_spec() -> dict[str, Any]:
    return dict(
        name=dict(type="str", required=True),
        family=dict(type="str"),
        description=dict(type="str"),
        parameters=dict(type="dict", default={}),
        apply_method=dict(type="str", choices=["auto", "immediate", "pending-reboot"], default="auto"),
        purge_parameters=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )


# --- reading ------------------------------------------------------------------------------


def describe_group(module: AnsibleAWSModule, client: Any, name: str) -> dict[str, Any] | None:
    try:
        response = client.describe_db_parameter_groups(DBParameterGroupName=name, aws_retry=True)
    except is_boto3_error_code("DBParameterGroupNotFound"):
        return None
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to describe DB parameter group {name}")
    groups = response["DBParameterGroups"]  # AWS raises DBParameterGroupNotFound; moto answers an empty list
    return groups[0] if groups else None


def group_parameters(module: AnsibleAWSModule, client: Any, name: str) -> dict[str, dict[str, Any]]:
    """Every parameter of the group by name, all sources, all pages."""
    try:
        response = paginated_query_with_retries(
            client, "describe_db_parameters", AWSRetry.jittered_backoff(), DBParameterGroupName=name
        )
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the parameters of DB parameter group {name}")
    return {parameter["ParameterName"]: parameter for parameter in response.get("Parameters", [])}


def unanswered(error: Exception) -> bool:
    """Whether the endpoint could not answer at all (a server error), as opposed to refusing the request."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or error.response.get("Error", {}).get("Code") in ("NotImplemented", "InternalFailure")
    return isinstance(error, UNANSWERED)


def family_defaults(module: AnsibleAWSModule, client: Any, family: str) -> dict[str, dict[str, Any]]:
    """The parameters a new group of ``family`` starts with; empty when the endpoint cannot list them."""
    try:
        response = paginated_query_with_retries(
            client, "describe_engine_default_parameters", AWSRetry.jittered_backoff(), DBParameterGroupFamily=family
        )
    except (*AWS_ERRORS, *UNANSWERED) as e:
        if unanswered(e):
            return {}
        module.fail_json_aws(e, msg=f"Failed to read the default parameters of family {family}")
    parameters = response.get("EngineDefaults", {}).get("Parameters", [])
    return {parameter["ParameterName"]: parameter for parameter in parameters}


def get_tags(module: AnsibleAWSModule, client: Any, arn: str) -> dict[str, str]:
    try:
        response = client.list_tags_for_resource(ResourceName=arn, aws_retry=True)
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to list the tags of {arn}")
    return boto3_tag_list_to_ansible_dict(response.get("TagList", []))


# --- comparing ----------------------------------------------------------------------------


def allowed_items(parameter: dict[str, Any]) -> list[str]:
    return [item.strip() for item in (parameter.get("AllowedValues") or "").split(",") if item.strip()]


def boolean_form(parameter: dict[str, Any]) -> tuple[str, str] | None:
    """The (true, false) spellings of a two-valued parameter, as AWS lists them; None for other parameters."""
    allowed = allowed_items(parameter)
    truths = [item for item in allowed if BOOLEAN_WORDS.get(item.lower()) is True]
    falsehoods = [item for item in allowed if BOOLEAN_WORDS.get(item.lower()) is False]
    if len(allowed) == 2 and len(truths) == 1 and len(falsehoods) == 1:
        return truths[0], falsehoods[0]
    if parameter.get("DataType") == "boolean":
        return "1", "0"
    return None


def as_aws_value(value: Any, parameter: dict[str, Any]) -> str:
    """The string AWS reports for ``value``: booleans and listed values in the parameter's own spelling."""
    truth = value if isinstance(value, bool) else BOOLEAN_WORDS.get(str(value).strip().lower())
    form = boolean_form(parameter)
    if form and truth is not None:
        return form[0] if truth else form[1]
    if isinstance(value, bool):
        return "1" if value else "0"
    spelling = {item.lower(): item for item in allowed_items(parameter) if not RANGE.match(item)}
    items = str(value).split(",") if parameter.get("DataType") == "list" else [str(value)]
    return ",".join(spelling.get(item.strip().lower(), item) for item in items)


def within(value: str, item: str, data_type: str | None) -> bool:
    """Whether ``value`` is the allowed value ``item``, or lies in it when ``item`` is a range."""
    bounds = RANGE.match(item)
    if not bounds:
        return value == item
    try:
        number = int(value) if data_type == "integer" else float(value)
    except ValueError:
        return False
    return float(bounds.group(1)) <= number <= float(bounds.group(2))


def value_problem(name: str, value: str, parameter: dict[str, Any], family: str) -> str | None:
    """Why AWS would refuse ``value`` for the parameter, or None."""
    if parameter.get("IsModifiable") is False:
        return f"{name!r} cannot be modified (family {family})"
    allowed = allowed_items(parameter)
    if not allowed or "{" in value:  # formulas such as {DBInstanceClassMemory/12582880} are AWS's to check
        return None
    data_type = parameter.get("DataType")
    items = value.split(",") if data_type == "list" else [value]
    if all(any(within(item, option, data_type) for option in allowed) for item in items):
        return None
    return f"{name!r} is {value!r}, outside its allowed values {parameter['AllowedValues']!r} (family {family})"


def catalogue_missing(known: dict[str, dict[str, Any]]) -> bool:
    """Whether the parameters read carry none of the metadata AWS lists for every parameter of a family."""
    return not any({"ApplyType", "AllowedValues", "Source"} & parameter.keys() for parameter in known.values())


def accept_unchecked(module: AnsibleAWSModule, known: dict[str, dict[str, Any]], family: str) -> None:
    """Where the endpoint lists no parameter catalogue (AWS always does; an emulator may not), take the given
    parameters as they are, applied at the next reboot, and say that they were not checked."""
    given = module.params["parameters"] or {}
    module.warn(
        f"parameters: {sorted(given)} are not checked against family {family}: the endpoint lists no parameter "
        f"catalogue for DB parameter group {module.params['name']}. They are sent as given, applied at the next reboot."
    )
    for name in given:
        known.setdefault(name, {"ParameterName": name})


def wanted_values(module: AnsibleAWSModule, known: dict[str, dict[str, Any]], family: str) -> dict[str, str]:
    """The given parameters as AWS strings, after checking each exists, can be modified and is allowed."""
    given = module.params["parameters"] or {}
    if given and catalogue_missing(known):
        accept_unchecked(module, known, family)
    wanted, problems = {}, []
    for name, value in given.items():
        parameter = known.get(name)
        if parameter is None:
            problems.append(f"{name!r} is not a parameter of family {family}")
            continue
        wanted[name] = as_aws_value(value, parameter)
        problem = value_problem(name, wanted[name], parameter, family)
        if problem:
            problems.append(problem)
    if problems:
        module.fail_json(msg=f"parameters: {'; '.join(problems)}")
    return wanted


def live_value(parameter: dict[str, Any]) -> str | None:
    value = parameter.get("ParameterValue")
    return None if value is None else as_aws_value(value, parameter)


def user_values(known: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    return {name: p.get("ParameterValue") for name, p in known.items() if p.get("Source") == "user"}


def parameter_changes(
    wanted: dict[str, str], known: dict[str, dict[str, Any]], purge: bool
) -> tuple[dict[str, str], list[str]]:
    """Values to set and parameter names to reset to their defaults."""
    to_set = {name: value for name, value in wanted.items() if live_value(known[name]) != value}
    to_reset = sorted(name for name in user_values(known) if purge and name not in wanted)
    return to_set, to_reset


def apply_methods(module: AnsibleAWSModule, known: dict[str, dict[str, Any]], names: list[str]) -> dict[str, str]:
    """The apply method of each changed parameter; a static one under apply_method=immediate fails."""
    option = module.params["apply_method"]
    # AWS takes pending-reboot for any parameter and immediate for dynamic ones only.
    static = {name for name in names if known[name].get("ApplyType") != "dynamic"}
    if option == "immediate" and static:
        module.fail_json(
            msg=f"parameters: {sorted(static)} are static: AWS applies them only at the next reboot "
            "(apply method: wanted 'immediate', possible 'pending-reboot'). Use apply_method auto or pending-reboot."
        )
    if option == "auto":
        return {name: "pending-reboot" if name in static else "immediate" for name in names}
    return dict.fromkeys(names, option)


def view(group: dict[str, Any], parameters: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    return {
        "family": group.get("DBParameterGroupFamily"),
        "description": group.get("Description"),
        "parameters": parameters,
        "tags": tags,
    }


# --- acting -------------------------------------------------------------------------------


def batches(items: list[Any]) -> list[list[Any]]:
    return [items[start : start + MAX_PARAMETERS_PER_CALL] for start in range(0, len(items), MAX_PARAMETERS_PER_CALL)]


def modify_parameters(
    module: AnsibleAWSModule, client: Any, name: str, to_set: dict[str, str], methods: dict[str, str]
) -> None:
    values = [
        {"ParameterName": key, "ParameterValue": value, "ApplyMethod": methods[key]}
        for key, value in sorted(to_set.items())
    ]
    for batch in batches(values):
        try:
            client.modify_db_parameter_group(DBParameterGroupName=name, Parameters=batch, aws_retry=True)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to set parameters {[v['ParameterName'] for v in batch]} of {name}")


def reset_parameters(
    module: AnsibleAWSModule, client: Any, name: str, to_reset: list[str], methods: dict[str, str]
) -> None:
    for batch in batches([{"ParameterName": key, "ApplyMethod": methods[key]} for key in to_reset]):
        try:
            client.reset_db_parameter_group(
                DBParameterGroupName=name, ResetAllParameters=False, Parameters=batch, aws_retry=True
            )
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to reset parameters {[v['ParameterName'] for v in batch]} of {name}")


def verify_parameters(
    module: AnsibleAWSModule, client: Any, name: str, to_set: dict[str, str], to_reset: list[str]
) -> None:
    """Read the group back and fail unless AWS reports what was set and reset."""
    known = group_parameters(module, client, name)
    wrong = []
    for key, value in sorted(to_set.items()):
        found = live_value(known[key]) if key in known else None
        if found != value:
            wrong.append(f"{key} (wanted {value!r}, found {found!r})")
    for key in to_reset:
        if known.get(key, {}).get("Source") == "user":
            wrong.append(f"{key} (wanted the default, found the user value {known[key].get('ParameterValue')!r})")
    if wrong:
        module.fail_json(msg=f"DB parameter group {name} does not report the values sent: {', '.join(wrong)}")


def create_group(module: AnsibleAWSModule, client: Any) -> dict[str, Any]:
    params = module.params
    request = {
        "DBParameterGroupName": params["name"],
        "DBParameterGroupFamily": params["family"],
        "Description": params["description"],
    }
    if params["tags"]:
        request["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
    if module.check_mode:
        return {key: value for key, value in request.items() if key != "Tags"}
    try:
        return client.create_db_parameter_group(aws_retry=True, **request)["DBParameterGroup"]
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to create DB parameter group {params['name']}")


def check_fixed_attributes(module: AnsibleAWSModule, group: dict[str, Any]) -> None:
    name, family, description = (module.params[key] for key in ("name", "family", "description"))
    live_family = group["DBParameterGroupFamily"]
    if family is not None and family != live_family:
        module.fail_json(
            msg=f"DB parameter group {name} cannot change family in place: family (live: {live_family!r}, "
            f"wanted: {family!r}). Create a group under another name and move the instances to it."
        )
    if description is not None and description != group.get("Description"):
        module.warn(f"AWS cannot change the description of DB parameter group {name}; it stays as it is")


def ensure_absent(module: AnsibleAWSModule, client: Any, group: dict[str, Any] | None) -> None:
    if group is None:
        exit_with_result(module, False, {}, {}, db_parameter_group={})
    before = view(group, {}, {})
    if not module.check_mode:
        try:
            client.delete_db_parameter_group(DBParameterGroupName=module.params["name"], aws_retry=True)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to delete DB parameter group {module.params['name']}")
    exit_with_result(module, True, before, {}, db_parameter_group={})


def read_parameters(
    module: AnsibleAWSModule, client: Any, group: dict[str, Any] | None
) -> tuple[dict[str, dict[str, Any]], str]:
    """The group's parameters (for a group still to create, its family's defaults) and its family."""
    params = module.params
    if group is not None:
        check_fixed_attributes(module, group)
        return group_parameters(module, client, params["name"]), group["DBParameterGroupFamily"]
    for option in ("family", "description"):
        if params[option] is None:
            module.fail_json(msg=f"{option} is required to create DB parameter group {params['name']}")
    if not params["parameters"]:
        return {}, params["family"]  # nothing to check, and a new group has no user values to purge
    return family_defaults(module, client, params["family"]), params["family"]


def ensure_present(module: AnsibleAWSModule, client: Any, group: dict[str, Any] | None) -> None:
    params = module.params
    name = params["name"]
    created = group is None
    known, family = read_parameters(module, client, group)
    # Every check runs before the first mutating call, creation included.
    wanted = wanted_values(module, known, family)
    to_set, to_reset = parameter_changes(wanted, known, params["purge_parameters"])
    methods = apply_methods(module, known, [*to_set, *to_reset])
    if created:
        group, live_tags = create_group(module, client), dict(params["tags"] or {})
    else:
        live_tags = get_tags(module, client, group["DBParameterGroupArn"])

    tags_to_set, tags_to_remove = tag_changes(live_tags, params["tags"], params["purge_tags"])
    if not module.check_mode:
        modify_parameters(module, client, name, to_set, methods)
        reset_parameters(module, client, name, to_reset, methods)
        if to_set or to_reset:
            verify_parameters(module, client, name, to_set, to_reset)
        if tags_to_set or tags_to_remove:
            apply_tags(module, client, group["DBParameterGroupArn"], tags_to_set, tags_to_remove)

    pending = sorted(key for key, method in methods.items() if method == "pending-reboot")
    if pending:
        module.warn(f"Instances using {name} apply {', '.join(pending)} only at their next reboot")
    # The diff shows the parameters set on the group and the given ones; reset ones leave it.
    before_parameters = {**user_values(known), **{key: known[key].get("ParameterValue") for key in wanted}}
    after_parameters = {key: value for key, value in before_parameters.items() if key not in to_reset} | to_set
    final_tags = tags_after(live_tags, tags_to_set, tags_to_remove)
    exit_with_result(
        module,
        created or bool(to_set or to_reset or tags_to_set or tags_to_remove),
        {} if created else view(group, before_parameters, live_tags),
        view(group, after_parameters, final_tags),
        db_parameter_group={**camel_dict_to_snake_dict(normalize_boto3_result(group)), "tags": final_tags},
        parameters={key: value for key, value in (user_values(known) | to_set).items() if key not in to_reset},
        parameters_changed=sorted([*to_set, *to_reset]),
        parameters_pending_reboot=pending,
    )


def main() -> None:
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    client = module.client("rds", retry_decorator=AWSRetry.jittered_backoff())
    group = describe_group(module, client, module.params["name"])
    if module.params["state"] == "absent":
        ensure_absent(module, client, group)
    else:
        ensure_present(module, client, group)


if __name__ == "__main__":
    main()
