"""The architecture diagrams, with AWS's icons (the ``diagrams`` package, rendered by Graphviz's dot).

Every node has a stable id (``prod_frontend_us_east_1a``), so the Graphviz source that is written
next to each PNG (``<name>.dot``) can be read by tests and compared between two renders.
The request path is numbered on the edges, 1 to 8 (4a and 4b where Cognito signs users in).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from diagrams import Cluster, Diagram, Edge, Node
from diagrams.aws.compute import EC2AutoScaling
from diagrams.aws.database import ElasticacheForRedis, RDSMysqlInstance
from diagrams.aws.network import ElbApplicationLoadBalancer, NATGateway, PrivateSubnet, Route53
from diagrams.aws.security import WAF, CertificateManager, Cognito
from diagrams.onprem.client import Users

from .model import Environment

LOG = logging.getLogger("archdoc.draw")

PATH = "#1f6feb"  # the request path
SYNC = "#6e7781"  # replication, not a request
GRAPH = {"fontsize": "22", "pad": "0.4", "nodesep": "0.35", "ranksep": "0.9", "dpi": "110", "splines": "spline"}
NODE = {"fontsize": "12"}


def node_id(*parts: str) -> str:
    """A Graphviz identifier from readable parts: ("prod", "frontend", "us-east-1a") -> prod_frontend_us_east_1a."""
    return re.sub(r"[^A-Za-z0-9]+", "_", "_".join(parts)).strip("_")


def step(number: int | str, text: str = "", labelled: bool = True) -> Edge:
    """An edge of the request path, labelled with its number (only in the first AZ: the others repeat it)."""
    label = f"{number}" + (f" {text}" if text else "")
    return Edge(label=label if labelled else "", color=PATH, penwidth="2")


def replication(text: str) -> Edge:
    # Not a step of the path: it must not push the replica's AZ to the right of the primary's.
    return Edge(label=text, color=SYNC, style="dashed", constraint="false")


def placement(env: Environment) -> dict[str, list[str]]:
    """The data nodes in each data subnet's AZ, as the data role places them.

    RDS: the primary in the first instance AZ, the Multi-AZ standby and the read replica in
    the next data AZ (roles/data/tasks/mysql.yml, mysql_replica.yml). Redis: the primary in
    the first AZ, each replica in the next data AZ, round robin (Multi-AZ spreads them).
    """
    data_azs = list(env.data_subnets)
    first = env.azs[0] if env.azs[0] in data_azs else data_azs[0]
    others = [az for az in data_azs if az != first] or [first]
    nodes: dict[str, list[str]] = {az: [] for az in data_azs}
    nodes[first] += ["mysql-primary", "redis-primary"]
    if env.mysql.multi_az:
        nodes[others[0]].append("mysql-standby")
    if env.mysql.read_replica:
        nodes[others[0]].append("mysql-replica")
    for index in range(env.redis.replicas):
        nodes[others[index % len(others)]].append(f"redis-replica-{index + 1}")
    return nodes


class EnvironmentDrawing:
    """The nodes of one environment inside a diagram; ``entry`` is what its host rule forwards to."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.frontends: list[Node] = []
        self.backends: list[Node] = []
        self.data: dict[str, Node] = {}

    def label(self) -> str:
        guard = "Cognito sign-in" if self.env.cognito else "public"
        return f"{self.env.env} ({self.env.environment}), {', '.join(self.env.hosts)}: {guard}"

    def draw(self, alb: Node) -> None:
        env, e = self.env, self.env.env
        with Cluster(self.label(), graph_attr={"fontsize": "16", "bgcolor": "#F6F8FA"}):
            entry: Node | None = None
            if env.cognito:
                entry = Cognito(f"Cognito user pool\n{env.prefix}", nodeid=node_id(e, "cognito"), **NODE)
                alb >> step("4a", f"host {env.hosts[0]}: sign in") >> entry
            internal = ElbApplicationLoadBalancer(
                f"internal ALB\n{env.prefix}-internal", nodeid=node_id(e, "internal_alb"), **NODE
            )
            nats: list[Node] = []
            for az in sorted(set(env.app_subnets) | set(env.data_subnets)):
                self.availability_zone(az, nats)
            for index, frontend in enumerate(self.frontends):
                if entry is not None:
                    entry >> step("4b", "authenticated", index == 0) >> frontend
                else:
                    alb >> step(4, "host " + "\n".join(env.hosts), index == 0) >> frontend
                frontend >> step(5, "/api", index == 0) >> internal
            for index, backend in enumerate(self.backends):
                internal >> step(6, "", index == 0) >> backend
                backend >> step(7, "cache", index == 0) >> self.data["redis-primary"]
                backend >> step(8, "miss, write", index == 0) >> self.data["mysql-primary"]
            if "mysql-replica" in self.data:
                (
                    self.backends[0]
                    >> Edge(label="8 reads", color=PATH, style="dashed", constraint="false")
                    >> self.data["mysql-replica"]
                )
            if "mysql-standby" in self.data:
                self.data["mysql-primary"] >> replication("synchronous") >> self.data["mysql-standby"]
            if "mysql-replica" in self.data:
                self.data["mysql-primary"] >> replication("asynchronous") >> self.data["mysql-replica"]
            for name, replica in self.data.items():
                if name.startswith("redis-replica"):
                    self.data["redis-primary"] >> replication("asynchronous") >> replica

    def availability_zone(self, az: str, nats: list[Node]) -> None:
        env, e = self.env, self.env.env
        data_nodes = placement(env)
        with Cluster(f"{e}: {az}", graph_attr={"bgcolor": "#FFFFFF"}):
            if az in env.nat_azs:
                nats.append(NATGateway(f"NAT gateway\n{env.public_subnets.get(az, '')}", nodeid=node_id(e, "nat", az)))
            if az in env.app_subnets:
                with Cluster(f"{e}: {az} app subnet {env.app_subnets[az]}"):
                    if az in env.azs:
                        self.frontends.append(self.tier(az, "frontend"))
                        self.backends.append(self.tier(az, "backend"))
                    else:
                        PrivateSubnet("internal ALB only\n(an ALB needs two AZs)", nodeid=node_id(e, "app", az), **NODE)
            if az in env.data_subnets:
                with Cluster(f"{e}: {az} data subnet {env.data_subnets[az]}"):
                    for name in data_nodes.get(az, []):
                        self.data[name] = self.data_node(name)
                    if not data_nodes.get(az):
                        PrivateSubnet("subnet group only\n(AWS needs two AZs)", nodeid=node_id(e, "data", az), **NODE)

    def tier(self, az: str, name: str) -> Node:
        tier = getattr(self.env, name)
        label = (
            f"{name} ASG\n{tier.instance_type}\n{tier.min_size}-{tier.max_size}, "
            f"desired {tier.desired_capacity}\none group, {len(tier.azs)} AZ"
        )
        return EC2AutoScaling(label, nodeid=node_id(self.env.env, name, az), **NODE)

    def data_node(self, name: str) -> Node:
        env, nodeid = self.env, node_id(self.env.env, name)
        if name == "mysql-primary":
            multi = "Multi-AZ\nprimary" if env.mysql.multi_az else "single-AZ\nprimary"
            return RDSMysqlInstance(f"RDS MySQL {multi}\n{env.mysql.instance_class}", nodeid=nodeid, **NODE)
        if name == "mysql-standby":
            return RDSMysqlInstance(f"RDS standby\n{env.mysql.instance_class}", nodeid=nodeid, **NODE)
        if name == "mysql-replica":
            return RDSMysqlInstance(f"RDS read replica\n{env.mysql.replica_instance_class}", nodeid=nodeid, **NODE)
        if name == "redis-primary":
            role = "primary\nautomatic failover" if env.redis.replicas else "single node"
            return ElasticacheForRedis(f"Redis {role}\n{env.redis.node_type}", nodeid=nodeid, **NODE)
        return ElasticacheForRedis(f"Redis replica\n{env.redis.node_type}", nodeid=nodeid, **NODE)


