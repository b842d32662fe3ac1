"""The monitoring layer of both environments, as the emulator reports it.

The deployed-stack tests read the shared deployment (stack.py) at their step:
each alarm's metric, dimensions (the environment's ALB, target groups, Auto
Scaling groups, DB instances, Redis nodes), threshold and SNS actions; the
dashboard naming the environment's resources and no other's; the log groups
and the metric filters; the layer alone on a deployed environment (a no-op,
its cost measured); the teardowns. Bad inputs run in this worker's own
emulator and must not reach it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import (
    ROOT,
    Emulator,
    actions,
    assert_refused_before_aws,
    changed_tasks,
    inventory_vars,
    mutating,
)
from .stack import Stack, alone_run_name

pytestmark = pytest.mark.integration

ENVS = {"prod": inventory_vars("prod"), "staging": inventory_vars("staging")}
EDGE_ALB = "webstack-edge-alb"
WEB_ACL = "webstack-edge-web-acl"
REDIS_KINDS = {"redis_cpu", "redis_engine_cpu", "redis_evictions", "redis_replication_lag"}
# kind -> (namespace, metric, statistic, comparison); "app" is the environment's own namespace.
METRICS = {
    "alb_5xx": ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", "GreaterThanThreshold"),
    "alb_target_response_time": ("AWS/ApplicationELB", "TargetResponseTime", "Average", "GreaterThanThreshold"),
    "frontend_unhealthy_hosts": ("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", "GreaterThanThreshold"),
    "backend_unhealthy_hosts": ("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", "GreaterThanThreshold"),
    "frontend_in_service": ("AWS/AutoScaling", "GroupInServiceInstances", "Minimum", "LessThanThreshold"),
    "backend_in_service": ("AWS/AutoScaling", "GroupInServiceInstances", "Minimum", "LessThanThreshold"),
    "mysql_cpu": ("AWS/RDS", "CPUUtilization", "Average", "GreaterThanThreshold"),
    "mysql_free_storage": ("AWS/RDS", "FreeStorageSpace", "Minimum", "LessThanThreshold"),
    "mysql_replica_lag": ("AWS/RDS", "ReplicaLag", "Maximum", "GreaterThanThreshold"),
    "mysql_connections": ("AWS/RDS", "DatabaseConnections", "Maximum", "GreaterThanThreshold"),
    "redis_cpu": ("AWS/ElastiCache", "CPUUtilization", "Average", "GreaterThanThreshold"),
    "redis_engine_cpu": ("AWS/ElastiCache", "EngineCPUUtilization", "Average", "GreaterThanThreshold"),
    "redis_evictions": ("AWS/ElastiCache", "Evictions", "Sum", "GreaterThanThreshold"),
    "redis_replication_lag": ("AWS/ElastiCache", "ReplicationLag", "Maximum", "GreaterThanThreshold"),
    "waf_blocked": ("AWS/WAFV2", "BlockedRequests", "Sum", "GreaterThanThreshold"),
    "app_cache_hit_ratio": ("app", "CacheHitRatio", "Average", "LessThanThreshold"),
    "app_5xx": ("app", "Backend5xx", "Sum", "GreaterThanThreshold"),
}
LOG_GROUPS = ["backend", "bootstrap", "nginx/access", "nginx/error"]


# --------------------------------------------------------------------------- #
# What the emulator holds
# --------------------------------------------------------------------------- #
def alarms(stack: Stack, prefix: str) -> dict[str, dict[str, Any]]:
    pages = stack.client("cloudwatch").get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{prefix}-")
    return {alarm["AlarmName"]: alarm for page in pages for alarm in page["MetricAlarms"]}


def topic_arn(stack: Stack, prefix: str) -> str | None:
    topics = [t["TopicArn"] for t in stack.client("sns").list_topics()["Topics"]]
    return next((arn for arn in topics if arn.endswith(f":{prefix}-alarms")), None)


def dashboard(stack: Stack, prefix: str) -> str | None:
    cloudwatch = stack.client("cloudwatch")
    names = [entry["DashboardName"] for entry in cloudwatch.list_dashboards()["DashboardEntries"]]
    return cloudwatch.get_dashboard(DashboardName=prefix)["DashboardBody"] if prefix in names else None


def log_groups(stack: Stack, prefix: str) -> dict[str, dict[str, Any]]:
    pages = stack.client("logs").get_paginator("describe_log_groups").paginate(logGroupNamePrefix=f"/{prefix}/")
    return {group["logGroupName"]: group for page in pages for group in page["logGroups"]}


def published(stack: Stack, path: str) -> dict[str, str]:
    pages = stack.client("ssm").get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True)
    return {item["Name"][len(path) + 1 :]: item["Value"] for page in pages for item in page["Parameters"]}


def arn_tail(arn: str, marker: str) -> str:
    """What CloudWatch names an ALB or a target group by: app/<name>/<id>, targetgroup/<name>/<id>."""
    return arn[arn.index(marker) :]


def expected_dimensions(stack: Stack, env: str) -> dict[str, list[dict[str, str]]]:
    """Each resource the alarms watch, looked up by name in the emulator (not from the layers' outputs)."""
    prefix = ENVS[env]["webstack_prefix"]
    elbv2 = stack.client("elbv2")

    def load_balancer(name: str) -> str:
        arn = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"][0]["LoadBalancerArn"]
        return arn_tail(arn, "app/")

    def target_group(name: str) -> str:
        return arn_tail(elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"], "targetgroup/")

    public = {"LoadBalancer": load_balancer(EDGE_ALB), "TargetGroup": target_group(f"{prefix}-frontend")}
    internal = {"LoadBalancer": load_balancer(f"{prefix}-internal"), "TargetGroup": target_group(f"{prefix}-backend")}
    (redis,) = stack.client("elasticache").describe_replication_groups(ReplicationGroupId=f"{prefix}-redis")[
        "ReplicationGroups"
    ]
    nodes = [{"CacheClusterId": member} for member in redis["MemberClusters"]]
    primary = [{"DBInstanceIdentifier": f"{prefix}-mysql"}]
    by_kind = {
        "alb_5xx": [public],
        "alb_target_response_time": [public],
        "frontend_unhealthy_hosts": [public],
        "backend_unhealthy_hosts": [internal],
        "frontend_in_service": [{"AutoScalingGroupName": f"{prefix}-frontend"}],
        "backend_in_service": [{"AutoScalingGroupName": f"{prefix}-backend"}],
        "mysql_cpu": primary,
        "mysql_free_storage": primary,
        "mysql_replica_lag": [{"DBInstanceIdentifier": f"{prefix}-mysql-replica"}],
        "mysql_connections": primary,
        "waf_blocked": [{"WebACL": WEB_ACL, "Region": ENVS[env]["webstack_region"], "Rule": "ALL"}],
        "app_cache_hit_ratio": [{}],
        "app_5xx": [{}],
    }
    return by_kind | {kind: nodes for kind in REDIS_KINDS}


def threshold(env: str, kind: str) -> float:
    """The inventory's threshold; a reference to another variable ("{{ compute_frontend_min_size }}") resolved."""
    value = ENVS[env]["monitoring_alarms"][kind]["threshold"]
    if isinstance(value, str):
        value = ENVS[env][value.strip("{} ")]
    return float(value)


# --------------------------------------------------------------------------- #
# Deployed
# --------------------------------------------------------------------------- #
@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_each_alarm_watches_its_metric_on_the_environments_resources(stack: Stack, env: str) -> None:
    prefix = ENVS[env]["webstack_prefix"]
    wanted = ENVS[env]["monitoring_alarms"]
    dimensions = expected_dimensions(stack, env)
    topic = topic_arn(stack, prefix)
    found = alarms(stack, prefix)

    expected = {}
    for kind in wanted:
        for dims in dimensions[kind]:
            node = "-" + dims["CacheClusterId"].rsplit("-", 1)[1] if kind in REDIS_KINDS else ""
            expected[f"{prefix}-{kind.replace('_', '-')}{node}"] = (kind, dims)
    assert sorted(found) == sorted(expected)

    for name, (kind, dims) in expected.items():
        alarm = found[name]
        namespace, metric, statistic, comparison = METRICS[kind]
        assert alarm["Namespace"] == (prefix if namespace == "app" else namespace), name
        assert (alarm["MetricName"], alarm["Statistic"], alarm["ComparisonOperator"]) == (metric, statistic, comparison)
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == dims, name
        assert alarm["Threshold"] == threshold(env, kind), name
        assert alarm["Period"] == wanted[kind].get("period", 60)
        assert alarm["EvaluationPeriods"] == wanted[kind].get("evaluation_periods", 5)
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topic], name


@pytest.mark.stack("deploy")
def test_only_an_environment_with_the_replicas_has_lag_alarms(stack: Stack) -> None:
    assert {"webstack-prod-mysql-replica-lag"} <= set(alarms(stack, "webstack-prod"))
    assert any(name.startswith("webstack-prod-redis-replication-lag-") for name in alarms(stack, "webstack-prod"))
    assert not [name for name in alarms(stack, "webstack-staging") if "lag" in name]


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_the_topic_has_the_inventorys_subscriptions(stack: Stack, env: str) -> None:
    prefix = ENVS[env]["webstack_prefix"]
    topic = topic_arn(stack, prefix)
    assert topic is not None
    subscriptions = stack.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sorted((s["Protocol"], s["Endpoint"]) for s in subscriptions) == sorted(
        (s["protocol"], s["endpoint"]) for s in ENVS[env]["monitoring_subscriptions"]
    )
    tags = stack.client("sns").list_tags_for_resource(ResourceArn=topic)["Tags"]
    assert {"Key": "Environment", "Value": ENVS[env]["webstack_environment"]} in tags


@pytest.mark.stack("deploy")
@pytest.mark.parametrize(("env", "other"), [("prod", "staging"), ("staging", "prod")])
def test_the_dashboard_names_the_environments_resources_and_no_other(stack: Stack, env: str, other: str) -> None:
    prefix, other_prefix = ENVS[env]["webstack_prefix"], ENVS[other]["webstack_prefix"]
    body = dashboard(stack, prefix)
    assert body is not None
    dimensions = expected_dimensions(stack, env)

    for value in (
        dimensions["alb_5xx"][0]["TargetGroup"],
        dimensions["backend_unhealthy_hosts"][0]["TargetGroup"],
        dimensions["backend_unhealthy_hosts"][0]["LoadBalancer"],
        f"{prefix}-frontend",
        f"{prefix}-backend",
        f"{prefix}-mysql",
        *(node["CacheClusterId"] for node in dimensions["redis_cpu"]),
    ):
        assert value in body, value
    assert other_prefix not in body
    for value in expected_dimensions(stack, other)["backend_unhealthy_hosts"][0].values():
        assert value not in body

    # The alarms are on it: exactly the environment's.
    widgets = json.loads(body)["widgets"]
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(a["AlarmArn"] for a in alarms(stack, prefix).values())


@pytest.mark.stack("deploy")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_log_groups_keep_the_inventorys_retention_and_feed_the_app_metrics(stack: Stack, env: str) -> None:
    prefix = ENVS[env]["webstack_prefix"]
    groups = log_groups(stack, prefix)
    assert sorted(groups) == [f"/{prefix}/{name}" for name in LOG_GROUPS]
    assert {g["retentionInDays"] for g in groups.values()} == {ENVS[env]["monitoring_log_retention_days"]}

    filters = stack.client("logs").describe_metric_filters(logGroupName=f"/{prefix}/backend")["metricFilters"]
    transformations = sorted(
        (f["filterPattern"], t["metricNamespace"], t["metricName"], t["metricValue"])
        for f in filters
        for t in f["metricTransformations"]
    )
    assert transformations == [
        ('{ $.cache = "hit" }', prefix, "CacheHitRatio", "1"),
        ('{ $.cache = "miss" }', prefix, "CacheHitRatio", "0"),
        ("{ $.status >= 500 }", prefix, "Backend5xx", "1"),
    ]
    outputs = published(stack, f"/{prefix}/monitoring")
    assert outputs["alarm-topic-arn"] == topic_arn(stack, prefix)
    assert outputs["dashboard"] == prefix
    assert sorted(outputs["alarms"].split(",")) == sorted(alarms(stack, prefix))


@pytest.mark.stack("rerun")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_a_rerun_changes_no_monitoring_task(stack: Stack, env: str) -> None:
    run = stack.runs[f"rerun-{env}"]
    assert run.returncode == 0, run.output[-4000:]
    assert changed_tasks(run.output, "monitoring") == []


@pytest.mark.stack("layers-alone")
@pytest.mark.parametrize("env", ["prod", "staging"])
def test_the_layer_alone_is_a_no_op_of_few_reads(stack: Stack, env: str) -> None:
    run = stack.runs[alone_run_name(env, ["monitoring"])]
    assert run.returncode == 0, run.output[-4000:]
    assert run.changed == 0
    assert mutating(run.requests) == []
    # Three layers' outputs (two pages for data and compute), the topic, the log groups and filters,
    # two reads per alarm, the alarms by prefix, the dashboard, its own outputs: prod has 21 alarms.
    alarm_count = len(alarms(stack, ENVS[env]["webstack_prefix"]))
    assert len(run.requests) <= 2 * alarm_count + 40, actions(run.requests)


@pytest.mark.stack("staging-teardown")
def test_staging_teardown_removes_its_monitoring_and_spares_prods(stack: Stack) -> None:
    assert stack.runs["teardown-staging"].returncode == 0
    assert alarms(stack, "webstack-staging") == {}
    assert dashboard(stack, "webstack-staging") is None
    assert log_groups(stack, "webstack-staging") == {}
    assert topic_arn(stack, "webstack-staging") is None
    assert published(stack, "/webstack-staging/monitoring") == {}

    assert len(alarms(stack, "webstack-prod")) > 0
    assert dashboard(stack, "webstack-prod") is not None
    assert topic_arn(stack, "webstack-prod") is not None
    assert changed_tasks(stack.runs["teardown-staging-again"].output, "monitoring") == []


@pytest.mark.stack("prod-teardown")
def test_prod_teardown_removes_its_monitoring(stack: Stack) -> None:
    assert stack.runs["teardown-prod"].returncode == 0
    assert alarms(stack, "webstack-prod") == {}
    assert dashboard(stack, "webstack-prod") is None
    assert log_groups(stack, "webstack-prod") == {}
    assert topic_arn(stack, "webstack-prod") is None


# --------------------------------------------------------------------------- #
# Refused before any AWS call
# --------------------------------------------------------------------------- #
BAD_VALUES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    (
        "unknown-alarm",
        "prod",
        {"monitoring_alarms": {**ENVS["prod"]["monitoring_alarms"], "alb_5xxx": {"threshold": 1}}},
        ["monitoring_alarms: alb_5xxx is not a known alarm", "alb_5xx,"],
    ),
    (
        "threshold-not-a-number",
        "staging",
        {"monitoring_alarms": {"mysql_cpu": {"threshold": "80"}}},
        ["monitoring_alarms.mysql_cpu", '{"threshold": "80"}', "threshold (a number, in percent"],
    ),
    (
        "replica-lag-without-a-replica",
        "staging",
        {"monitoring_alarms": {"mysql_replica_lag": {"threshold": 60}}},
        ["monitoring_alarms.mysql_replica_lag", "data_mysql_read_replica is false"],
    ),
    (
        "subscription-without-an-address",
        "staging",
        {"monitoring_subscriptions": [{"protocol": "email", "endpoint": "platform-team"}]},
        ["monitoring_subscriptions", "platform-team", "an address for email"],
    ),
]


@pytest.mark.parametrize(
    ("inventory", "changes", "expected"),
    [pytest.param(env, changes, expected, id=case) for case, env, changes, expected in BAD_VALUES],
)
def test_bad_monitoring_input_fails_before_any_aws_call(
    emulator: Emulator, tmp_path: Path, inventory: str, changes: dict[str, Any], expected: list[str]
) -> None:
    assert_refused_before_aws(emulator, tmp_path, inventory, changes, expected)


def test_the_log_groups_are_the_ones_the_cloudwatch_agent_ships_to() -> None:
    """The common role's agent configuration and this layer name the same groups under /<prefix>/."""
    agent = yaml.safe_load((ROOT / "roles/common/defaults/main.yml").read_text())["common_cloudwatch_log_files"]
    ours = yaml.safe_load((ROOT / "roles/monitoring/defaults/main.yml").read_text())["monitoring_log_groups"]
    assert sorted(f["log_group"] for f in agent) == sorted(g["name"] for g in ours)
