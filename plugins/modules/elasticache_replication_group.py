#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# Ansible's module layout puts the documentation blocks before the imports.
# ruff: noqa: E402

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elasticache_replication_group
short_description: Manage an ElastiCache Redis or Valkey replication group
description:
  - Create, modify and delete an Amazon ElastiCache replication group with cluster mode disabled,
    that is one primary node and its read replicas, with Multi-AZ, automatic failover, encryption
    and an AUTH token.
  - C(community.aws.elasticache) manages single cache clusters only; this module manages the
    replication group the data layer of the stack runs on.
  - The module reads the live group, compares it with the options given, and calls only what
    differs. Options left unset are not compared.
  - Attributes AWS cannot change in place (O(at_rest_encryption), O(transit_encryption), O(kms_key_id),
    O(cache_subnet_group_name), O(port)) make the module fail, naming the attribute, the live value
    and the wanted one, instead of being ignored.
  - The replica count changes through C(IncreaseReplicaCount) and C(DecreaseReplicaCount) (always
    applied immediately, as AWS requires), everything else through one C(ModifyReplicationGroup) call
    carrying only the changed fields, tags through C(AddTagsToResource) and C(RemoveTagsFromResource).
author:
  - webstack maintainers (!UNKNOWN)
options:
  replication_group_id:
    description:
      - Identifier of the replication group.
    type: str
    required: true
  description:
    description:
      - Description of the replication group.
      - Required to create the group.
    type: str
  state:
    description:
      - Whether the replication group should exist.
    type: str
    choices: [present, absent]
    default: present
  engine:
    description:
      - Cache engine.
      - V(redis) when the group is created and this is not set; when not set on an existing
        group the engine is left as it is. AWS supports moving from V(redis) to V(valkey) only.
    type: str
    choices: [redis, valkey]
  engine_version:
    description:
      - Engine version, for example V(7.1). A live version that starts with the one given
        (V(7.1.0) for V(7.1)) counts as the same.
    type: str
  node_type:
    description:
      - Node type of every node in the group, for example V(cache.t4g.small).
    type: str
  replicas_per_node_group:
    description:
      - Number of read replicas next to the primary (0 to 5).
      - Changes go through C(IncreaseReplicaCount) or C(DecreaseReplicaCount).
    type: int
  multi_az:
    description:
      - Whether Multi-AZ is enabled. Needs O(automatic_failover=true) and at least one replica.
    type: bool
  automatic_failover:
    description:
      - Whether a replica is promoted automatically when the primary fails. Needs at least one replica.
    type: bool
  at_rest_encryption:
    description:
      - Whether data at rest is encrypted. Cannot be changed after creation.
    type: bool
  transit_encryption:
    description:
      - Whether connections use TLS. Required by O(auth_token).
      - Cannot be changed by this module after creation (AWS needs a staged migration for it).
    type: bool
  auth_token:
    description:
      - Password clients send with the Redis C(AUTH) command. Needs O(transit_encryption=true).
      - Used when the group is created. On an existing group it is sent only when
        O(auth_token_update_strategy) is set, because AWS never returns the token to compare with.
      - Never included in the module's result or diff.
    type: str
  auth_token_update_strategy:
    description:
      - How to apply O(auth_token) to an existing group. V(rotate) adds the token next to the
        current one, V(set) replaces both after a rotation.
      - Each run with this option set modifies the group; set it only in the run that changes the token.
    type: str
    choices: [rotate, set]
  kms_key_id:
    description:
      - KMS key encrypting data at rest. Cannot be changed after creation.
      - A key ID or ARN is compared with the live key; an alias cannot be, and is accepted as is.
    type: str
  cache_subnet_group_name:
    description:
      - Cache subnet group the nodes are placed in. Cannot be changed after creation.
    type: str
  security_group_ids:
    description:
      - VPC security groups of the nodes. Compared as a set.
    type: list
    elements: str
  cache_parameter_group_name:
    description:
      - Cache parameter group of the nodes.
    type: str
  port:
    description:
      - Port the nodes listen on. Cannot be changed after creation.
    type: int
  preferred_maintenance_window:
    description:
      - Weekly maintenance window, for example V(sun:05:00-sun:06:00) (UTC). Compared case-insensitively.
    type: str
  snapshot_window:
    description:
      - Daily window for automatic snapshots, for example V(03:00-04:00) (UTC).
    type: str
  snapshot_retention_limit:
    description:
      - Days automatic snapshots are kept; V(0) turns them off.
    type: int
  final_snapshot_identifier:
    description:
      - Name of a snapshot to take before the group is deleted. Only used with O(state=absent).
    type: str
  apply_immediately:
    description:
      - Whether modifications apply now rather than in the next maintenance window.
    type: bool
    default: false
  wait:
    description:
      - Whether to wait until the group is available (or gone, with O(state=absent)).
      - When one run needs several changes that depend on each other (replica count and failover),
        the module waits between them whatever this says.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait.
    type: int
    default: 1800
