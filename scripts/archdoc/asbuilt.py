"""An environment as an AWS account holds it, found by the project's tags (read-only calls only).

Every resource the roles create carries the tags ``Project`` and ``Environment`` (and ``Tier``),
so what belongs to one environment is found by those tags, never by a name the inventory
would give: what the account holds is read, not what the inventory expects. boto3 honours
``AWS_ENDPOINT_URL``, so the same code reads the local emulator.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import boto3

from .model import Environment, Mysql, Redis, Tier

LOG = logging.getLogger("archdoc.asbuilt")


class NotDeployed(LookupError):
    """The account holds no such environment (or not all of it)."""


def tags_of(resource: dict[str, Any], key: str = "Tags") -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in resource.get(key) or []}


def pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]


def chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Account:
    """Read-only views of one account and region, filtered by the project's tags."""

    def __init__(self, project: str, environment: str, region: str, session: Any = None) -> None:
        self.project, self.environment, self.region = project, environment, region
        self.session = session or boto3.session.Session(region_name=region)

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region)

    def ours(self, tags: dict[str, str], environment: str | None = None) -> bool:
        return tags.get("Project") == self.project and tags.get("Environment") == (environment or self.environment)

    def tag_filters(self, environment: str | None = None) -> list[dict[str, Any]]:
        return [
            {"Name": "tag:Project", "Values": [self.project]},
            {"Name": "tag:Environment", "Values": [environment or self.environment]},
        ]

    # --- network -------------------------------------------------------------
    def subnets(self, tier: str, environment: str | None = None) -> dict[str, str]:
        filters = [*self.tag_filters(environment), {"Name": "tag:Tier", "Values": [tier]}]
        found = self.client("ec2").describe_subnets(Filters=filters)["Subnets"]
        return {subnet["AvailabilityZone"]: subnet["CidrBlock"] for subnet in sorted(found, key=availability_zone)}

    def nat_azs(self) -> tuple[str, ...]:
        ec2 = self.client("ec2")
        filters = [*self.tag_filters(), {"Name": "state", "Values": ["pending", "available"]}]
        nats = ec2.describe_nat_gateways(Filters=filters)["NatGateways"]
        # The emulator may ignore the tag filters of this call: the tags are checked again.
        subnet_ids = sorted({nat["SubnetId"] for nat in nats if self.ours(tags_of(nat))})
        if not subnet_ids:
            return ()
        subnets = ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
        return tuple(sorted(subnet["AvailabilityZone"] for subnet in subnets))

    # --- compute -------------------------------------------------------------
    def groups(self) -> dict[str, dict[str, Any]]:
        """The environment's Auto Scaling groups by their Tier tag (frontend, backend)."""
        found = {}
        for group in pages(self.client("autoscaling"), "describe_auto_scaling_groups", "AutoScalingGroups"):
            tags = tags_of(group)
            if self.ours(tags) and tags.get("Tier"):
                found[tags["Tier"]] = group
        return found

    def tier(self, group: dict[str, Any]) -> Tier:
        return Tier(
            instance_type=self.instance_type(group),
            min_size=group["MinSize"],
            max_size=group["MaxSize"],
            desired_capacity=group["DesiredCapacity"],
            azs=tuple(sorted(group["AvailabilityZones"])),
        )

    def instance_type(self, group: dict[str, Any]) -> str:
        template = (
            group.get("LaunchTemplate")
            or group["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]
        )
        version = template.get("Version") or "$Default"
        versions = self.client("ec2").describe_launch_template_versions(
            LaunchTemplateId=template["LaunchTemplateId"], Versions=[version]
        )["LaunchTemplateVersions"]
        return versions[0]["LaunchTemplateData"].get("InstanceType", "")

    # --- edge ------------------------------------------------------------------
    def host_rule(self) -> dict[str, Any]:
        """The environment's rule on the shared HTTPS listener: hosts, priority, actions."""
        elbv2 = self.client("elbv2")
        for balancer in pages(elbv2, "describe_load_balancers", "LoadBalancers"):
            if balancer["Scheme"] != "internet-facing":
                continue
            for listener in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
                rules = {
                    rule["RuleArn"]: rule
                    for rule in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
                    if not rule["IsDefault"]
                }
                for batch in chunks(sorted(rules), 20):
                    for described in elbv2.describe_tags(ResourceArns=batch)["TagDescriptions"]:
                        if self.ours(tags_of(described)):
                            return rules[described["ResourceArn"]]
        raise NotDeployed(f"no host rule tagged Project={self.project}, Environment={self.environment}")

    def domain(self, hosts: Iterable[str]) -> str:
        """The hosted zone that holds the hosts (the longest zone name that ends each of them)."""
        names = [zone["Name"].rstrip(".") for zone in pages(self.client("route53"), "list_hosted_zones", "HostedZones")]
        matching = [name for name in names if all(host == name or host.endswith("." + name) for host in hosts)]
        return max(matching, key=len, default="")

    # --- data ------------------------------------------------------------------
    def mysql(self) -> Mysql:
        instances = [
            instance
            for instance in pages(self.client("rds"), "describe_db_instances", "DBInstances")
            if self.ours(tags_of(instance, "TagList")) and instance["DBInstanceStatus"] != "deleting"
        ]
        primaries = [i for i in instances if not i.get("ReadReplicaSourceDBInstanceIdentifier")]
        replicas = [i for i in instances if i.get("ReadReplicaSourceDBInstanceIdentifier")]
        if not primaries:
            raise NotDeployed(f"no RDS primary tagged Project={self.project}, Environment={self.environment}")
        return Mysql(
            instance_class=primaries[0]["DBInstanceClass"],
            multi_az=bool(primaries[0]["MultiAZ"]),
            read_replica=bool(replicas),
            replica_instance_class=replicas[0]["DBInstanceClass"] if replicas else "",
        )

    def redis(self) -> Redis:
        elasticache = self.client("elasticache")
        for group in pages(elasticache, "describe_replication_groups", "ReplicationGroups"):
            if group["Status"] == "deleting":
                continue
            tags = elasticache.list_tags_for_resource(ResourceName=group["ARN"])["TagList"]
            if not self.ours(tags_of({"Tags": tags})):
                continue
            members = group["NodeGroups"][0]["NodeGroupMembers"] if group.get("NodeGroups") else []
            return Redis(
                node_type=group["CacheNodeType"],
                replicas=max(len(members or group["MemberClusters"]) - 1, 0),
                multi_az=group.get("MultiAZ") == "enabled",
            )
        raise NotDeployed(f"no Redis replication group tagged Project={self.project}, Environment={self.environment}")


def availability_zone(subnet: dict[str, Any]) -> str:
    return subnet["AvailabilityZone"]


def read(project: str, environment: str, region: str, session: Any = None) -> Environment:
    """The environment tagged Project=``project``, Environment=``environment`` in ``region``."""
    account = Account(project, environment, region, session)
    groups = account.groups()
    missing = {"frontend", "backend"} - groups.keys()
    if missing:
        raise NotDeployed(f"no Auto Scaling group tagged Tier={', '.join(sorted(missing))} for {environment}")
    frontend = account.tier(groups["frontend"])
    prefix = groups["frontend"]["AutoScalingGroupName"].removesuffix("-frontend")
    rule = account.host_rule()
    hosts = tuple(
        value
        for condition in rule["Conditions"]
        if condition["Field"] == "host-header"
        for value in condition.get("HostHeaderConfig", {}).get("Values") or condition.get("Values", [])
    )
    found = Environment(
        env=prefix.removeprefix(f"{project}-"),
        environment=environment,
        prefix=prefix,
        region=region,
        domain=account.domain(hosts),
        hosts=hosts,
        rule_priority=int(rule["Priority"]),
        cognito=any(action["Type"] == "authenticate-cognito" for action in rule["Actions"]),
        azs=frontend.azs,
        public_subnets=account.subnets("public", environment="Shared"),
        app_subnets=account.subnets("app"),
        data_subnets=account.subnets("data"),
        nat_azs=account.nat_azs(),
        frontend=frontend,
        backend=account.tier(groups["backend"]),
        mysql=account.mysql(),
        redis=account.redis(),
        source=f"deployed: Project={project}, Environment={environment}, {region}",
    )
    LOG.info("read %s from the account", prefix)
    return found
