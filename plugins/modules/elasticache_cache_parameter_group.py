#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Ansible's module layout puts the documentation blocks before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elasticache_cache_parameter_group
short_description: Manage an ElastiCache cache parameter group of any engine family
description:
  - Create, update and delete an Amazon ElastiCache cache parameter group and its parameter values.
  - Unlike C(community.aws.elasticache_parameter_group), which stops at the redis6.x families, any
    family AWS accepts works, for example V(redis7) or V(valkey8).
  - The module reads every parameter of the group (or, for a new group, the family's defaults),
    checks that each given parameter exists and is modifiable, and sends only the values that differ,
    at most 20 per C(ModifyCacheParameterGroup) call as AWS requires.
author:
  - webstack maintainers (!UNKNOWN)
options:
  name:
    description:
      - Name of the cache parameter group.
    type: str
    required: true
  family:
    description:
      - Cache parameter group family, for example V(redis7) or V(valkey8).
      - Required to create the group. It cannot change afterwards; a different family fails the module.
    type: str
  description:
    description:
      - Description of the group. Required to create it.
      - AWS cannot change it afterwards; a different description only produces a warning.
    type: str
  parameters:
    description:
      - Parameter values by name, for example V(allkeys-lru) for C(maxmemory-policy).
      - Values are compared as strings. A boolean becomes the form the parameter allows
        (V(yes)/V(no), V(true)/V(false) or V(1)/V(0)).
      - Parameters not listed are left as they are unless O(purge_parameters=true).
    type: dict
    default: {}
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
  - Clusters using the group pick up parameters of change type C(requires-reboot) only after a reboot;
    the module lists them in RV(parameters_requiring_reboot) and warns.
  - A group still used by a cluster cannot be deleted; AWS's error is reported.
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reads the group and its parameters and reports what would change, without writing.
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
- name: Ensure the session store evicts least-recently-used keys and notifies on expiry
  webstack.aws.elasticache_cache_parameter_group:
    name: webstack-redis7
    family: redis7
    description: Parameters of the web stack session store
    parameters:
      maxmemory-policy: allkeys-lru
      notify-keyspace-events: Ex
      timeout: 300
    tags:
      Project: webstack

- name: Ensure the Valkey group sets exactly these parameters
  webstack.aws.elasticache_cache_parameter_group:
    name: webstack-valkey8
    family: valkey8
    description: Parameters of the Valkey cache
    parameters:
      maxmemory-policy: volatile-lru
    purge_parameters: true

- name: Ensure the old parameter group is gone
  webstack.aws.elasticache_cache_parameter_group:
    name: webstack-redis6
    state: absent
"""

RETURN = r"""
cache_parameter_group:
  description: The group as DescribeCacheParameterGroups returns it, in snake_case, with its tags. Empty when absent.
  returned: always
  type: dict
  contains:
    cache_parameter_group_name:
      description: Name of the group.
      type: str
      sample: webstack-redis7
    cache_parameter_group_family:
      description: Family of the group.
      type: str
      sample: redis7
    description:
      description: Description of the group.
      type: str
      sample: Parameters of the web stack session store
    is_global:
      description: Whether the group belongs to a global datastore.
      type: bool
      sample: false
    arn:
      description: ARN of the group.
      type: str
      sample: arn:aws:elasticache:eu-west-1:123456789012:parametergroup:webstack-redis7
    tags:
      description: Tags of the group.
      type: dict
      sample: {"Project": "webstack"}
parameters:
  description: Values of the parameters set on the group (source C(user)) once the module is done.
  returned: when O(state=present)
  type: dict
  sample: {"maxmemory-policy": "allkeys-lru", "timeout": "300"}
parameters_requiring_reboot:
  description: Changed parameters that clusters apply only after a reboot.
  returned: when O(state=present)
  type: list
  elements: str
  sample: ["databases"]
"""

from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    normalize_boto3_result,
    paginated_query_with_retries,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.webstack.aws.plugins.module_utils.arn_tags import (
    apply_tags,
    exit_with_result,
    tag_changes,
    tags_after,
)
from ansible_collections.webstack.aws.plugins.module_utils.elasticache import get_tags

try:
    from botocore.exceptions import BotoCoreError, ClientError

    AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)
except ImportError:
    AWS_ERRORS = ()  # AnsibleAWSModule reports the missing SDK

MAX_PARAMETERS_PER_CALL = 20  # ModifyCacheParameterGroup and ResetCacheParameterGroup limit
BOOLEAN_FORMS = (("yes", "no"), ("true", "false"), ("1", "0"))


def argument_spec() -> dict[str, Any]:
    return dict(
        name=dict(type="str", required=True),
        family=dict(type="str"),
        description=dict(type="str"),
        parameters=dict(type="dict", default={}),
        purge_parameters=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )


# --- reading ------------------------------------------------------------------------------


def describe_group(module: AnsibleAWSModule, client: Any, name: str) -> dict[str, Any] | None:
    try:
        response = client.describe_cache_parameter_groups(CacheParameterGroupName=name, aws_retry=True)
    except is_boto3_error_code("CacheParameterGroupNotFound"):
        return None
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to describe cache parameter group {name}")
    return response["CacheParameterGroups"][0]


def group_parameters(module: AnsibleAWSModule, client: Any, name: str) -> dict[str, dict[str, Any]]:
    """Every parameter of the group by name, all sources, all pages."""
    try:
        response = paginated_query_with_retries(
            client, "describe_cache_parameters", AWSRetry.jittered_backoff(), CacheParameterGroupName=name
        )
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the parameters of cache parameter group {name}")
    return {parameter["ParameterName"]: parameter for parameter in response.get("Parameters", [])}


def family_defaults(module: AnsibleAWSModule, client: Any, family: str) -> dict[str, dict[str, Any]]:
    """The parameters a new group of ``family`` starts with."""
    try:
        response = paginated_query_with_retries(
            client, "describe_engine_default_parameters", AWSRetry.jittered_backoff(), CacheParameterGroupFamily=family
        )
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to read the default parameters of family {family}")
    parameters = response.get("EngineDefaults", {}).get("Parameters", [])
    return {parameter["ParameterName"]: parameter for parameter in parameters}


# --- comparing ----------------------------------------------------------------------------


def as_aws_value(value: Any, allowed_values: str | None) -> str:
    """The string AWS stores for ``value``; a boolean takes the form the parameter allows."""
    if isinstance(value, bool):
        allowed = {item.strip() for item in (allowed_values or "").split(",")}
        true_form, false_form = next((pair for pair in BOOLEAN_FORMS if set(pair) <= allowed), BOOLEAN_FORMS[0])
        return true_form if value else false_form
    return str(value)


def wanted_values(module: AnsibleAWSModule, known: dict[str, dict[str, Any]], family: str) -> dict[str, str]:
    """The given parameters as AWS strings, after checking each exists and can be modified."""
    wanted = {}
    for name, value in module.params["parameters"].items():
        parameter = known.get(name)
        if parameter is None:
            module.fail_json(msg=f"parameters: {name!r} is not a parameter of family {family}")
        if parameter.get("IsModifiable") is False:
            module.fail_json(msg=f"parameters: {name!r} cannot be modified (family {family})")
        wanted[name] = as_aws_value(value, parameter.get("AllowedValues"))
    return wanted


def user_values(known: dict[str, dict[str, Any]]) -> dict[str, str | None]:
    return {name: p.get("ParameterValue") for name, p in known.items() if p.get("Source") == "user"}


def parameter_changes(
    wanted: dict[str, str], known: dict[str, dict[str, Any]], purge: bool
) -> tuple[dict[str, str], list[str]]:
    """Values to set and parameter names to reset to their defaults."""
    to_set = {name: value for name, value in wanted.items() if known.get(name, {}).get("ParameterValue") != value}
    to_reset = sorted(name for name in user_values(known) if purge and name not in wanted)
    return to_set, to_reset


def view(group: dict[str, Any], parameters: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    return {
        "family": group.get("CacheParameterGroupFamily"),
        "description": group.get("Description"),
        "parameters": parameters,
        "tags": tags,
    }


# --- acting -------------------------------------------------------------------------------


def batches(items: list[Any]) -> list[list[Any]]:
    return [items[start : start + MAX_PARAMETERS_PER_CALL] for start in range(0, len(items), MAX_PARAMETERS_PER_CALL)]


def modify_parameters(module: AnsibleAWSModule, client: Any, name: str, to_set: dict[str, str]) -> None:
    values = [{"ParameterName": key, "ParameterValue": value} for key, value in sorted(to_set.items())]
    for batch in batches(values):
        try:
            client.modify_cache_parameter_group(CacheParameterGroupName=name, ParameterNameValues=batch, aws_retry=True)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to set parameters {[v['ParameterName'] for v in batch]} of {name}")


def reset_parameters(module: AnsibleAWSModule, client: Any, name: str, to_reset: list[str]) -> None:
    for batch in batches([{"ParameterName": key} for key in to_reset]):
        try:
            client.reset_cache_parameter_group(
                CacheParameterGroupName=name, ResetAllParameters=False, ParameterNameValues=batch, aws_retry=True
            )
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to reset parameters {[v['ParameterName'] for v in batch]} of {name}")


def create_group(module: AnsibleAWSModule, client: Any) -> dict[str, Any]:
    params = module.params
    request = {
        "CacheParameterGroupName": params["name"],
        "CacheParameterGroupFamily": params["family"],
        "Description": params["description"],
    }
    if params["tags"]:
        request["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
    if module.check_mode:
        return request
    try:
        return client.create_cache_parameter_group(aws_retry=True, **request)["CacheParameterGroup"]
    except AWS_ERRORS as e:
        module.fail_json_aws(e, msg=f"Failed to create cache parameter group {params['name']}")


def check_fixed_attributes(module: AnsibleAWSModule, group: dict[str, Any]) -> None:
    name, family, description = (module.params[key] for key in ("name", "family", "description"))
    live_family = group["CacheParameterGroupFamily"]
    if family is not None and family != live_family:
        module.fail_json(
            msg=f"Cache parameter group {name} cannot change family in place: family (live: {live_family!r}, "
            f"wanted: {family!r}). Create a group under another name and move the clusters to it."
        )
    if description is not None and description != group.get("Description"):
        module.warn(f"AWS cannot change the description of cache parameter group {name}; it stays as it is")


def ensure_absent(module: AnsibleAWSModule, client: Any, group: dict[str, Any] | None) -> None:
    if group is None:
        exit_with_result(module, False, {}, {}, cache_parameter_group={})
    before = view(group, {}, {})
    if not module.check_mode:
        try:
            client.delete_cache_parameter_group(CacheParameterGroupName=module.params["name"], aws_retry=True)
        except AWS_ERRORS as e:
            module.fail_json_aws(e, msg=f"Failed to delete cache parameter group {module.params['name']}")
    exit_with_result(module, True, before, {}, cache_parameter_group={})


def read_or_create(module: AnsibleAWSModule, client: Any, group: dict[str, Any] | None) -> tuple[Any, ...]:
    """The group (created if missing), its parameters, the wanted values and its tags."""
    params = module.params
    if group is not None:
        check_fixed_attributes(module, group)
        known = group_parameters(module, client, params["name"])
        wanted = wanted_values(module, known, group["CacheParameterGroupFamily"])
        return group, known, wanted, get_tags(module, client, group["ARN"])
    for option in ("family", "description"):
        if params[option] is None:
            module.fail_json(msg=f"{option} is required to create cache parameter group {params['name']}")
    known = family_defaults(module, client, params["family"])
    wanted = wanted_values(module, known, params["family"])  # checked before anything is created
    return create_group(module, client), known, wanted, dict(params["tags"] or {})


def ensure_present(module: AnsibleAWSModule, client: Any, group: dict[str, Any] | None) -> None:
    params = module.params
    name = params["name"]
    created = group is None
    group, known, wanted, live_tags = read_or_create(module, client, group)

    to_set, to_reset = parameter_changes(wanted, known, params["purge_parameters"])
    tags_to_set, tags_to_remove = tag_changes(live_tags, params["tags"], params["purge_tags"])
    if not module.check_mode:
        modify_parameters(module, client, name, to_set)
        reset_parameters(module, client, name, to_reset)
        if tags_to_set or tags_to_remove:
            apply_tags(module, client, group["ARN"], tags_to_set, tags_to_remove)

    reboot = sorted(key for key in to_set if known[key].get("ChangeType") == "requires-reboot")
    if reboot:
        module.warn(f"Clusters using {name} apply {', '.join(reboot)} only after a reboot")
    # The diff shows the parameters set on the group and the given ones; reset ones leave it.
    before_parameters = {**user_values(known), **{key: known[key].get("ParameterValue") for key in wanted}}
    after_parameters = {key: value for key, value in before_parameters.items() if key not in to_reset} | to_set
    final_tags = tags_after(live_tags, tags_to_set, tags_to_remove)
    exit_with_result(
        module,
        created or bool(to_set or to_reset or tags_to_set or tags_to_remove),
        {} if created else view(group, before_parameters, live_tags),
        view(group, after_parameters, final_tags),
        cache_parameter_group={**camel_dict_to_snake_dict(normalize_boto3_result(group)), "tags": final_tags},
        parameters={key: value for key, value in (user_values(known) | to_set).items() if key not in to_reset},
        parameters_requiring_reboot=reboot,
    )


def main() -> None:
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    client = module.client("elasticache", retry_decorator=AWSRetry.jittered_backoff())
    group = describe_group(module, client, module.params["name"])
    if module.params["state"] == "absent":
        ensure_absent(module, client, group)
    else:
        ensure_present(module, client, group)


if __name__ == "__main__":
    main()