notes:
  - Engine version, subnet group, security groups, parameter group and maintenance window are read
    from the primary cache cluster; when AWS cannot describe it they are not compared.
  - Only cluster mode disabled groups (one node group) are created.
  - A group whose status is C(deleting) counts as absent.
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reads the group and reports what would be created, modified or deleted, without writing.
    support: full
  diff_mode:
    description: Shows the group's compared settings and tags before and after (the AUTH token left out).
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the session store is a Multi-AZ Redis group with one replica, TLS and AUTH
  webstack.aws.elasticache_replication_group:
    replication_group_id: webstack-sessions
    description: Session store of the web stack
    engine: redis
    engine_version: "7.1"
    node_type: cache.t4g.small
    replicas_per_node_group: 1
    automatic_failover: true
    multi_az: true
    at_rest_encryption: true
    transit_encryption: true
    auth_token: "{{ vault_redis_auth_token }}"
    cache_subnet_group_name: webstack-data
    security_group_ids:
      - sg-0123456789abcdef0
    cache_parameter_group_name: webstack-redis7
    snapshot_retention_limit: 7
    snapshot_window: "03:00-04:00"
    preferred_maintenance_window: "sun:05:00-sun:06:00"
    tags:
      Project: webstack
  no_log: true

- name: Ensure the session store token is rotated
  webstack.aws.elasticache_replication_group:
    replication_group_id: webstack-sessions
    transit_encryption: true
    auth_token: "{{ vault_redis_new_auth_token }}"
    auth_token_update_strategy: rotate
    apply_immediately: true
  no_log: true

- name: Ensure the session store is gone, keeping a final snapshot
  webstack.aws.elasticache_replication_group:
    replication_group_id: webstack-sessions
    state: absent
    final_snapshot_identifier: webstack-sessions-final
"""

RETURN = r"""
replication_group:
  description:
    - The replication group as DescribeReplicationGroups returns it, in snake_case, with its tags.
    - Empty when the group is absent, and when it would be created in check mode.
  returned: always
  type: dict
  contains:
    replication_group_id:
      description: Identifier of the group.
      type: str
      sample: webstack-sessions
    description:
      description: Description of the group.
      type: str
      sample: Session store of the web stack
    status:
      description: Status of the group.
      type: str
      sample: available
    arn:
      description: ARN of the group.
      type: str
      sample: arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:webstack-sessions
    member_clusters:
      description: Cache clusters of the group.
      type: list
      elements: str
      sample: [webstack-sessions-001, webstack-sessions-002]
    node_groups:
      description: Node groups with their endpoints and members.
      type: list
      elements: dict
    automatic_failover:
      description: Automatic failover status.
      type: str
      sample: enabled
    multi_az:
      description: Multi-AZ status.
      type: str
      sample: enabled
    cache_node_type:
      description: Node type.
      type: str
      sample: cache.t4g.small
    auth_token_enabled:
      description: Whether an AUTH token is set (the token itself is never returned).
      type: bool
      sample: true
    transit_encryption_enabled:
      description: Whether TLS is on.
      type: bool
      sample: true
    at_rest_encryption_enabled:
      description: Whether data at rest is encrypted.
      type: bool
      sample: true
    snapshot_retention_limit:
      description: Days automatic snapshots are kept.
      type: int
      sample: 7
    snapshot_window:
      description: Daily snapshot window.
      type: str
      sample: "03:00-04:00"
    engine:
      description: Cache engine.
      type: str
      sample: redis
    tags:
      description: Tags of the group.
      type: dict
      sample: {"Project": "webstack"}
