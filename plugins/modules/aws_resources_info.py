#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: aws_resources_info
short_description: Tell which of the named AWS resources exist, with the fewest reads, in one process
description:
  - Answers one question before a layer's teardown walks its delete tasks (each a module process
    that imports boto3 and looks again), namely whether anything of the layer is left. It reads every
    kind asked for in one process and returns the names (or ids) it found, and RV(found) when there is any.
  - Only reads. It is the one module of the project that spans resource kinds, because its whole point
    is to answer for many kinds at once; it creates, changes and deletes nothing.
  - Each kind costs one read per name, or one read (or one page) for all the names, whichever the API
    allows; nothing is read for a kind that is not asked for. An error other than "not found" fails the
    task rather than being taken for "absent", so a teardown never skips what it could not look at.
  - A resource on its way out still counts while AWS still lists it (an Auto Scaling group being
    deleted, a replication group in C(deleting)), so that the teardown waits for it or finishes it.
author:
  - webstack maintainers (!UNKNOWN)
options:
  ssm_parameter_paths:
    description: SSM Parameter Store paths; found when at least one parameter exists under the path, at any depth.
    type: list
    elements: str
    default: []
  autoscaling_groups:
    description: Auto Scaling group names.
    type: list
    elements: str
    default: []
  launch_templates:
    description: EC2 launch template names.
    type: list
    elements: str
    default: []
  load_balancers:
    description: Elastic Load Balancing v2 load balancer names.
    type: list
    elements: str
    default: []
  target_groups:
    description: Elastic Load Balancing v2 target group names.
    type: list
    elements: str
    default: []
  listener_rules:
    description:
      - Listener rules, by the name of their load balancer and their priority; found (as
        C(<load balancer>:<priority>)) when a listener of that load balancer has a rule at that priority.
    type: list
    elements: dict
    default: []
    suboptions:
      load_balancer:
        description: The load balancer's name.
        type: str
        required: true
      priority:
        description: The rule's priority.
        type: int
        required: true
      protocol:
        description: Only the listeners of this protocol (C(HTTPS)); all listeners when left out.
        type: str
  iam_roles:
    description: IAM role names.
    type: list
    elements: str
    default: []
  iam_instance_profiles:
    description: IAM instance profile names.
    type: list
    elements: str
    default: []
  s3_bucket_prefixes:
    description:
      - Prefixes of S3 bucket names; the account's buckets whose names start with one are found (one
        C(ListBuckets)). A prefix rather than a name, because a bucket name often carries the account id.
    type: list
    elements: str
    default: []
  rds_instances:
    description: RDS DB instance identifiers.
    type: list
    elements: str
    default: []
  rds_subnet_groups:
    description: RDS DB subnet group names.
    type: list
    elements: str
    default: []
  rds_parameter_groups:
    description: RDS DB parameter group names.
    type: list
    elements: str
    default: []
  elasticache_replication_groups:
    description: ElastiCache replication group ids.
    type: list
    elements: str
    default: []
  elasticache_subnet_groups:
    description: ElastiCache cache subnet group names.
    type: list
    elements: str
    default: []
  elasticache_parameter_groups:
    description: ElastiCache cache parameter group names.
    type: list
    elements: str
    default: []
  secrets:
    description:
      - Secrets Manager secret names. A secret scheduled for deletion counts only with
        O(include_secrets_pending_deletion).
    type: list
    elements: str
    default: []
  include_secrets_pending_deletion:
    description:
      - Count a secret scheduled for deletion as found (a teardown with a recovery window of 0 deletes
        such a secret for good).
    type: bool
    default: false
  backup_vaults:
    description: AWS Backup vault names (C(ListBackupVaults), paged).
    type: list
    elements: str
    default: []
  backup_plans:
    description:
      - AWS Backup plan names; a deleted plan (which AWS still reads by id) does not count
        (C(ListBackupPlans), paged).
    type: list
    elements: str
    default: []
  kms_key_aliases:
    description:
      - KMS key aliases (C(alias/...)); found when the alias exists and names a key that is not already
        scheduled for deletion (C(ListAliases), paged, then one C(DescribeKey) per alias found).
    type: list
    elements: str
    default: []
  cognito_user_pools:
    description: Cognito user pool names.
    type: list
    elements: str
    default: []
  route53_records:
    description:
      - Record sets of public hosted zones, found (as C(<name> <type>)) when a public zone named
        O(route53_records[].zone) holds a record set of one of the names with one of the types.
    type: list
    elements: dict
    default: []
    suboptions:
      zone:
        description: The zone's domain name.
        type: str
        required: true
      names:
        description: The records' names.
        type: list
        elements: str
        required: true
      types:
        description: The records' types.
        type: list
        elements: str
        required: true
  route53_zones:
    description: Public hosted zones, by domain name, optionally only those whose comment matches a regular expression.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The zone's domain name.
        type: str
        required: true
      comment_pattern:
        description: A Python regular expression the zone's comment must contain a match of.
        type: str
  wafv2_web_acls:
    description: WAFv2 web ACL names, in O(wafv2_scope).
    type: list
    elements: str
    default: []
  wafv2_ip_sets:
    description: WAFv2 IP set names, in O(wafv2_scope).
    type: list
    elements: str
    default: []
  wafv2_scope:
    description: The scope of O(wafv2_web_acls) and O(wafv2_ip_sets).
    type: str
    choices: [REGIONAL, CLOUDFRONT]
    default: REGIONAL
  log_groups:
    description: CloudWatch Logs log group names.
    type: list
    elements: str
    default: []
  log_group_prefixes:
    description:
      - Prefixes of CloudWatch Logs log group names (C(/webstack-prod/)); every group whose name starts
        with one is found, by name.
    type: list
    elements: str
    default: []
  cloudwatch_alarm_prefixes:
    description:
      - Prefixes of CloudWatch alarm names; every metric or composite alarm whose name starts with one is
        found (one C(DescribeAlarms) per prefix and page).
    type: list
    elements: str
    default: []
  cloudwatch_dashboards:
    description: CloudWatch dashboard names.
    type: list
    elements: str
    default: []
  sns_topics:
    description: SNS topic names; found (by name) when the region's topics include one (C(ListTopics), paged).
    type: list
    elements: str
    default: []
  acm_certificates:
    description: Domain names; an ACM certificate whose (first) domain name is one of them is found, in any status.
    type: list
    elements: str
    default: []
  vpc_tags:
    description:
      - Tags of the VPCs that O(ec2_tags) looks in (returned in RV(vpc_ids), which does not count
        towards RV(found)). When given and no VPC carries them, nothing is looked for inside a VPC.
    type: dict
  ec2_tags:
    description:
      - Tags of EC2 networking resources. The subnets, security groups, route tables and live NAT gateways
        (in the VPCs of O(vpc_tags) when given) and the Elastic IPs that carry all of them are found, and
        so is every live NAT gateway that uses one of those Elastic IPs, tagged or not (a run stopped
        before tagging it leaves only that trace).
    type: dict
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Only reads; runs the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: none
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Find what is left of the compute layer
  aws_resources_info:
    ssm_parameter_paths: [/webstack-staging/compute]
    autoscaling_groups: [webstack-staging-frontend, webstack-staging-backend]
    launch_templates: [webstack-staging-frontend, webstack-staging-backend]
    load_balancers: [webstack-staging-internal]
    target_groups: [webstack-staging-backend]
    iam_roles: [webstack-staging-frontend-instance, webstack-staging-backend-instance]
    iam_instance_profiles: [webstack-staging-frontend-instance, webstack-staging-backend-instance]
    s3_bucket_prefixes: [webstack-staging-bootstrap-]
  register: __compute_td_left

