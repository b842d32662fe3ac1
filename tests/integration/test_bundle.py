"""The host bundle (roles/bundle, scripts/bundle.py): built, published once, found unchanged.

Staging's deploy, rerun and check run site.yml, which publishes the bundle to
s3://<bucket>/bundles/<tier>/bundle.tar.gz. What a host does with it is
tests/hosts/test_boot_path.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from importlib import metadata

import pytest

from .conftest import ROOT, Emulator, mutating, run_playbook
from .stack import Stack

pytestmark = pytest.mark.integration

TIERS = ["frontend", "backend"]
BUILT = ROOT / ".cache" / "bundle" / "webstack-staging" / "bundle.tar.gz"


def bucket(stack: Stack) -> str:
    account = stack.client("sts").get_caller_identity()["Account"]
    return f"webstack-staging-bootstrap-{account}"


@pytest.mark.stack("deploy")
def test_each_tier_key_holds_the_built_bundle_once(stack: Stack) -> None:
    s3 = stack.client("s3")
    digest = hashlib.sha256(BUILT.read_bytes()).hexdigest()
    for tier in TIERS:
        key = f"bundles/{tier}/bundle.tar.gz"
        head = s3.head_object(Bucket=bucket(stack), Key=key)
        assert head["Metadata"] == {"sha256": digest}
        assert head["ContentType"] == "application/gzip"
        versions = s3.list_object_versions(Bucket=bucket(stack), Prefix=key)["Versions"]
        assert len(versions) == 1, versions
    assert "runs bundle version unknown" in stack.runs["provision-staging"].output


@pytest.mark.stack("deploy")
def test_the_bundle_carries_the_host_roles_and_the_controllers_ansible(stack: Stack) -> None:
    body = stack.client("s3").get_object(Bucket=bucket(stack), Key="bundles/backend/bundle.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("BUNDLE.json"))
        pins = tar.extractfile("dist/wheelhouse/ansible.txt").read().decode().split()
        times = {member.mtime for member in tar.getmembers()}

    assert {"site.yml", "configure.yml", "ansible.cfg", "inventory.yml", "group_vars/all/main.yml"} <= names
    for role in ("common", "frontend", "backend", "preflight"):
        assert f"roles/{role}/tasks/main.yml" in names or f"roles/{role}/tasks/outputs.yml" in names
    assert "collections/ansible_collections/amazon/aws/plugins/lookup/ssm_parameter.py" in names
    assert f"dist/{manifest['backend']}" in names
    # The controller's own versions of what configuring a host runs on.
    assert f"ansible-core=={metadata.version('ansible-core')}" in pins
    assert f"boto3=={metadata.version('boto3')}" in pins
    assert pins == manifest["ansible"]
    for pin in pins:
        version = pin.split("==")[1]
        assert any(n.startswith("dist/wheelhouse/") and n.endswith(".whl") and f"-{version}-" in n for n in names), (
            f"no wheel for {pin}"
        )
    # Reproducible: every member has the same fixed time.
    assert times == {315532800}


@pytest.mark.stack("rerun")
def test_an_unchanged_bundle_is_not_uploaded_again(stack: Stack) -> None:
    run = stack.runs["rerun-staging"]
    assert run.changed == 0, run.output[-3000:]
    assert "PutObject" not in mutating(run.requests)
    for tier in TIERS:
        key = f"bundles/{tier}/bundle.tar.gz"
        assert len(stack.client("s3").list_object_versions(Bucket=bucket(stack), Prefix=key)["Versions"]) == 1


@pytest.mark.stack("check")
def test_check_mode_compares_the_built_bundle_and_predicts_no_upload(stack: Stack) -> None:
    run = stack.runs["check-staging"]
    assert run.changed == 0, run.output[-3000:]
    assert "TASK [bundle : Ensure each tier's key holds this bundle" in run.output


def test_publishing_before_the_compute_layer_stops_naming_the_bucket(empty_account: Emulator) -> None:
    mark = empty_account.mark()

    run = run_playbook(empty_account, "inventories/staging", "bundle.yml")

    assert run.returncode != 0
    assert "/webstack-staging/compute/bucket, /webstack-staging/compute/bundle-prefix are not published" in run.output
    assert "TASK [bundle : Build the bundle" not in run.output
    assert mutating(empty_account.since(mark)) == []


def test_check_mode_before_the_compute_layer_predicts_both_uploads(empty_account: Emulator) -> None:
    mark = empty_account.mark()

    run = run_playbook(empty_account, "inventories/staging", "bundle.yml", "--check")

    assert run.returncode == 0, run.output[-3000:]
    assert run.changed == 1, run.output[-3000:]  # one task, an item per tier
    for tier in TIERS:
        assert f"{tier}: the bundle (sha256 " in run.output
    assert mutating(empty_account.since(mark)) == []