"""

from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code, normalize_boto3_result
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.webstack.aws.plugins.module_utils import core, waiters
from ansible_collections.webstack.aws.plugins.module_utils.core import AWS_ERRORS, exit_with_result
from ansible_collections.webstack.aws.plugins.module_utils.tags import (
    apply_resource_tags,
    resource_tags,
    tag_changes,
    tags_after,
)

# Option name -> ModifyReplicationGroup / CreateReplicationGroup field.
MODIFIABLE = {
    "description": "ReplicationGroupDescription",
    "engine": "Engine",
    "engine_version": "EngineVersion",
    "node_type": "CacheNodeType",
    "automatic_failover": "AutomaticFailoverEnabled",
    "multi_az": "MultiAZEnabled",
    "security_group_ids": "SecurityGroupIds",
    "cache_parameter_group_name": "CacheParameterGroupName",
    "preferred_maintenance_window": "PreferredMaintenanceWindow",
    "snapshot_window": "SnapshotWindow",
    "snapshot_retention_limit": "SnapshotRetentionLimit",
}
# Option name -> CreateReplicationGroup field, for what only creation sets.
IMMUTABLE = {
    "at_rest_encryption": "AtRestEncryptionEnabled",
    "transit_encryption": "TransitEncryptionEnabled",
    "kms_key_id": "KmsKeyId",
    "cache_subnet_group_name": "CacheSubnetGroupName",
    "port": "Port",
}
REPLICAS = "replicas_per_node_group"
WAIT_DELAY = 15


def argument_spec() -> dict[str, Any]:
    return dict(
        replication_group_id=dict(type="str", required=True),
        description=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        engine=dict(type="str", choices=["redis", "valkey"]),
        engine_version=dict(type="str"),
        node_type=dict(type="str"),
        replicas_per_node_group=dict(type="int"),
        multi_az=dict(type="bool"),
        automatic_failover=dict(type="bool"),
        at_rest_encryption=dict(type="bool"),
        transit_encryption=dict(type="bool"),
        auth_token=dict(type="str", no_log=True),
        auth_token_update_strategy=dict(type="str", choices=["rotate", "set"], no_log=False),
        kms_key_id=dict(type="str"),
        cache_subnet_group_name=dict(type="str"),
        security_group_ids=dict(type="list", elements="str"),
        cache_parameter_group_name=dict(type="str"),
        port=dict(type="int"),
        preferred_maintenance_window=dict(type="str"),
        snapshot_window=dict(type="str"),
        snapshot_retention_limit=dict(type="int"),
        final_snapshot_identifier=dict(type="str"),
        apply_immediately=dict(type="bool", default=False),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
    )


# --- reading the live group ---------------------------------------------------------------


def describe_group(module: AnsibleAWSModule, client: Any, group_id: str) -> dict[str, Any] | None:
    try:
        groups = client.describe_replication_groups(ReplicationGroupId=group_id, aws_retry=True)
    except is_boto3_error_code("ReplicationGroupNotFoundFault"):
        return None
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe replication group {group_id}")
    return groups["ReplicationGroups"][0]


def primary_cluster_id(group: dict[str, Any]) -> str | None:
    members = [m for ng in group.get("NodeGroups", []) for m in ng.get("NodeGroupMembers", [])]
    primaries = [m["CacheClusterId"] for m in members if m.get("CurrentRole") == "primary"]
    clusters = primaries or group.get("MemberClusters") or []
    return clusters[0] if clusters else None


def describe_primary_cluster(module: AnsibleAWSModule, client: Any, group: dict[str, Any]) -> dict[str, Any] | None:
    """The primary cache cluster, which carries what the group does not report; None when unknown."""
    cluster_id = primary_cluster_id(group)
    if cluster_id is None:
        return None
    try:
        clusters = client.describe_cache_clusters(CacheClusterId=cluster_id, aws_retry=True)
    except is_boto3_error_code("CacheClusterNotFound"):
        return None
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe cache cluster {cluster_id}")
    return clusters["CacheClusters"][0]


def replica_count(group: dict[str, Any]) -> int | None:
    counts = [len(ng["NodeGroupMembers"]) - 1 for ng in group.get("NodeGroups", []) if ng.get("NodeGroupMembers")]
    return min(counts) if counts else None


def group_port(group: dict[str, Any]) -> int | None:
    endpoint = group.get("ConfigurationEndpoint") or next(
        (ng["PrimaryEndpoint"] for ng in group.get("NodeGroups", []) if ng.get("PrimaryEndpoint")), {}
    )
    return endpoint.get("Port")


def cluster_view(cluster: dict[str, Any]) -> dict[str, Any]:
    pending = cluster.get("PendingModifiedValues") or {}
    view = {
        "engine_version": pending.get("EngineVersion") or cluster.get("EngineVersion"),
        "cache_subnet_group_name": cluster.get("CacheSubnetGroupName"),
        "security_group_ids": sorted(sg["SecurityGroupId"] for sg in cluster.get("SecurityGroups", [])),
        "cache_parameter_group_name": (cluster.get("CacheParameterGroup") or {}).get("CacheParameterGroupName"),
        "preferred_maintenance_window": cluster.get("PreferredMaintenanceWindow"),
    }
    if pending.get("CacheNodeType"):
        view["node_type"] = pending["CacheNodeType"]
    return view


def live_view(group: dict[str, Any], cluster: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
    """The group in option names. A key is missing when AWS does not tell its value."""
    view: dict[str, Any] = {
        "description": group.get("Description"),
        "engine": group.get("Engine", "redis"),
        "node_type": group.get("CacheNodeType"),
        "automatic_failover": group.get("AutomaticFailover") in ("enabled", "enabling"),
        "multi_az": group.get("MultiAZ") == "enabled",
        "at_rest_encryption": group.get("AtRestEncryptionEnabled", False),
        "transit_encryption": group.get("TransitEncryptionEnabled", False),
        "auth_token_enabled": group.get("AuthTokenEnabled", False),
        "kms_key_id": group.get("KmsKeyId"),
        "snapshot_window": group.get("SnapshotWindow"),
        "snapshot_retention_limit": group.get("SnapshotRetentionLimit", 0),
        "tags": tags,
    }
    for key, value in ((REPLICAS, replica_count(group)), ("port", group_port(group))):
        if value is not None:
            view[key] = value
    if cluster is not None:
        view.update(cluster_view(cluster))
    return view


def wanted_view(params: dict[str, Any]) -> dict[str, Any]:
    view = {key: params[key] for key in (*MODIFIABLE, *IMMUTABLE, REPLICAS) if params[key] is not None}
    if "security_group_ids" in view:
        view["security_group_ids"] = sorted(view["security_group_ids"])
    return view


# --- comparing ----------------------------------------------------------------------------


def engine_version_matches(wanted: str, live: str | None) -> bool:
    if live is None:
        return False
    if wanted.endswith(".x"):
        return live.startswith(wanted[:-1])
    return live == wanted or live.startswith(wanted + ".")


def kms_key_matches(wanted: str, live: str | None) -> bool:
    if live is None:
        return False
    if wanted.startswith("alias/") or ":alias/" in wanted:
        return True  # AWS reports the key, not the alias: nothing to compare with
    return live == wanted or live.endswith("/" + wanted)


def same(key: str, wanted: Any, live: Any) -> bool:
    if key == "engine_version":
        return engine_version_matches(wanted, live)
    if key == "kms_key_id":
        return kms_key_matches(wanted, live)
    if key == "preferred_maintenance_window":
        return live is not None and wanted.lower() == live.lower()
    return wanted == live


def differences(wanted: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """Wanted values that differ from known live ones."""
    return {key: value for key, value in wanted.items() if key in live and not same(key, value, live[key])}


def fail_on_immutable(module: AnsibleAWSModule, group_id: str, diff: dict[str, Any], live: dict[str, Any]) -> None:
    changes = [f"{key} (live: {live[key]!r}, wanted: {diff[key]!r})" for key in IMMUTABLE if key in diff]
    if changes:
        module.fail_json(
            msg=f"Replication group {group_id} cannot change in place: {', '.join(changes)}. "
            "Recreate the group to change these attributes."
        )


def validate(module: AnsibleAWSModule, wanted: dict[str, Any], live: dict[str, Any]) -> None:
    """Cross-field rules, checked on the values the group will have (wanted over live)."""
    effective = {**live, **wanted}
    replicas = effective.get(REPLICAS, 0)
    for flag in ("automatic_failover", "multi_az"):
        if effective.get(flag) and replicas < 1:
            module.fail_json(
                msg=f"{flag}=true needs replicas_per_node_group >= 1, got replicas_per_node_group={replicas}"
            )
    if effective.get("multi_az") and not effective.get("automatic_failover"):
        module.fail_json(msg="multi_az=true needs automatic_failover=true, got automatic_failover=false")
    if module.params["auth_token"] is not None and not effective.get("transit_encryption"):
        module.fail_json(msg="auth_token needs transit_encryption=true, got transit_encryption=false")


# --- acting -------------------------------------------------------------------------------


def wait_for(module: AnsibleAWSModule, client: Any, waiter_name: str, group_id: str) -> None:
    msg = f"Replication group {group_id}: {waiter_name} not reached within wait_timeout"
    timeout = module.params["wait_timeout"]
    waiters.wait(module, client, waiter_name, timeout, WAIT_DELAY, msg, ReplicationGroupId=group_id)


def call(module: AnsibleAWSModule, client: Any, method: str, **request: Any) -> dict[str, Any]:
    msg = f"Failed to {method.replace('_', ' ')} {request['ReplicationGroupId']}"
    return core.call(module, getattr(client, method), msg, **request)


def create_request(params: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    fields = {**MODIFIABLE, **IMMUTABLE, REPLICAS: "ReplicasPerNodeGroup"}
    request = {fields[key]: value for key, value in wanted.items()}
    request["ReplicationGroupId"] = params["replication_group_id"]
    request.setdefault("Engine", "redis")
    if params["auth_token"] is not None:
        request["AuthToken"] = params["auth_token"]
    if params["tags"]:
        request["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
    return request


def auth_token_request(module: AnsibleAWSModule, live: dict[str, Any]) -> dict[str, str]:
    token, strategy = module.params["auth_token"], module.params["auth_token_update_strategy"]
    if token is None:
        return {}
    if strategy is None:
        if not live.get("auth_token_enabled"):
            module.warn("auth_token is set but the group has no AUTH token; set auth_token_update_strategy to add it")
        return {}
    return {"AuthToken": token, "AuthTokenUpdateStrategy": strategy.upper()}


def format_group(group: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    return {**camel_dict_to_snake_dict(normalize_boto3_result(group)), "tags": tags}


def get_tags(module: AnsibleAWSModule, client: Any, arn: str) -> dict[str, str]:
    """The group's tags; {} while AWS cannot list them yet (a group being created or deleted)."""
    return resource_tags(module, client, arn, ["InvalidReplicationGroupState", "ReplicationGroupNotFoundFault"])