- name: Remove the compute layer only when something of it is left
  ansible.builtin.include_tasks: teardown_resources.yml
  when: __compute_td_left.found

- name: Find this environment's network in the shared VPC
  aws_resources_info:
    vpc_tags: {Name: webstack-edge-vpc, Project: webstack}
    ec2_tags: {Project: webstack, Environment: Production}
"""

RETURN = r"""
found:
  description: Whether any resource asked for exists (RV(vpc_ids) does not count).
  returned: always
  type: bool
  sample: true
resources:
  description:
    - What was found, by the option it was asked for in (C(subnets), C(security_groups), C(route_tables),
      C(nat_gateways) and C(elastic_ips) for O(ec2_tags)), each a sorted list; a kind that was not asked
      for is left out.
  returned: always
  type: dict
  sample: {"autoscaling_groups": ["webstack-staging-frontend"], "launch_templates": [], "nat_gateways": ["nat-0abc"]}
vpc_ids:
  description: The VPCs that carry O(vpc_tags).
  returned: when O(vpc_tags) is given
  type: list
  elements: str
  sample: ["vpc-0123456789abcdef0"]
"""

import re
from collections.abc import Callable
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, call

LIVE_NAT_STATES = ["pending", "available"]


def argument_spec() -> dict[str, Any]:
    names = dict(type="list", elements="str", default=[])
    return dict(
        ssm_parameter_paths=names,
        autoscaling_groups=names,
        launch_templates=names,
        load_balancers=names,
        target_groups=names,
        listener_rules=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                load_balancer=dict(type="str", required=True),
                priority=dict(type="int", required=True),
                protocol=dict(type="str"),
            ),
        ),
        iam_roles=names,
        iam_instance_profiles=names,
        s3_bucket_prefixes=names,
        rds_instances=names,
        rds_subnet_groups=names,
        rds_parameter_groups=names,
        elasticache_replication_groups=names,
        elasticache_subnet_groups=names,
        elasticache_parameter_groups=names,
        secrets=dict(names, no_log=False),  # secret *names*, not secret values
        include_secrets_pending_deletion=dict(type="bool", default=False),
        backup_vaults=names,
        backup_plans=names,
        kms_key_aliases=dict(names, no_log=False),  # alias *names* of keys, no key material
        cognito_user_pools=names,
        route53_records=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                zone=dict(type="str", required=True),
                names=dict(type="list", elements="str", required=True),
                types=dict(type="list", elements="str", required=True),
            ),
        ),
        route53_zones=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(name=dict(type="str", required=True), comment_pattern=dict(type="str")),
        ),
        wafv2_web_acls=names,
        wafv2_ip_sets=names,
        wafv2_scope=dict(type="str", choices=["REGIONAL", "CLOUDFRONT"], default="REGIONAL"),
        log_groups=names,
        log_group_prefixes=names,
        cloudwatch_alarm_prefixes=names,
        cloudwatch_dashboards=names,
        sns_topics=names,
        acm_certificates=names,
        vpc_tags=dict(type="dict"),
        ec2_tags=dict(type="dict"),
    )


class Reader:
    """The module's clients (one per service, made on first use) and its reads."""

    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.clients: dict[str, Any] = {}
        self.vpc_ids: list[str] = []

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = aws_client(self.module, service)
        return self.clients[service]

    def call(self, service: str, operation: str, what: str, missing: str | None = None, **request: Any) -> Any:
        """One call; None when AWS answers with the ``missing`` error code; any other error fails the task."""
        method = getattr(self.client(service), operation)
        return call(self.module, method, f"Failed to look for {what}", [missing] if missing else None, **request)

    def pages(self, service: str, operation: str, key: str, what: str, marker: str = "NextToken", **request: Any):
        """The items of ``key`` page after page, read only as far as the caller goes.

        ``marker`` names the next page's marker in the answer; the request takes it under the same
        name, except ``NextMarker`` of Elastic Load Balancing and KMS, which goes back as ``Marker``.
        """
        request_marker = "Marker" if marker == "NextMarker" and service in ("elbv2", "kms") else marker
        while True:
            page = self.call(service, operation, what, **request)
            yield from page.get(key, [])
            if not page.get(marker):
                return
            request[request_marker] = page[marker]


