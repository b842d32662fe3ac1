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
  - Why this module and not C(community.aws.elasticache_parameter_group) - the collection module accepts
    only the families up to V(redis6.x) (the data role uses V(redis7)), reports C(changed=false) in check
    mode for a group it would create, and has no diff mode. Neither module can be tried on the moto
    emulator, which has no ElastiCache parameter-group API; this one is tested with botocore's Stubber
    and by its integration target on AWS (docs/COLLECTION.md).
  - The module reads every parameter of the group (or, for a new group, the family's defaults) and, before
    changing anything, checks that each given parameter exists, is modifiable and has a value within its
    C(AllowedValues); it sends only the values that differ, at most 20 per C(ModifyCacheParameterGroup)
    call as AWS requires, then reads them back and fails if AWS does not report them.
  - Shares its code with M(webstack.aws.rds_db_parameter_group) (module_utils/parameter_group.py).
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

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils import parameter_group

KIND = parameter_group.Kind(
    what="cache parameter group",
    members="clusters",
    service="elasticache",
    name_key="CacheParameterGroupName",
    family_key="CacheParameterGroupFamily",
    arn_key="ARN",
    describe="describe_cache_parameter_groups",
    groups_key="CacheParameterGroups",
    not_found="CacheParameterGroupNotFound",
    parameters="describe_cache_parameters",
    create="create_cache_parameter_group",
    created_key="CacheParameterGroup",
    delete="delete_cache_parameter_group",
    modify="modify_cache_parameter_group",
    reset="reset_cache_parameter_group",
    values_key="ParameterNameValues",
    result_key="cache_parameter_group",
)


def extra_result(module: AnsibleAWSModule, known: dict[str, Any], to_set: dict[str, str]) -> dict[str, Any]:
    """ElastiCache takes no apply method: clusters pick up a requires-reboot parameter at their next reboot."""
    reboot = sorted(key for key in to_set if known[key].get("ChangeType") == "requires-reboot")
    if reboot:
        module.warn(f"Clusters using {module.params['name']} apply {', '.join(reboot)} only after a reboot")
    return {"parameters_requiring_reboot": reboot}


def main() -> None:
    module = AnsibleAWSModule(argument_spec=parameter_group.argument_spec(), supports_check_mode=True)
    parameter_group.run(
        module,
        KIND,
        lambda known, names: None,
        lambda known, to_set, methods: extra_result(module, known, to_set),
    )


if __name__ == "__main__":
    main()