def group_result(module: AnsibleAWSModule, client: Any, group_id: str) -> dict[str, Any]:
    """The group as it is after a change, read again."""
    group = describe_group(module, client, group_id)
    return {} if group is None else format_group(group, get_tags(module, client, group["ARN"]))


def ensure_absent(module: AnsibleAWSModule, client: Any, group: dict[str, Any] | None, before: dict[str, Any]) -> None:
    group_id = module.params["replication_group_id"]
    if group is None or group["Status"] == "deleting":
        if group is not None and module.params["wait"]:
            wait_for(module, client, "replication_group_deleted", group_id)
        exit_with_result(module, False, before, before, replication_group={})
    if not module.check_mode:
        request = {"ReplicationGroupId": group_id}
        if module.params["final_snapshot_identifier"]:
            request["FinalSnapshotIdentifier"] = module.params["final_snapshot_identifier"]
        call(module, client, "delete_replication_group", **request)
        if module.params["wait"]:
            wait_for(module, client, "replication_group_deleted", group_id)
    exit_with_result(module, True, before, {}, replication_group={})


def create(module: AnsibleAWSModule, client: Any, wanted: dict[str, Any]) -> None:
    params = module.params
    group_id = params["replication_group_id"]
    if params["description"] is None:
        module.fail_json(msg=f"description is required to create replication group {group_id}")
    validate(module, wanted, {})
    request = create_request(params, wanted)
    after = {**wanted, "engine": request["Engine"], "tags": params["tags"] or {}}
    if params["auth_token"] is not None:
        after["auth_token_enabled"] = True
    if module.check_mode:
        exit_with_result(module, True, {}, after, replication_group={})
    call(module, client, "create_replication_group", **request)
    if params["wait"]:
        wait_for(module, client, "replication_group_available", group_id)
    exit_with_result(module, True, {}, after, replication_group=group_result(module, client, group_id))