def normal(name: str) -> str:
    """A DNS name as Route53 compares it: lower case, without the final dot."""
    return name.lower().rstrip(".")


# --- one function per kind: the names (or ids) that exist -----------------------------------


def ssm_parameter_paths(reader: Reader, paths: list[str]) -> list[str]:
    found = []
    for path in paths:
        parameters = reader.pages(
            "ssm",
            "get_parameters_by_path",
            "Parameters",
            f"SSM parameters under {path}",
            Path=path.rstrip("/") or "/",
            Recursive=True,
            MaxResults=10,
        )
        if next(parameters, None) is not None:
            found.append(path)
    return found


def autoscaling_groups(reader: Reader, names: list[str]) -> list[str]:
    groups = reader.pages(
        "autoscaling",
        "describe_auto_scaling_groups",
        "AutoScalingGroups",
        f"Auto Scaling groups {names}",
        AutoScalingGroupNames=names,
    )
    return [group["AutoScalingGroupName"] for group in groups if group["AutoScalingGroupName"] in names]


def launch_templates(reader: Reader, names: list[str]) -> list[str]:
    templates = reader.pages(
        "ec2",
        "describe_launch_templates",
        "LaunchTemplates",
        f"launch templates {names}",
        Filters=[{"Name": "launch-template-name", "Values": names}],
    )
    return [template["LaunchTemplateName"] for template in templates if template["LaunchTemplateName"] in names]


