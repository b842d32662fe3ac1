"""The local data plane on the shared deployment: every layer of both environments, as deployed.

Read-only: the data plane only reads the emulator. The compute layer's internal
ALBs and the instances the Auto Scaling groups registered are there; no
address of this machine stands for those instances yet (the hosts are issue
13's next part), so their groups answer 503 and no request leaves this machine.
docs/DATAPLANE.md; tests/dataplane/ has the forwarding and health tests.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tests.dataplane.test_dataplane import Plane, free_port, request


@pytest.mark.stack("deploy")
def test_the_deployed_stack_is_served_by_the_data_plane(stack: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | stack.emulator.env
    plane = Plane(env=env, directory=tmp_path, https=free_port(), http=free_port(), internal_base=free_port())
    mark = stack.mark()
    try:
        up = plane.json("up")
        assert up["started"]
        model = json.loads((tmp_path / "nginx" / "model.json").read_text())
        balancers = {lb["name"]: lb for lb in model["load_balancers"]}
        groups = {g["name"]: g for g in model["target_groups"]}
        # Both environments' internal ALBs as the compute layer made them: HTTP, forward to the backend group.
        for env_name in ("prod", "staging"):
            (listener,) = balancers[f"webstack-{env_name}-internal"]["listeners"]
            (rule,) = listener["rules"]
            assert listener["protocol"] == "HTTP" and rule["priority"] == "default"
            assert rule["actions"][0]["target_groups"][0]["arn"] == groups[f"webstack-{env_name}-backend"]["arn"]
            for tier in ("frontend", "backend"):
                targets = groups[f"webstack-{env_name}-{tier}"]["targets"]
                assert targets and all(t["instance_state"] == "running" and t["address"] for t in targets)

        ssm = stack.client("ssm")
        client_id = ssm.get_parameter(Name="/webstack-staging/identity/client-id")["Parameter"]["Value"]
        domain = ssm.get_parameter(Name="/webstack-staging/identity/domain")["Parameter"]["Value"]
        status, headers, _ = request(plane, "staging.example.com", "/")
        location = urllib.parse.urlsplit(headers["Location"])
        assert status == 302 and location.netloc == f"{domain}.auth.us-east-1.amazoncognito.com"
        assert urllib.parse.parse_qs(location.query)["client_id"] == [client_id]
        assert request(plane, "unknown.example.org", "/", sni="example.com")[:3:2] == (404, "Not found")
        assert request(plane, "example.com", "/x", tls=False)[1]["Location"] == f"https://example.com:{plane.https}/x"

        # The instances' private IPs are not this machine's: left out, 503, and nothing sent to them.
        assert request(plane, "example.com", "/", sni="example.com")[0] == 503
        internal = [lsn for lsn in up["listeners"] if lsn["scheme"] == "internal"]
        assert len(internal) == 2
        for listener in internal:
            port = int(listener["local"].rsplit(":", 1)[1])
            assert request(plane, "internal", "/api/items/1", port=port, tls=False)[0] == 503
        log = (tmp_path / "nginx" / "logs" / "access.log").read_text().splitlines()
        assert all(json.loads(line)["upstream"] == "" for line in log)
    finally:
        plane.run("down", check=False)
    # Reading the control plane sent no mutating call.
    assert all(r["action"].startswith(("Describe", "Get", "List")) for r in stack.since(mark))
