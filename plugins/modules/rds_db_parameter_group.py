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
  - Why this module and not C(amazon.aws.rds_instance_param_group) (measured with amazon.aws 10.1.2 on the
    moto emulator, see docs/COLLECTION.md) - the collection module fails there on every create, rerun,
    modify and delete (C(list index out of range) on DescribeDBParameterGroups, C(DBParameterGroupNotFound)
    when deleting an absent group), has no diff mode, and reports an unknown, unmodifiable or out-of-range
    parameter in a list instead of failing. This module is idempotent there (a rerun sends 3 read calls
    and no write), supports check and diff mode, fails on a bad value before any change and verifies the
    values AWS reports after one.
  - Shares its code with M(webstack.aws.elasticache_cache_parameter_group) (module_utils/parameter_group.py).
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

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils import parameter_group

KIND = parameter_group.Kind(
    what="DB parameter group",
    members="instances",
    service="rds",
    name_key="DBParameterGroupName",
    family_key="DBParameterGroupFamily",
    arn_key="DBParameterGroupArn",
    describe="describe_db_parameter_groups",
    groups_key="DBParameterGroups",
    not_found="DBParameterGroupNotFound",
    parameters="describe_db_parameters",
    create="create_db_parameter_group",
    created_key="DBParameterGroup",
    delete="delete_db_parameter_group",
    modify="modify_db_parameter_group",
    reset="reset_db_parameter_group",
    values_key="Parameters",
    result_key="db_parameter_group",
)


def argument_spec() -> dict[str, Any]:
    return dict(
        parameter_group.argument_spec(),
        apply_method=dict(type="str", choices=["auto", "immediate", "pending-reboot"], default="auto"),
    )


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


def extra_result(
    module: AnsibleAWSModule, known: dict[str, Any], to_set: dict[str, str], methods: dict[str, str]
) -> dict[str, Any]:
    pending = sorted(key for key, method in methods.items() if method == "pending-reboot")
    if pending:
        module.warn(f"Instances using {module.params['name']} apply {', '.join(pending)} only at their next reboot")
    return {"parameters_changed": sorted(methods), "parameters_pending_reboot": pending}


def main() -> None:
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    parameter_group.run(
        module,
        KIND,
        lambda known, names: apply_methods(module, known, names),
        lambda known, to_set, methods: extra_result(module, known, to_set, methods),
    )


if __name__ == "__main__":
    main()