def load_balancer(reader: Reader, name: str) -> dict[str, Any] | None:
    answer = reader.call(
        "elbv2", "describe_load_balancers", f"load balancer {name}", "LoadBalancerNotFound", Names=[name]
    )
    return (answer or {}).get("LoadBalancers", [None])[0]


def load_balancers(reader: Reader, names: list[str]) -> list[str]:
    return [name for name in names if load_balancer(reader, name) is not None]


def target_groups(reader: Reader, names: list[str]) -> list[str]:
    found = []
    for name in names:
        answer = reader.call(
            "elbv2", "describe_target_groups", f"target group {name}", "TargetGroupNotFound", Names=[name]
        )
        if (answer or {}).get("TargetGroups"):
            found.append(name)
    return found


def listener_rules(reader: Reader, rules: list[dict[str, Any]]) -> list[str]:
    found = []
    for rule in rules:
        balancer = load_balancer(reader, rule["load_balancer"])
        if balancer is None:
            continue
        listeners = reader.pages(
            "elbv2",
            "describe_listeners",
            "Listeners",
            f"the listeners of {rule['load_balancer']}",
            marker="NextMarker",
            LoadBalancerArn=balancer["LoadBalancerArn"],
        )
        for listener in listeners:
            if rule["protocol"] and listener.get("Protocol") != rule["protocol"]:
                continue
            priorities = reader.pages(
                "elbv2",
                "describe_rules",
                "Rules",
                f"the rules of {listener['ListenerArn']}",
                marker="NextMarker",
                ListenerArn=listener["ListenerArn"],
            )
            if any(r.get("Priority") == str(rule["priority"]) for r in priorities):
                found.append(f"{rule['load_balancer']}:{rule['priority']}")
                break
    return found


def iam_roles(reader: Reader, names: list[str]) -> list[str]:
    return [name for name in names if reader.call("iam", "get_role", f"IAM role {name}", "NoSuchEntity", RoleName=name)]


def iam_instance_profiles(reader: Reader, names: list[str]) -> list[str]:
    return [
        name
        for name in names
        if reader.call(
            "iam", "get_instance_profile", f"instance profile {name}", "NoSuchEntity", InstanceProfileName=name
        )
    ]


def s3_bucket_prefixes(reader: Reader, prefixes: list[str]) -> list[str]:
    buckets = reader.call("s3", "list_buckets", "the S3 buckets").get("Buckets", [])
    return sorted(b["Name"] for b in buckets if any(b["Name"].startswith(prefix) for prefix in prefixes))


def rds_instances(reader: Reader, names: list[str]) -> list[str]:
    instances = reader.pages(
        "rds",
        "describe_db_instances",
        "DBInstances",
        f"DB instances {names}",
        marker="Marker",
        Filters=[{"Name": "db-instance-id", "Values": names}],
    )
    return [i["DBInstanceIdentifier"] for i in instances if i["DBInstanceIdentifier"] in names]


def by_name(
    service: str, operation: str, parameter: str, key: str, missing: str, what: str
) -> Callable[..., list[str]]:
    """A kind read with one describe call per name, which lists it under ``key`` or answers ``missing``."""

    def find(reader: Reader, names: list[str]) -> list[str]:
        found = []
        for name in names:
            answer = reader.call(service, operation, f"{what} {name}", missing, **{parameter: name})
            if (answer or {}).get(key):
                found.append(name)
        return found

    return find