def update(module: AnsibleAWSModule, client: Any, group: dict[str, Any], live: dict[str, Any]) -> None:
    params = module.params
    group_id = params["replication_group_id"]
    wanted = wanted_view(params)
    validate(module, wanted, live)
    diff = differences(wanted, live)
    fail_on_immutable(module, group_id, diff, live)
    new_replicas = diff.pop(REPLICAS, None)
    modify = {MODIFIABLE[key]: value for key, value in diff.items() if key in MODIFIABLE}
    modify.update(auth_token_request(module, live))
    to_set, to_remove = tag_changes(live["tags"], params["tags"], params["purge_tags"])

    after = {**live, **{key: value for key, value in diff.items() if key in MODIFIABLE}}
    after["tags"] = tags_after(live["tags"], to_set, to_remove)
    if new_replicas is not None:
        after[REPLICAS] = new_replicas
    if "AuthTokenUpdateStrategy" in modify:
        after["auth_token_enabled"] = True
        after["auth_token_update_strategy"] = params["auth_token_update_strategy"]
    changed = bool(modify or to_set or to_remove or new_replicas is not None)
    if module.check_mode or not changed:
        exit_with_result(module, changed, live, after, replication_group=format_group(group, live["tags"]))

    steps = replica_and_modify_steps(module, group_id, live.get(REPLICAS, 0), new_replicas, modify)
    if steps and group["Status"] != "available" and params["wait"]:
        wait_for(module, client, "replication_group_available", group_id)
    for index, (method, request) in enumerate(steps):
        if index:
            wait_for(module, client, "replication_group_available", group_id)
        call(module, client, method, **request)
    if to_set or to_remove:
        apply_resource_tags(module, client, group["ARN"], to_set, to_remove)
    if steps and params["wait"]:
        wait_for(module, client, "replication_group_available", group_id)
    exit_with_result(module, True, live, after, replication_group=group_result(module, client, group_id))