def draw(environments: Sequence[Environment], title: str, output: Path) -> list[Path]:
    """Render ``environments`` behind the shared edge to ``output``.png and .dot; returns both paths."""
    output.parent.mkdir(parents=True, exist_ok=True)
    first = environments[0]
    with Diagram(
        title,
        filename=str(output),
        outformat=["png", "dot"],
        show=False,
        direction="LR",
        graph_attr=GRAPH,
    ):
        users = Users("users", nodeid="users", **NODE)
        with Cluster(f"shared edge ({first.region}, one per account and region)", graph_attr={"fontsize": "16"}):
            dns = Route53(f"Route53\n{first.domain}", nodeid="route53", **NODE)
            waf = WAF("WAFv2 web ACL\nmanaged rules, rate limit", nodeid="waf", **NODE)
            CertificateManager("ACM certificate", nodeid="acm", **NODE)
            alb = ElbApplicationLoadBalancer(
                "public ALB, HTTPS\n" + "\n".join(rules(environments)), nodeid="public_alb", **NODE
            )
        users >> step(1, "DNS") >> dns
        users >> step(2, "HTTPS") >> waf
        waf >> step(3, "allowed") >> alb
        for env in environments:
            EnvironmentDrawing(env).draw(alb)
    written = [output.with_suffix(".png"), output.with_suffix(".dot")]
    LOG.info("drew %s", ", ".join(str(path) for path in written))
    return written


def rules(environments: Iterable[Environment]) -> list[str]:
    return [
        f"{env.rule_priority} {' '.join(env.hosts)}" + (" (Cognito)" if env.cognito else "") for env in environments
    ]