rds_subnet_groups = by_name(
    "rds",
    "describe_db_subnet_groups",
    "DBSubnetGroupName",
    "DBSubnetGroups",
    "DBSubnetGroupNotFoundFault",
    "DB subnet group",
)
rds_parameter_groups = by_name(
    "rds",
    "describe_db_parameter_groups",
    "DBParameterGroupName",
    "DBParameterGroups",
    "DBParameterGroupNotFound",
    "DB parameter group",
)
elasticache_replication_groups = by_name(
    "elasticache",
    "describe_replication_groups",
    "ReplicationGroupId",
    "ReplicationGroups",
    "ReplicationGroupNotFoundFault",
    "replication group",
)
elasticache_subnet_groups = by_name(
    "elasticache",
    "describe_cache_subnet_groups",
    "CacheSubnetGroupName",
    "CacheSubnetGroups",
    "CacheSubnetGroupNotFoundFault",
    "cache subnet group",
)
elasticache_parameter_groups = by_name(
    "elasticache",
    "describe_cache_parameter_groups",
    "CacheParameterGroupName",
    "CacheParameterGroups",
    "CacheParameterGroupNotFound",
    "cache parameter group",
)


def secrets(reader: Reader, names: list[str]) -> list[str]:
    pending_counts = reader.module.params["include_secrets_pending_deletion"]
    found = []
    for name in names:
        secret = reader.call(
            "secretsmanager", "describe_secret", f"secret {name}", "ResourceNotFoundException", SecretId=name
        )
        if secret and (pending_counts or not secret.get("DeletedDate")):
            found.append(name)
    return found


def backup_vaults(reader: Reader, names: list[str]) -> list[str]:
    vaults = reader.pages("backup", "list_backup_vaults", "BackupVaultList", "the backup vaults")
    return sorted({vault["BackupVaultName"] for vault in vaults if vault["BackupVaultName"] in names})


def backup_plans(reader: Reader, names: list[str]) -> list[str]:
    plans = reader.pages("backup", "list_backup_plans", "BackupPlansList", "the backup plans")
    return sorted({plan["BackupPlanName"] for plan in plans if plan["BackupPlanName"] in names})


def kms_key_aliases(reader: Reader, names: list[str]) -> list[str]:
    aliases = reader.pages("kms", "list_aliases", "Aliases", "the KMS aliases", marker="NextMarker")
    found = []
    for alias in aliases:
        if alias["AliasName"] not in names or not alias.get("TargetKeyId"):
            continue
        key = reader.call("kms", "describe_key", f"KMS key {alias['AliasName']}", KeyId=alias["TargetKeyId"])
        if key["KeyMetadata"]["KeyState"] not in ("PendingDeletion", "PendingReplicaDeletion"):
            found.append(alias["AliasName"])
    return sorted(found)


def cognito_user_pools(reader: Reader, names: list[str]) -> list[str]:
    pools = reader.pages("cognito-idp", "list_user_pools", "UserPools", "the Cognito user pools", MaxResults=60)
    return sorted({pool["Name"] for pool in pools if pool["Name"] in names})


def public_zones(reader: Reader, name: str) -> list[dict[str, Any]]:
    """The public hosted zones named ``name`` (ListHostedZonesByName starts at that name)."""
    answer = reader.call("route53", "list_hosted_zones_by_name", f"the hosted zones of {name}", DNSName=name)
    return [
        zone
        for zone in answer.get("HostedZones", [])
        if normal(zone["Name"]) == normal(name) and not zone.get("Config", {}).get("PrivateZone")
    ]


def zone_record_sets(reader: Reader, zone_id: str, zone_name: str):
    """Every record set of a zone (Route53 pages by the next record's name and type)."""
    request = {"HostedZoneId": zone_id}
    while True:
        page = reader.call("route53", "list_resource_record_sets", f"the records of {zone_name}", **request)
        yield from page.get("ResourceRecordSets", [])
        if not page.get("IsTruncated"):
            return
        request["StartRecordName"] = page["NextRecordName"]
        request["StartRecordType"] = page["NextRecordType"]
        if page.get("NextRecordIdentifier"):
            request["StartRecordIdentifier"] = page["NextRecordIdentifier"]


