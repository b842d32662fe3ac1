"""The diagrams hold every component the inventory implies, and nothing it does not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.archdoc.draw import draw
from scripts.archdoc.model import Environment


def nodes(dot: Path) -> set[str]:
    """The ids of the nodes a Graphviz source declares (lines `id [attributes]`)."""
    declared = set(re.findall(r"^\s*(\w+)\s+\[", dot.read_text(), re.MULTILINE))
    return declared - {"graph", "node", "edge"}


def edge_labels(dot: Path) -> set[str]:
    return set(re.findall(r'label="?([^",\]]*)', dot.read_text()))


def drawn(env: Environment, folder: Path) -> set[str]:
    draw([env], env.env, folder / env.env)
    return nodes(folder / f"{env.env}.dot")


def test_both_inventories_are_drawn_as_png_and_graph_source(rendered: Path) -> None:
    for name in ("prod", "staging", "both"):
        assert (rendered / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (rendered / f"{name}.dot").read_text().startswith("digraph")


def test_prod_has_every_tier_in_both_azs(rendered: Path) -> None:
    found = nodes(rendered / "prod.dot")
    for az in ("us_east_1a", "us_east_1b"):
        assert {f"prod_frontend_{az}", f"prod_backend_{az}", f"prod_nat_{az}"} <= found
    assert {"users", "route53", "waf", "public_alb", "acm", "prod_internal_alb"} <= found
    assert {"prod_mysql_primary", "prod_mysql_standby", "prod_mysql_replica"} <= found
    assert {"prod_redis_primary", "prod_redis_replica_1"} <= found
    assert "prod_cognito" not in found


def test_staging_runs_in_one_az_behind_cognito_without_replicas(rendered: Path) -> None:
    found = nodes(rendered / "staging.dot")
    assert {"staging_frontend_us_east_1a", "staging_backend_us_east_1a", "staging_nat_us_east_1a"} <= found
    assert not {name for name in found if name.endswith("us_east_1b") and "_app_" not in name and "_data_" not in name}
    # The second AZ holds only subnets (an ALB and the subnet groups need two AZs).
    assert {"staging_app_us_east_1b", "staging_data_us_east_1b"} <= found
    assert "staging_cognito" in found
    assert {"staging_mysql_primary", "staging_redis_primary"} <= found
    assert not {"staging_mysql_standby", "staging_mysql_replica"} & found
    assert not {name for name in found if name.startswith("staging_redis_replica")}


def test_the_request_path_is_numbered(rendered: Path) -> None:
    labels = {label.split(" ")[0] for label in edge_labels(rendered / "both.dot")}
    assert {"1", "2", "3", "4", "4a", "4b", "5", "6", "7", "8"} <= labels


def test_both_environments_share_one_edge(rendered: Path) -> None:
    found = nodes(rendered / "both.dot")
    assert {"public_alb", "prod_frontend_us_east_1b", "staging_frontend_us_east_1a", "staging_cognito"} <= found
    assert len(re.findall(r"^\s*public_alb\s+\[", (rendered / "both.dot").read_text(), re.MULTILINE)) == 1


@pytest.mark.parametrize(
    ("env", "changes", "present", "absent"),
    [
        ("staging", {"webstack_cognito_enabled": False}, set(), {"staging_cognito"}),
        ("prod", {"webstack_cognito_enabled": True}, {"prod_cognito"}, set()),
        ("prod", {"data_mysql_read_replica": False}, {"prod_mysql_standby"}, {"prod_mysql_replica"}),
        ("staging", {"data_mysql_read_replica": True}, {"staging_mysql_replica"}, {"staging_mysql_standby"}),
        (
            "prod",
            {"webstack_azs": ["us-east-1a"], "network_nat_mode": "single"},
            {"prod_frontend_us_east_1a", "prod_nat_us_east_1a"},
            {"prod_frontend_us_east_1b", "prod_nat_us_east_1b"},
        ),
        ("prod", {"data_redis_replicas": 2}, {"prod_redis_replica_1", "prod_redis_replica_2"}, set()),
    ],
    ids=["staging-unguarded", "prod-guarded", "prod-no-replica", "staging-replica", "prod-one-az", "prod-2-redis"],
)
def test_a_changed_inventory_changes_the_diagram(
    changed_inventory, tmp_path: Path, env: str, changes: dict, present: set[str], absent: set[str]
) -> None:
    found = drawn(changed_inventory(env, changes), tmp_path / "drawn")
    assert present <= found
    assert not absent & found


def test_a_rerender_writes_the_same_graph(environments: list[Environment], rendered: Path, tmp_path: Path) -> None:
    draw([environments[0]], "prod", tmp_path / "prod")
    assert (tmp_path / "prod.dot").read_text() == (rendered / "prod.dot").read_text()
