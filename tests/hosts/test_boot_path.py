"""The boot path: a fresh host configures itself from its launch template's user data and the bundle.

No controller run touches the host. The test deploys staging's site.yml to an
emulator (provision and the bundle published; the data layer is left out: the
frontend does not read it), takes the frontend launch template's user data as
the compute role rendered it, and runs it on a freshly booted Debian 12 host the
way cloud-init does: as root, in a transient systemd service, with nothing in its
environment. The host gets what EC2 gives an instance (scripts/hostaws.py): the
AWS names its instance policy allows resolve to a TLS proxy in front of the
emulator, signed by a CA the image trusts, and a metadata service (IMDSv2)
answers as the instance the Auto Scaling group launched in the emulator: its
id, region and role credentials. It must then answer /healthz with 200 and tag
that instance with its bundle version. The steps' times make the boot timeline
(docs/HOSTS.md).

Needs root, systemd-nspawn and the cached root file system (`make hosts-test`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from .lab import demo_ca, free_port, wait_listening

ROOT = Path(__file__).resolve().parents[2]
HOSTLAB = [sys.executable, str(ROOT / "scripts" / "hostlab.py")]
EMULATOR = [sys.executable, str(ROOT / "scripts" / "emulator.py")]
HOSTAWS = [sys.executable, str(ROOT / "scripts" / "hostaws.py")]
HOST = "boot-frontend"
CONTROLLER = "10.231.0.1"
PREFIX = "webstack-staging"
LAYERS = ["shared_edge", "network", "identity", "edge", "compute"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("systemd-nspawn") or not shutil.which("debootstrap"),
    reason="booted hosts need root, systemd-nspawn and debootstrap (scripts/bootstrap.sh)",
)


def hostlab(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    return subprocess.run([*HOSTLAB, *args], capture_output=True, text=True, timeout=900, **kwargs)


def on_host(command: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HOSTLAB, "ssh", HOST, command], input=stdin, capture_output=True, text=True, check=False, timeout=timeout
    )


class Booted:
    """What the boot produced: the host's address, the emulator's env, the user data's run and its timeline."""

    def __init__(self, address: str, env: dict[str, str]) -> None:
        self.address, self.env = address, env
        self.boot_seconds = 0.0
        self.deploy_seconds = 0.0
        self.user_data = ""
        self.run: subprocess.CompletedProcess | None = None
        self.run_seconds = 0.0
        self.log = ""
        self.instance_id = ""

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="module")
def booted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    folder = tmp_path_factory.mktemp("boot-path")
    port = str(free_port())
    emulator_env = {**os.environ, "EMULATOR_STATE_DIR": str(folder / "emulator"), "EMULATOR_PORT": port}
    subprocess.run([*EMULATOR, "start"], env=emulator_env, check=True, capture_output=True, timeout=120)
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    serve = None
    try:
        booted = Booted("", env)
        playbook_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | env
        playbook_env |= {"ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
        started = time.monotonic()
        deploy = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "inventories/staging",
             "playbooks/site.yml", "-e", json.dumps({"provision_layers": LAYERS})],
            cwd=ROOT, env=playbook_env, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        booted.deploy_seconds = time.monotonic() - started
        assert deploy.returncode == 0, deploy.stdout[-4000:] + deploy.stderr[-2000:]

        ec2 = booted.client("ec2")
        (version,) = ec2.describe_launch_template_versions(
            LaunchTemplateName=f"{PREFIX}-frontend", Versions=["$Default"]
        )["LaunchTemplateVersions"]
        booted.user_data = base64.b64decode(version["LaunchTemplateData"]["UserData"]).decode()
        group = booted.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[f"{PREFIX}-frontend"])
        booted.instance_id = group["AutoScalingGroups"][0]["Instances"][0]["InstanceId"]

        # What an instance has on AWS: the service names behind TLS, a metadata service that
        # answers as the instance the group launched, an image that trusts the certificates.
        names = subprocess.run(
            [*HOSTAWS, "names", "--prefix", PREFIX], env=playbook_env, capture_output=True, text=True, check=True
        ).stdout.split()
        ca_cert = demo_ca(folder / "ca")
        serve = subprocess.Popen(
            [*HOSTAWS, "serve", "--prefix", PREFIX, "--ca-dir", str(folder / "ca"),
             "--state", str(folder / "hostaws")],
            env=playbook_env, stdout=(folder / "hostaws.log").open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_listening("169.254.169.254", 80, serve)
        wait_listening(CONTROLLER, 443, serve)
        started = time.monotonic()
        aliases = [arg for name in names for arg in ("--alias", f"{name}=controller")]
        up = hostlab("up", HOST, *aliases, check=True)
        booted.address = json.loads(up.stdout)[HOST]
        booted.boot_seconds = time.monotonic() - started
        subprocess.run(
            [*HOSTAWS, "attach", HOST, booted.instance_id, "--state", str(folder / "hostaws"), "--ca-cert",
             str(ca_cert)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip

        # As cloud-init does: the script, as root, in a service of its own, once the host is up.
        # Nothing in its environment: no endpoint, no credentials, no region.
        written = on_host(
            "install -d /var/lib/cloud/instance && cat > /var/lib/cloud/instance/user-data", booted.user_data
        )
        assert written.returncode == 0, written.stderr
        started = time.monotonic()
        booted.run = on_host(
            "systemd-run --unit=webstack-user-data --wait --collect --service-type=oneshot "
            # As cloud-init's cloud-final.service (no start timeout): the user data takes as long as it takes.
            "--property=TimeoutStartSec=infinity "
            "/bin/bash /var/lib/cloud/instance/user-data",
            timeout=900,
        )
        booted.run_seconds = time.monotonic() - started
        booted.log = on_host("cat /var/log/webstack-bootstrap.log").stdout
        yield booted
    finally:
        hostlab("down", HOST)
        if serve is not None:
            serve.terminate()
            serve.wait(timeout=30)
        subprocess.run([*EMULATOR, "stop"], env=emulator_env, check=False, capture_output=True, timeout=60)


def steps(log: str) -> dict[str, float]:
    return {name: float(seconds) for name, seconds in re.findall(r"webstack bootstrap: step (\S+) ([\d.]+) s", log)}


def test_the_user_data_runs_to_the_end(booted: Booted) -> None:
    assert booted.run is not None
    assert booted.run.returncode == 0, booted.log[-6000:]
    assert "webstack bootstrap: done" in booted.log
    assert list(steps(booted.log)) == ["packages", "ssm-agent", "bundle", "virtualenv", "roles"]


def test_the_host_answers_its_health_check(booted: Booted) -> None:
    with urllib.request.urlopen(f"http://{booted.address}/healthz", timeout=5) as answer:
        assert answer.status == 200
    with urllib.request.urlopen(f"http://{booted.address}/", timeout=5) as page:
        assert "<html" in page.read().decode().lower()
    assert on_host("systemctl is-enabled nginx").stdout.strip() == "enabled"
    # The common role ran too: sshd refuses passwords.
    assert "passwordauthentication no" in on_host("sshd -T").stdout


def test_the_host_applied_the_published_bundle(booted: Booted) -> None:
    s3 = booted.client("s3")
    account = booted.client("sts").get_caller_identity()["Account"]
    head = s3.head_object(Bucket=f"{PREFIX}-bootstrap-{account}", Key="bundles/frontend/bundle.tar.gz")
    assert on_host("cat /etc/webstack/bundle-version").stdout.strip() == head["VersionId"]
    facts = json.loads(on_host("cat /etc/webstack/instance.json").stdout)
    assert facts["webstack_tier"] == "frontend" and facts["webstack_prefix"] == PREFIX
    # Ansible came from the bundle's wheels: the controller's ansible-core, not Debian's 2.14.
    from importlib import metadata

    versions = on_host("/opt/webstack/ansible-*/bin/ansible-playbook --version").stdout
    assert f"core {metadata.version('ansible-core')}" in versions


def test_no_package_mirror_and_no_ssm_agent_do_not_stop_the_host(booted: Booted) -> None:
    # Every package the user data needs is in the image: no apt-get ran (the host has no mirror).
    assert "Reading package lists" not in booted.log
    # The agent's package is not in the emulator's S3: logged, and the host serves all the same.
    assert "WARNING: the SSM agent could not be installed; the host serves without Session Manager" in booted.log


def test_the_instance_tags_itself_with_the_bundle_it_applied(booted: Booted) -> None:
    """With the instance's own credentials and identity, from the metadata service (IMDSv2)."""
    assert "WARNING: could not tag the instance" not in booted.log
    (reservation,) = booted.client("ec2").describe_instances(InstanceIds=[booted.instance_id])["Reservations"]
    tags = {t["Key"]: t["Value"] for t in reservation["Instances"][0].get("Tags", [])}
    assert tags.get("webstack:bundle-version") == on_host("cat /etc/webstack/bundle-version").stdout.strip()


def test_the_boot_timeline(booted: Booted) -> None:
    """Prints the time from boot to the first 200 on /healthz, split into its steps."""
    timeline = steps(booted.log)
    print(
        f"\nboot path (deploy of staging's layers and bundle beforehand: {booted.deploy_seconds:.1f} s)\n"
        f"  host boot (nspawn, systemd, SSH)  {booted.boot_seconds:6.1f} s\n"
        + "".join(f"  user data: {name:<22} {seconds:6.1f} s\n" for name, seconds in timeline.items())
        + f"  user data in all                  {booted.run_seconds:6.1f} s\n"
        f"  boot to first 200 on /healthz     {booted.boot_seconds + booted.run_seconds:6.1f} s"
    )
    assert sum(timeline.values()) <= booted.run_seconds + 1