def route53_records(reader: Reader, records: list[dict[str, Any]]) -> list[str]:
    found = set()
    for wanted in records:
        pairs = {(normal(name), kind.upper()) for name in wanted["names"] for kind in wanted["types"]}
        for zone in public_zones(reader, wanted["zone"]):
            present = {(normal(r["Name"]), r["Type"]) for r in zone_record_sets(reader, zone["Id"], wanted["zone"])}
            found.update(f"{name} {kind}" for name, kind in pairs & present)
    return sorted(found)


def route53_zones(reader: Reader, zones: list[dict[str, Any]]) -> list[str]:
    found = []
    for wanted in zones:
        pattern = wanted["comment_pattern"]
        for zone in public_zones(reader, wanted["name"]):
            if pattern is None or re.search(pattern, zone.get("Config", {}).get("Comment", "")):
                found.append(zone["Id"].split("/")[-1])
    return sorted(found)


def wafv2(operation: str, key: str, what: str) -> Callable[..., list[str]]:
    def find(reader: Reader, names: list[str]) -> list[str]:
        scope = reader.module.params["wafv2_scope"]
        items = reader.pages("wafv2", operation, key, what, marker="NextMarker", Scope=scope, Limit=100)
        return sorted({item["Name"] for item in items if item["Name"] in names})

    return find


wafv2_web_acls = wafv2("list_web_acls", "WebACLs", "the WAFv2 web ACLs")
wafv2_ip_sets = wafv2("list_ip_sets", "IPSets", "the WAFv2 IP sets")


def log_groups(reader: Reader, names: list[str]) -> list[str]:
    found = []
    for name in names:
        groups = reader.pages(
            "logs", "describe_log_groups", "logGroups", f"log group {name}", marker="nextToken", logGroupNamePrefix=name
        )
        if any(group["logGroupName"] == name for group in groups):
            found.append(name)
    return found


def log_group_prefixes(reader: Reader, prefixes: list[str]) -> list[str]:
    return [
        group["logGroupName"]
        for prefix in prefixes
        for group in reader.pages(
            "logs", "describe_log_groups", "logGroups", f"log groups {prefix}*", "nextToken", logGroupNamePrefix=prefix
        )
    ]