def replica_and_modify_steps(
    module: AnsibleAWSModule, group_id: str, live_replicas: int, new_replicas: int | None, modify: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """API calls in a safe order: add replicas before enabling failover, disable it before removing them."""
    steps: list[tuple[str, dict[str, Any]]] = []
    if modify:
        request = {"ReplicationGroupId": group_id, "ApplyImmediately": module.params["apply_immediately"], **modify}
        steps.append(("modify_replication_group", request))
    if new_replicas is not None:
        method = "increase_replica_count" if new_replicas > live_replicas else "decrease_replica_count"
        request = {"ReplicationGroupId": group_id, "NewReplicaCount": new_replicas, "ApplyImmediately": True}
        if method == "increase_replica_count":
            steps.insert(0, (method, request))
        else:
            steps.append((method, request))
    return steps


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_by={"auth_token_update_strategy": "auth_token"},
    )
    client = core.aws_client(module, "elasticache")
    group_id = module.params["replication_group_id"]

    group = describe_group(module, client, group_id)
    live: dict[str, Any] = {}
    if group is not None:
        tags = get_tags(module, client, group["ARN"])
        live = live_view(group, describe_primary_cluster(module, client, group), tags)

    if module.params["state"] == "absent":
        ensure_absent(module, client, group, live)
    elif group is None or group["Status"] == "deleting":
        if group is not None:
            module.fail_json(msg=f"Replication group {group_id} is being deleted; run again once it is gone")
        create(module, client, wanted_view(module.params))
    else:
        update(module, client, group, live)


if __name__ == "__main__":
    main()