def cloudwatch_alarm_prefixes(reader: Reader, prefixes: list[str]) -> list[str]:
    """Metric and composite alarms, one DescribeAlarms (per page) for each prefix."""
    found = set()
    for prefix in prefixes:
        request = {"AlarmNamePrefix": prefix, "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
        while True:
            page = reader.call("cloudwatch", "describe_alarms", f"CloudWatch alarms {prefix}*", **request)
            for kind in ("MetricAlarms", "CompositeAlarms"):
                found.update(alarm["AlarmName"] for alarm in page.get(kind, []))
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
    return sorted(found)


def cloudwatch_dashboards(reader: Reader, names: list[str]) -> list[str]:
    return [
        name
        for name in names
        if reader.call("cloudwatch", "get_dashboard", f"dashboard {name}", "ResourceNotFound", DashboardName=name)
    ]


def sns_topics(reader: Reader, names: list[str]) -> list[str]:
    wanted = set(names)
    topics = reader.pages("sns", "list_topics", "Topics", "the SNS topics")
    return sorted({topic["TopicArn"].rsplit(":", 1)[-1] for topic in topics} & wanted)


def acm_certificates(reader: Reader, domains: list[str]) -> list[str]:
    wanted = {normal(domain) for domain in domains}
    certificates = reader.pages("acm", "list_certificates", "CertificateSummaryList", "the ACM certificates")
    return sorted({normal(c["DomainName"]) for c in certificates if normal(c.get("DomainName", "")) in wanted})


def tag_filters(tags: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{key}", "Values": [str(value)]} for key, value in sorted(tags.items())]


def carries(resource: dict[str, Any], tags: dict[str, Any]) -> bool:
    current = {tag["Key"]: tag["Value"] for tag in resource.get("Tags", [])}
    return all(current.get(key) == str(value) for key, value in tags.items())


def ec2_networking(reader: Reader, vpc_tags: dict[str, Any] | None, tags: dict[str, Any]) -> dict[str, list[str]]:
    """The tagged subnets, security groups, route tables, NAT gateways and Elastic IPs."""
    found: dict[str, list[str]] = {}
    addresses = reader.call("ec2", "describe_addresses", "Elastic IPs", Filters=tag_filters(tags)).get("Addresses", [])
    found["elastic_ips"] = sorted(a["AllocationId"] for a in addresses)
    in_vpcs = []
    if vpc_tags is not None:
        if not reader.vpc_ids:
            return {"subnets": [], "security_groups": [], "route_tables": [], "nat_gateways": [], **found}
        in_vpcs = [{"Name": "vpc-id", "Values": reader.vpc_ids}]
    for kind, operation, key, id_key in (
        ("subnets", "describe_subnets", "Subnets", "SubnetId"),
        ("security_groups", "describe_security_groups", "SecurityGroups", "GroupId"),
        ("route_tables", "describe_route_tables", "RouteTables", "RouteTableId"),
    ):
        items = reader.pages("ec2", operation, key, kind.replace("_", " "), Filters=in_vpcs + tag_filters(tags))
        found[kind] = sorted(item[id_key] for item in items)
    allocation_ids = set(found["elastic_ips"])
    nats = reader.pages(
        "ec2",
        "describe_nat_gateways",
        "NatGateways",
        "NAT gateways",
        Filter=[*in_vpcs, {"Name": "state", "Values": LIVE_NAT_STATES}],
    )
    found["nat_gateways"] = sorted(
        nat["NatGatewayId"]
        for nat in nats
        if carries(nat, tags)
        or any(address.get("AllocationId") in allocation_ids for address in nat.get("NatGatewayAddresses", []))
    )
    return found


KINDS: dict[str, Callable[[Reader, Any], list[str]]] = {
    "ssm_parameter_paths": ssm_parameter_paths,
    "autoscaling_groups": autoscaling_groups,
    "launch_templates": launch_templates,
    "load_balancers": load_balancers,
    "target_groups": target_groups,
    "listener_rules": listener_rules,
    "iam_roles": iam_roles,
    "iam_instance_profiles": iam_instance_profiles,
    "s3_bucket_prefixes": s3_bucket_prefixes,
    "rds_instances": rds_instances,
    "rds_subnet_groups": rds_subnet_groups,
    "rds_parameter_groups": rds_parameter_groups,
    "elasticache_replication_groups": elasticache_replication_groups,
    "elasticache_subnet_groups": elasticache_subnet_groups,
    "elasticache_parameter_groups": elasticache_parameter_groups,
    "secrets": secrets,
    "backup_vaults": backup_vaults,
    "backup_plans": backup_plans,
    "kms_key_aliases": kms_key_aliases,
    "cognito_user_pools": cognito_user_pools,
    "route53_records": route53_records,
    "route53_zones": route53_zones,
    "wafv2_web_acls": wafv2_web_acls,
    "wafv2_ip_sets": wafv2_ip_sets,
    "log_groups": log_groups,
    "log_group_prefixes": log_group_prefixes,
    "cloudwatch_alarm_prefixes": cloudwatch_alarm_prefixes,
    "cloudwatch_dashboards": cloudwatch_dashboards,
    "sns_topics": sns_topics,
    "acm_certificates": acm_certificates,
}


def main() -> None:
    module = AnsibleAWSModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    reader = Reader(module)
    resources = {kind: sorted(find(reader, params[kind])) for kind, find in KINDS.items() if params[kind]}
    result: dict[str, Any] = {}
    if params["vpc_tags"] is not None:
        vpcs = reader.call("ec2", "describe_vpcs", "VPCs", Filters=tag_filters(params["vpc_tags"])).get("Vpcs", [])
        reader.vpc_ids = result["vpc_ids"] = sorted(vpc["VpcId"] for vpc in vpcs)
    if params["ec2_tags"]:
        resources.update(ec2_networking(reader, params["vpc_tags"], params["ec2_tags"]))
    module.exit_json(changed=False, found=any(resources.values()), resources=resources, **result)


if __name__ == "__main__":
    main()
