#!/usr/bin/env python3
"""Local AWS emulator (moto in server mode) shared by the demo and the tests.

    scripts/emulator.py start    start it in the background (no-op when it runs)
    scripts/emulator.py stop     stop it
    scripts/emulator.py status   say whether it runs, on which port, with which pid
    scripts/emulator.py env      print the shell exports that point boto3 at it
    scripts/emulator.py serve    run it in the foreground (what `start` spawns)

State (pid, port, log, request log) lives in EMULATOR_STATE_DIR, by default
`.emulator/` at the project's root (git-ignored). The port comes from
EMULATOR_PORT (default 5055; 0 picks a free one), the address it listens on
from EMULATOR_BIND (default 127.0.0.1; the booted test hosts of molecule/
reach it on the hostlab bridge's address, scripts/hostlab.py).

Every request the emulator answers is appended to `requests.log` as one JSON
line (service, action): the tests use it to prove that a bad inventory sent
nothing, and the benchmark to count requests per managed resource. Roles,
inventories and modules know nothing of this: they only see AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 5055
DEFAULT_REGION = "us-east-1"
LOG = logging.getLogger("emulator")


def state_dir() -> Path:
    return Path(os.environ.get("EMULATOR_STATE_DIR", ROOT / ".emulator")).resolve()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bind_address() -> str:
    return os.environ.get("EMULATOR_BIND", "127.0.0.1")


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((bind_address(), port)) == 0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def read_state() -> tuple[int, int] | None:
    """Return (pid, port) of a running emulator, or None."""
    directory = state_dir()
    try:
        pid = int((directory / "pid").read_text().strip())
        port = int((directory / "port").read_text().strip())
    except (OSError, ValueError):
        return None
    if pid_alive(pid) and port_open(port):
        return pid, port
    return None


# --------------------------------------------------------------------------- #
# Request log middleware
# --------------------------------------------------------------------------- #
def _service_from_auth(environ: dict[str, Any]) -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    # AWS4-HMAC-SHA256 Credential=KEY/20260101/us-east-1/ec2/aws4_request, ...
    try:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        return scope[3]
    except IndexError:
        return "unknown"


def _action(environ: dict[str, Any], body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    if body and b"Action=" in body:
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in fields:
            return fields["Action"][0]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0]
    return f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO', '/')}"


class RequestLog:
    """WSGI middleware: one JSON line per AWS request, then moto answers."""

    def __init__(self, app: Callable[..., Iterable[bytes]], path: Path) -> None:
        self.app = app
        self.path = path
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        if environ.get("PATH_INFO") == PUBLISH_DEBIAN_AMI and environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            published = json.loads(environ["wsgi.input"].read(length) or b"{}")
            publish_debian_ami(published["name"], published["value"])
            start_response("204 No Content", [])
            return [b""]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        record = {"service": _service_from_auth(environ), "action": _action(environ, body)}
        with self.lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
        return self.app(environ, start_response)


def patch_moto() -> None:
    """Make moto behave as AWS where the roles' teardown depends on it (moto 5.2.5).

    - DeleteReplicationGroup: AWS removes the group once its nodes are gone;
      moto leaves it "deleting" forever. Here it is gone at once.
    - DeleteCacheSubnetGroup: not implemented by moto. Here it deletes the
      group, and refuses with CacheSubnetGroupInUse while a replication group
      or cache cluster uses it, as AWS does.
    - Instance refresh of Auto Scaling groups: see patch_instance_refresh().
    - AWS's public SSM parameters of the Debian 12 AMIs: see
      seed_debian_ami_parameters().
    - Load balancer attributes: see patch_load_balancer_attributes().
    - Launch template versions (UserData of a new version, version numbers,
      DeleteLaunchTemplateVersions): see patch_launch_templates().
    - A certificate's users when a listener or load balancer is deleted: see
      patch_certificate_users().
    - Bucket policies' aws:SecureTransport: see patch_bucket_policy_transport().
    - A replication group's AUTH tokens (ModifyReplicationGroup's AuthToken and
      AuthTokenUpdateStrategy): see patch_replication_group_auth_token().
    - A secret's value after AWSCURRENT moved: see patch_secret_current_version().
    - AWS Backup selections, plan updates and recovery points: see
      patch_backup_selections().
    Nothing else of moto is changed; the roles never learn they run against it.
    """
    from moto.core.responses import EmptyResult
    from moto.elasticache.exceptions import CacheSubnetGroupNotFound, ElastiCacheException
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse

    class CacheSubnetGroupInUse(ElastiCacheException):
        code = "CacheSubnetGroupInUse"

    moto_delete_replication_group = ElastiCacheBackend.delete_replication_group

    def delete_replication_group(self: Any, replication_group_id: str, retain_primary_cluster: bool | None) -> Any:
        group = moto_delete_replication_group(self, replication_group_id, retain_primary_cluster)
        del self.replication_groups[replication_group_id]
        return group

    def delete_cache_subnet_group(self: Any, name: str) -> None:
        if name not in self.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(name)
        users = [*self.replication_groups.values(), *self.cache_clusters.values()]
        if any(getattr(user, "cache_subnet_group_name", None) == name for user in users):
            raise CacheSubnetGroupInUse(f"Cache subnet group {name} is currently in use by a cache cluster.")
        del self.cache_subnet_groups[name]

    def respond_delete_cache_subnet_group(self: Any) -> EmptyResult:
        self.elasticache_backend.delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
        return EmptyResult()

    ElastiCacheBackend.delete_replication_group = delete_replication_group
    ElastiCacheBackend.delete_cache_subnet_group = delete_cache_subnet_group
    ElastiCacheResponse.delete_cache_subnet_group = respond_delete_cache_subnet_group
    patch_instance_refresh()
    seed_debian_ami_parameters()
    patch_load_balancer_attributes()
    patch_launch_templates()
    patch_certificate_users()
    patch_bucket_policy_transport()
    patch_instances_from_launch_templates()
    patch_replication_group_auth_token()
    patch_secret_current_version()
    patch_backup_selections()


def patch_backup_selections() -> None:
    """AWS Backup selections, UpdateBackupPlan and recovery points (docs/EMULATOR.md E42; moto 5.2.5 has none).

    - CreateBackupSelection records a selection under its plan (a new
      SelectionId; the selection as sent, with AWS's empty Conditions,
      ListOfTags and NotResources where none were given) and answers
      SelectionId, BackupPlanId, CreationDate. A CreatorRequestId already
      used on the plan answers the selection it made, without another one, as
      AWS's retry token does. An unknown or deleted plan is
      ResourceNotFoundException; a SelectionName longer than 50 characters or
      outside AWS's pattern, or a selection naming no resource, tag or
      condition, InvalidParameterValueException.
    - GetBackupSelection, ListBackupSelections (no paging) and
      DeleteBackupSelection, as AWS answers them; an unknown selection is
      ResourceNotFoundException.
    - DeleteBackupPlan refuses with InvalidRequestException while the plan has
      selections, as AWS does.
    - CreateBackupPlan accepts the name of a deleted plan (moto refused it).
    - UpdateBackupPlan replaces the plan's document (AWS's rule defaults
      filled in, new RuleIds) and gives it a new VersionId.
    - StartBackupJob makes a COMPLETED recovery point in the vault at once (a
      job id and the recovery point's ARN in the answer; no data is copied);
      ListRecoveryPointsByBackupVault lists a vault's recovery points (no
      paging, no filters), DeleteRecoveryPoint deletes one, and
      DeleteBackupVault refuses with InvalidRequestException while the vault
      holds any, as AWS does; DescribeBackupVault reports their number
      (NumberOfRecoveryPoints, which moto left out). DescribeBackupVault and
      ListRecoveryPointsByBackupVault answer a vault that does not exist with
      AccessDeniedException (HTTP 403), as AWS does (aws/aws-sdk-js#2625,
      boto/boto3#2269); moto said ResourceNotFoundException, which
      amazon.aws.backup_vault does not take for "not there".

    - ScheduleKeyDeletion and CancelKeyDeletion take a key ARN as well as a
      key id, as AWS does (moto 5.2.5 answered an ARN with HTTP 500);
      amazon.aws.kms_key names the key by ARN when the teardown schedules the
      vault key's deletion.

    What it does not do: run the plan's schedule (no job ever starts on its
    own), copy, restore, or check the IAM role a selection or job names.
    """
    import re
    import uuid
    from urllib.parse import unquote

    from moto.backup import urls
    from moto.backup.exceptions import (
        InvalidParameterValueException,
        InvalidRequestException,
        ResourceNotFoundException,
    )
    from moto.backup.models import BackupBackend, Plan, Vault
    from moto.backup.responses import BackupResponse
    from moto.core.exceptions import JsonRESTError
    from moto.core.utils import unix_time
    from moto.kms.models import KmsBackend

    urls.url_paths.setdefault("{0}/backup-jobs/$", BackupResponse.dispatch)
    urls.url_paths.setdefault("{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$", BackupResponse.dispatch)
    urls.url_paths.setdefault("{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<arn>.+)$", BackupResponse.dispatch)

    def live_plan(backend: Any, plan_id: str) -> Any:
        plan = backend.plans.get(plan_id)
        if plan is None or plan.deletion_date is not None:
            raise ResourceNotFoundException(msg=f"Failed reading Backup plan {plan_id}")
        return plan

    def selections(backend: Any, plan_id: str) -> dict[str, dict[str, Any]]:
        return backend.__dict__.setdefault("backup_selections", {}).setdefault(plan_id, {})

    class AccessDeniedException(JsonRESTError):
        code = 403

        def __init__(self, message: str) -> None:
            super().__init__("AccessDeniedException", message)

    def recovery_points(backend: Any, vault_name: str) -> dict[str, dict[str, Any]]:
        if vault_name not in backend.vaults:
            raise AccessDeniedException("Insufficient privileges to perform this action.")
        return backend.__dict__.setdefault("recovery_points", {}).setdefault(vault_name, {})

    def create_backup_selection(self: Any, plan_id: str, selection: dict[str, Any], request_id: str | None) -> Any:
        live_plan(self, plan_id)
        found = selections(self, plan_id)
        if request_id:
            for made in found.values():
                if made["CreatorRequestId"] == request_id:
                    return made
        name = selection.get("SelectionName") or ""
        if not re.fullmatch(r"[a-zA-Z0-9\-_.]{1,50}", name):
            raise InvalidParameterValueException(msg=f"Invalid SelectionName: {name!r}")
        if not (selection.get("Resources") or selection.get("ListOfTags") or selection.get("Conditions")):
            raise InvalidParameterValueException(msg="A selection needs Resources, ListOfTags or Conditions.")
        conditions = {key: [] for key in ("StringEquals", "StringLike", "StringNotEquals", "StringNotLike")}
        made = {
            "SelectionId": str(uuid.uuid4()),
            "BackupPlanId": plan_id,
            "CreationDate": unix_time(),
            "CreatorRequestId": request_id,
            "BackupSelection": {
                "ListOfTags": [],
                "NotResources": [],
                **selection,
                "Conditions": {**conditions, **(selection.get("Conditions") or {})},
            },
        }
        found[made["SelectionId"]] = made
        return made

    def get_backup_selection(self: Any, plan_id: str, selection_id: str) -> dict[str, Any]:
        live_plan(self, plan_id)
        made = selections(self, plan_id).get(selection_id)
        if made is None:
            raise ResourceNotFoundException(msg=f"Failed reading selection {selection_id} of Backup plan {plan_id}")
        return made

    def delete_backup_selection(self: Any, plan_id: str, selection_id: str) -> None:
        self.get_backup_selection(plan_id, selection_id)
        del selections(self, plan_id)[selection_id]

    moto_delete_backup_plan = BackupBackend.delete_backup_plan
    moto_create_backup_plan = BackupBackend.create_backup_plan

    def delete_backup_plan(self: Any, backup_plan_id: str) -> Any:
        if live_plan(self, backup_plan_id) and selections(self, backup_plan_id):
            raise InvalidRequestException(
                msg="Related backup plan selections must be deleted prior to backup plan deletion"
            )
        return moto_delete_backup_plan(self, backup_plan_id)

    def create_backup_plan(self: Any, backup_plan: dict[str, Any], backup_plan_tags: Any, creator_request_id: str):
        name = backup_plan["BackupPlanName"]
        deleted = {pid: p for pid, p in self.plans.items() if p.deletion_date is not None}
        hidden = {pid: self.plans.pop(pid) for pid, p in deleted.items() if p.backup_plan["BackupPlanName"] == name}
        try:
            return moto_create_backup_plan(self, backup_plan, backup_plan_tags, creator_request_id)
        finally:
            self.plans.update(hidden)

    def update_backup_plan(self: Any, plan_id: str, backup_plan: dict[str, Any]) -> Any:
        plan = live_plan(self, plan_id)
        updated = Plan(backup_plan=backup_plan, creator_request_id=plan.creator_request_id, backend=self)
        plan.backup_plan = updated.backup_plan
        plan.advanced_backup_settings = updated.advanced_backup_settings
        plan.version_id = updated.version_id
        return plan

    def start_backup_job(self: Any, vault_name: str, resource_arn: str, role_arn: str) -> dict[str, Any]:
        points = recovery_points(self, vault_name)
        vault = self.vaults[vault_name]
        job_id = str(uuid.uuid4()).upper()
        now = unix_time()
        arn = f"arn:aws:backup:{self.region_name}:{self.account_id}:recovery-point:{uuid.uuid4()}"
        points[arn] = {
            "RecoveryPointArn": arn,
            "BackupVaultName": vault_name,
            "BackupVaultArn": vault.backup_vault_arn,
            "ResourceArn": resource_arn,
            "ResourceType": resource_arn.split(":")[2].upper() if resource_arn.count(":") > 2 else "",
            "IamRoleArn": role_arn,
            "Status": "COMPLETED",
            "CreationDate": now,
            "CompletionDate": now,
            "EncryptionKeyArn": vault.encryption_key_arn,
            "IsEncrypted": True,
            "CreatedBy": {"BackupJobId": job_id},
        }
        vault.num_of_recovery_points = len(points)
        return {"BackupJobId": job_id, "RecoveryPointArn": arn, "CreationDate": now}

    def delete_recovery_point(self: Any, vault_name: str, arn: str) -> None:
        points = recovery_points(self, vault_name)
        if arn not in points:
            raise ResourceNotFoundException(msg=f"Recovery point {arn} not found in {vault_name}")
        del points[arn]
        self.vaults[vault_name].num_of_recovery_points = len(points)

    def describe_backup_vault(self: Any, backup_vault_name: str) -> Any:
        if backup_vault_name not in self.vaults:
            raise AccessDeniedException("Insufficient privileges to perform this action.")
        return self.vaults[backup_vault_name]

    moto_delete_backup_vault = BackupBackend.delete_backup_vault

    def delete_backup_vault(self: Any, backup_vault_name: str) -> None:
        if self.__dict__.get("recovery_points", {}).get(backup_vault_name):
            raise InvalidRequestException(msg="Backup vault cannot be deleted because it contains recovery points.")
        moto_delete_backup_vault(self, backup_vault_name)
        self.__dict__.get("recovery_points", {}).pop(backup_vault_name, None)

    def body(response: Any) -> dict[str, Any]:
        return json.loads(response.body) if response.body else {}

    def respond_create_backup_selection(self: Any) -> str:
        params = body(self)
        made = self.backup_backend.create_backup_selection(
            self.uri_match["backupPlanId"], params.get("BackupSelection") or {}, params.get("CreatorRequestId")
        )
        return json.dumps({key: made[key] for key in ("SelectionId", "BackupPlanId", "CreationDate")})

    def respond_get_backup_selection(self: Any) -> str:
        made = self.backup_backend.get_backup_selection(self.uri_match["backupPlanId"], self.uri_match["selectionId"])
        return json.dumps({key: value for key, value in made.items() if value is not None})

    def respond_list_backup_selections(self: Any) -> str:
        plan_id = self.uri_match["backupPlanId"]
        live_plan(self.backup_backend, plan_id)
        listed = [
            {
                "SelectionId": made["SelectionId"],
                "SelectionName": made["BackupSelection"]["SelectionName"],
                "BackupPlanId": plan_id,
                "CreationDate": made["CreationDate"],
                "IamRoleArn": made["BackupSelection"].get("IamRoleArn"),
                **({"CreatorRequestId": made["CreatorRequestId"]} if made["CreatorRequestId"] else {}),
            }
            for made in selections(self.backup_backend, plan_id).values()
        ]
        return json.dumps({"BackupSelectionsList": listed})

    def respond_delete_backup_selection(self: Any) -> str:
        self.backup_backend.delete_backup_selection(self.uri_match["backupPlanId"], self.uri_match["selectionId"])
        return "{}"

    def respond_update_backup_plan(self: Any) -> str:
        plan = self.backup_backend.update_backup_plan(self.uri_match["backupPlanId"], body(self)["BackupPlan"])
        return json.dumps(plan.to_dict())

    def respond_start_backup_job(self: Any) -> str:
        params = body(self)
        started = self.backup_backend.start_backup_job(
            params["BackupVaultName"], params["ResourceArn"], params.get("IamRoleArn", "")
        )
        return json.dumps(started)

    def respond_list_recovery_points_by_backup_vault(self: Any) -> str:
        points = recovery_points(self.backup_backend, self.uri_match["backupVaultName"])
        return json.dumps({"RecoveryPoints": list(points.values())})

    def respond_delete_recovery_point(self: Any) -> str:
        arn = unquote(self.uri_match["recoveryPointArn"])
        self.backup_backend.delete_recovery_point(self.uri_match["backupVaultName"], arn)
        return "{}"

    moto_schedule_key_deletion = KmsBackend.schedule_key_deletion
    moto_cancel_key_deletion = KmsBackend.cancel_key_deletion
    KmsBackend.schedule_key_deletion = lambda self, key_id, days: moto_schedule_key_deletion(
        self, KmsBackend.get_key_id(key_id), days
    )
    KmsBackend.cancel_key_deletion = lambda self, key_id: moto_cancel_key_deletion(self, KmsBackend.get_key_id(key_id))
    # DescribeBackupVault reports the count, as AWS does (moto kept it under another name).
    Vault.number_of_recovery_points = property(lambda vault: vault.num_of_recovery_points)
    BackupBackend.create_backup_selection = create_backup_selection
    BackupBackend.get_backup_selection = get_backup_selection
    BackupBackend.delete_backup_selection = delete_backup_selection
    BackupBackend.delete_backup_plan = delete_backup_plan
    BackupBackend.create_backup_plan = create_backup_plan
    BackupBackend.update_backup_plan = update_backup_plan
    BackupBackend.start_backup_job = start_backup_job
    BackupBackend.delete_recovery_point = delete_recovery_point
    BackupBackend.delete_backup_vault = delete_backup_vault
    BackupBackend.describe_backup_vault = describe_backup_vault
    BackupResponse.create_backup_selection = respond_create_backup_selection
    BackupResponse.get_backup_selection = respond_get_backup_selection
    BackupResponse.list_backup_selections = respond_list_backup_selections
    BackupResponse.delete_backup_selection = respond_delete_backup_selection
    BackupResponse.update_backup_plan = respond_update_backup_plan
    BackupResponse.start_backup_job = respond_start_backup_job
    BackupResponse.list_recovery_points_by_backup_vault = respond_list_recovery_points_by_backup_vault
    BackupResponse.delete_recovery_point = respond_delete_recovery_point


MOTO_DEFAULT_ROOT = "/dev/sda1"  # where moto puts the root volume it adds to every instance


def patch_instances_from_launch_templates() -> None:
    """Instances launched from a launch template take its instance profile, metadata options and root volume (E40).

    On AWS an instance that an Auto Scaling group (or RunInstances) launches from a
    template carries the template's IamInstanceProfile and MetadataOptions (IMDSv2
    required, the hop limit, instance tags in the metadata). moto 5.2.5 takes the
    template's user data, type, key, security groups and block devices, but not
    those two: its instances had no role and took IMDSv1, so nothing asking the
    instance for its credentials (scripts/hostaws.py) or checking IMDSv2 on running
    instances saw what AWS would show. What RunInstances itself names still wins.

    Block devices: moto gives every instance launched without a mapping of its own
    a default 8 GiB unencrypted root volume on /dev/sda1, and then adds the
    template's volumes. On AWS the template's mapping of the image's root device
    (Debian's: /dev/xvda) is the root volume: there is no other. Here the default
    volume goes when the template maps the image's root device.
    """
    from moto.ec2.models.instances import InstanceBackend, MetadataOptions

    moto_run_instances = InstanceBackend.run_instances

    def run_instances(self: Any, image_id: str, count: int, user_data: Any, security_group_names: Any, **kwargs: Any):
        reservation = moto_run_instances(self, image_id, count, user_data, security_group_names, **kwargs)
        if not kwargs.get("launch_template"):
            return reservation
        template = self._get_template_from_args(kwargs["launch_template"]).data
        profile = template.get("IamInstanceProfile") or {}
        options = template.get("MetadataOptions")
        named = kwargs.get("iam_instance_profile_name") or kwargs.get("iam_instance_profile_arn")
        mapped = {m.get("DeviceName") for m in template.get("BlockDeviceMappings") or []}
        for instance in reservation.instances:
            default = instance.block_device_mapping.get(MOTO_DEFAULT_ROOT)
            if (
                default is not None
                and "block_device_mappings" not in kwargs
                and instance.root_device_name in mapped
                and MOTO_DEFAULT_ROOT not in mapped
            ):
                self.detach_volume(default.volume_id, instance.id, MOTO_DEFAULT_ROOT)
                self.delete_volume(default.volume_id)
            if options and not kwargs.get("metadata_options"):
                instance.metadata_options = MetadataOptions(options)
            if profile and not named and not self.iam_instance_profile_associations.get(instance.id):
                self.associate_iam_instance_profile(
                    instance_id=instance.id,
                    iam_instance_profile_name=profile.get("Name"),
                    iam_instance_profile_arn=profile.get("Arn"),
                )
        return reservation

    InstanceBackend.run_instances = run_instances


def patch_bucket_policy_transport() -> None:
    """Bucket policies judge a request as one over TLS (docs/EMULATOR.md E32).

    AWS's SDKs reach S3 over HTTPS; the emulator speaks HTTP. moto 5.2.5 also
    evaluates a statement whose condition does not hold as DENIED, whatever its
    effect, so the bootstrap bucket's "Deny when aws:SecureTransport is false"
    denied every call. Here such a statement is left out, as AWS leaves it out
    for a request over TLS; every other statement is evaluated as moto does.
    """
    import json

    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def insecure_transport_only(statement: dict[str, Any]) -> bool:
        return statement.get("Effect") == "Deny" and statement.get("Condition") == {
            "Bool": {"aws:SecureTransport": "false"}
        }

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy)
        statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
        kept = [s for s in statements if not insecure_transport_only(s)]
        if not kept:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**policy, "Statement": kept})).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission


# Refreshes that block another StartInstanceRefresh, as on AWS.
ACTIVE_REFRESH_STATUSES = ("Pending", "InProgress", "Cancelling")


def patch_instance_refresh() -> None:
    """StartInstanceRefresh, DescribeInstanceRefreshes, CancelInstanceRefresh (moto 5.2.5 has none).

    What it does:
    - Every instance an Auto Scaling group launches from a launch template
      reports, in DescribeAutoScalingGroups and DescribeAutoScalingInstances,
      the template version it was launched from (the group's version, $Latest
      and $Default resolved at launch). moto itself reports the template's
      *current default* version for every instance, so a new template version
      would never, or always, look outdated.
    - StartInstanceRefresh records a refresh for the group (a new
      InstanceRefreshId; Strategy, Preferences and DesiredConfiguration kept as
      sent), reports it Successful at once (PercentageComplete 100,
      InstancesToUpdate 0, StartTime = EndTime) and marks every instance of
      the group as running the group's current template version, which is
      what a finished refresh leaves behind on AWS. A DesiredConfiguration's
      launch template version becomes the group's first, as AWS does when
      such a refresh succeeds. It refuses with
      InstanceRefreshInProgress while a refresh is Pending, InProgress or
      Cancelling (none ever is here) and with ValidationError for an unknown
      group.
    - DescribeInstanceRefreshes lists a group's refreshes, newest first,
      optionally only the given InstanceRefreshIds (no paging).
    - CancelInstanceRefresh answers ActiveInstanceRefreshNotFound, as AWS does
      when no refresh is active: here none ever is.

    What it does not do: replace instances (the instance ids, AMIs, types and
    launch times stay as they were; nothing is terminated or launched), wait
    for warm-up or health checks, honour MinHealthyPercentage,
    MaxHealthyPercentage, SkipMatching, checkpoints or auto-rollback, or ever report
    Pending, InProgress, Cancelling, Cancelled, Failed or RollbackSuccessful.
    Code that waits for a refresh sees it finish on the first poll.
    """
    import uuid
    from datetime import UTC, datetime

    from moto.autoscaling.exceptions import AutoscalingClientError, ValidationError
    from moto.autoscaling.models import AutoScalingBackend, InstanceState
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.core.responses import ActionResult

    class InstanceRefreshInProgress(AutoscalingClientError):
        code = "InstanceRefreshInProgress"

    class ActiveInstanceRefreshNotFound(AutoscalingClientError):
        code = "ActiveInstanceRefreshNotFound"

    def current_version(group: Any) -> int | None:
        """The number of the template version the group launches now, None without a template."""
        template = getattr(group, "ec2_launch_template", None)
        if template is None:
            return None
        return template.get_version(group.launch_template_version).number

    moto_instance_state_init = InstanceState.__init__

    def instance_state_init(self: Any, *args: Any, **kwargs: Any) -> None:
        moto_instance_state_init(self, *args, **kwargs)
        self.launch_template_version_number = current_version(self.auto_scaling_group)

    def instance_launch_template(self: Any) -> dict[str, Any] | None:
        template = getattr(self.auto_scaling_group, "ec2_launch_template", None)
        if template is None:
            return None
        version = getattr(self, "launch_template_version_number", None) or template.default_version_number
        return {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "Version": str(version)}

    def refreshes(backend: Any, group_name: str) -> list[dict[str, Any]]:
        if group_name not in backend.autoscaling_groups:
            raise ValidationError(f"AutoScalingGroup name not found - AutoScalingGroup {group_name} not found")
        return backend.__dict__.setdefault("instance_refreshes", {}).setdefault(group_name, [])

    def start_instance_refresh(self: Any, group_name: str, request: dict[str, Any]) -> str:
        history = refreshes(self, group_name)
        active = next((r for r in history if r["Status"] in ACTIVE_REFRESH_STATUSES), None)
        if active:
            raise InstanceRefreshInProgress(
                f"An Instance Refresh is already in progress and blocks the execution of this Instance Refresh. "
                f"{active['InstanceRefreshId']}"
            )
        group = self.autoscaling_groups[group_name]
        desired = (request.get("DesiredConfiguration") or {}).get("LaunchTemplate") or {}
        if desired.get("Version"):
            # A successful refresh leaves the group on its desired configuration, as on AWS.
            group.launch_template_version = group.provided_launch_template_version = str(desired["Version"])
        version = current_version(group)
        for state in group.instance_states:
            state.launch_template_version_number = version
        now = datetime.now(UTC)
        refresh = {
            "InstanceRefreshId": str(uuid.uuid4()),
            "AutoScalingGroupName": group_name,
            "Strategy": request.get("Strategy") or "Rolling",
            "Status": "Successful",
            "StatusReason": "Emulated: reported finished at once; no instance was replaced.",
            "StartTime": now,
            "EndTime": now,
            "PercentageComplete": 100,
            "InstancesToUpdate": 0,
            "Preferences": request.get("Preferences") or {},
        }
        if request.get("DesiredConfiguration"):
            refresh["DesiredConfiguration"] = request["DesiredConfiguration"]
        history.insert(0, refresh)
        return refresh["InstanceRefreshId"]

    def respond_start_instance_refresh(self: Any) -> ActionResult:
        params = self._get_params()
        refresh_id = self.autoscaling_backend.start_instance_refresh(params.get("AutoScalingGroupName"), params)
        return ActionResult({"InstanceRefreshId": refresh_id})

    def respond_describe_instance_refreshes(self: Any) -> ActionResult:
        history = refreshes(self.autoscaling_backend, self._get_param("AutoScalingGroupName"))
        wanted = self._get_param("InstanceRefreshIds") or []
        found = [r for r in history if not wanted or r["InstanceRefreshId"] in wanted]
        return ActionResult({"InstanceRefreshes": found})

    def respond_cancel_instance_refresh(self: Any) -> ActionResult:
        # Every refresh here is finished when it is reported, so none can be cancelled.
        group_name = self._get_param("AutoScalingGroupName")
        refreshes(self.autoscaling_backend, group_name)  # an unknown group is a ValidationError
        raise ActiveInstanceRefreshNotFound(f"No in progress or pending Instance Refresh found for {group_name}")

    InstanceState.__init__ = instance_state_init
    InstanceState.launch_template = property(instance_launch_template)
    AutoScalingBackend.start_instance_refresh = start_instance_refresh
    AutoScalingResponse.start_instance_refresh = respond_start_instance_refresh
    AutoScalingResponse.describe_instance_refreshes = respond_describe_instance_refreshes
    AutoScalingResponse.cancel_instance_refresh = respond_cancel_instance_refresh


# AWS's public parameters naming the latest Debian 12 AMIs (Debian publishes
# them under the codename and the version number). moto has no Debian image:
# they point at AMIs moto loads in every region (Amazon Linux 2 x86_64 and
# Amazon Linux 2022 arm64), so a launch template built from them works here.
DEBIAN_AMI_PARAMETERS = {
    "/aws/service/debian/release/bookworm/latest/amd64": "ami-04681a1dbd79675a5",
    "/aws/service/debian/release/bookworm/latest/arm64": "ami-0e9271c829888680e",
    "/aws/service/debian/release/12/latest/amd64": "ami-04681a1dbd79675a5",
    "/aws/service/debian/release/12/latest/arm64": "ami-0e9271c829888680e",
}


# Not AWS: the tests' way to play Debian publishing a new image. A POST of
# {"name": <one of DEBIAN_AMI_PARAMETERS>, "value": <AMI id>} gives the
# parameter a new version, in every account and region.
PUBLISH_DEBIAN_AMI = "/webstack-emulator/publish-debian-ami"


def publish_debian_ami(name: str, value: str) -> None:
    """Give a Debian AMI parameter a new version holding ``value`` (as Debian does when it publishes an image)."""
    from collections import defaultdict

    from moto.core.utils import utcnow
    from moto.ssm.models import Parameter, ssm_backends

    if name not in DEBIAN_AMI_PARAMETERS:
        raise KeyError(name)
    DEBIAN_AMI_PARAMETERS[name] = value
    for account_id, regions in list(ssm_backends.items()):
        for backend in list(regions.values()):
            parameters = backend._parameters
            if not getattr(parameters, "debian_amis_loaded", False):
                continue  # seeded with the new value when first asked for
            versions = defaultdict.__getitem__(parameters, name)
            versions.append(
                Parameter(
                    account_id=account_id,
                    name=name,
                    value=value,
                    parameter_type="String",
                    description=None,
                    allowed_pattern=None,
                    keyid=None,
                    last_modified_date=utcnow(),
                    version=len(versions) + 1,
                    data_type="aws:ec2:image",
                )
            )


def seed_debian_ami_parameters() -> None:
    """Answer GetParameter(s) and GetParametersByPath for DEBIAN_AMI_PARAMETERS, in every account and region.

    moto refuses PutParameter on names under /aws/ and loads AWS's public
    parameters lazily (Amazon Linux AMIs, regions, services) the first time a
    name under their prefix is asked for; the Debian ones join that mechanism:
    the first request for a name under /aws/service/debian adds them, version
    1, type String, data type aws:ec2:image. Nothing else of SSM changes.
    """
    from collections import defaultdict

    from moto.core.utils import utcnow
    from moto.ssm.models import Parameter, ParameterDict

    moto_check_loading_status = ParameterDict._check_loading_status

    def check_loading_status(self: Any, key: str) -> None:
        moto_check_loading_status(self, key)
        if str(key or "").startswith("/aws/service/debian") and not getattr(self, "debian_amis_loaded", False):
            self.debian_amis_loaded = True
            for name, ami_id in DEBIAN_AMI_PARAMETERS.items():
                # The plain dict's item: ParameterDict.__getitem__ would come back here.
                defaultdict.__getitem__(self, name).append(
                    Parameter(
                        account_id=self.account_id,
                        name=name,
                        value=ami_id,
                        parameter_type="String",
                        description=None,
                        allowed_pattern=None,
                        keyid=None,
                        last_modified_date=utcnow(),
                        version=1,
                        data_type="aws:ec2:image",
                    )
                )

    ParameterDict._check_loading_status = check_loading_status


# What DescribeLoadBalancerAttributes reports for a new ALB on AWS, where moto
# reports only five keys (the collection's elb_application_lb reads the others).
ALB_DEFAULT_ATTRIBUTES = {
    "access_logs.s3.enabled": "false",
    "idle_timeout.timeout_seconds": "60",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.preserve_host_header.enabled": "false",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "routing.http.xff_header_processing.mode": "append",
    "routing.http2.enabled": "true",
    "waf.fail_open.enabled": "false",
}


# ElastiCache's rules for an AUTH token (API reference, CreateReplicationGroup's
# AuthToken): printable ASCII, 16 to 128 characters, none of / " @.
AUTH_TOKEN_FORBIDDEN = set('/"@')
AUTH_TOKEN_STRATEGIES = ("SET", "ROTATE", "DELETE")


def auth_token_problem(token: str) -> str | None:
    """Why ElastiCache would refuse this AUTH token, or None when it would take it."""
    if not 16 <= len(token) <= 128:
        return f"Invalid AuthToken provided: it has {len(token)} characters, ElastiCache wants 16 to 128."
    if any(not (32 < ord(char) < 127) or char in AUTH_TOKEN_FORBIDDEN for char in token):
        return 'Invalid AuthToken provided: only printable ASCII characters other than /, " and @ are allowed.'
    return None


def patch_replication_group_auth_token() -> None:
    """ModifyReplicationGroup changes a group's AUTH tokens as ElastiCache does (E45).

    moto 5.2.5 keeps no token and ignores AuthToken and AuthTokenUpdateStrategy
    on ModifyReplicationGroup. Here each group keeps the tokens that are valid:
    ROTATE (the default when only AuthToken is given) adds the new token beside
    the newest one (both valid, never more than two); SET, allowed only after
    a ROTATE, leaves only the new one. A token of the wrong format, an unknown
    strategy, a strategy without a token, or a token on a group without
    in-transit encryption is refused with AWS's error before anything of the
    request is applied. AuthTokenEnabled turns true and
    AuthTokenLastModifiedDate is the time of the change in
    DescribeReplicationGroups. DELETE (moving to RBAC user groups) is refused:
    nothing here needs it. The tokens a group holds are `group.auth_tokens`
    (the emulator's own attribute, never answered).
    """
    from moto.core.utils import utcnow
    from moto.elasticache.exceptions import (
        InvalidParameterCombinationException,
        InvalidParameterValueException,
        ReplicationGroupNotFound,
    )
    from moto.elasticache.models import ReplicationGroup
    from moto.elasticache.responses import ElastiCacheResponse

    moto_init = ReplicationGroup.__init__
    moto_modify = ElastiCacheResponse.modify_replication_group

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        moto_init(self, *args, **kwargs)
        token = kwargs.get("auth_token")
        self.auth_tokens = [token] if token else []

    def new_tokens(group: Any, token: str | None, strategy: str | None) -> list[str] | None:
        """The tokens the group will hold, or None when the request does not touch them."""
        if token is None and strategy is None:
            return None
        if strategy is not None and strategy not in AUTH_TOKEN_STRATEGIES:
            raise InvalidParameterValueException(
                f"Invalid AuthTokenUpdateStrategy {strategy!r}: expected one of {', '.join(AUTH_TOKEN_STRATEGIES)}."
            )
        if strategy == "DELETE":
            raise InvalidParameterCombinationException(
                "AuthTokenUpdateStrategy DELETE is allowed only when moving to user groups (RBAC)."
            )
        if token is None:
            raise InvalidParameterCombinationException("AuthTokenUpdateStrategy must be specified with AuthToken.")
        problem = auth_token_problem(token)
        if problem:
            raise InvalidParameterValueException(problem)
        if not group.transit_encryption_enabled:
            raise InvalidParameterCombinationException(
                "AuthToken can be set only on a replication group with in-transit encryption enabled."
            )
        held = list(getattr(group, "auth_tokens", []))
        if strategy == "SET":
            if len(held) < 2:
                raise InvalidParameterCombinationException("AuthTokenUpdateStrategy SET is allowed only after ROTATE.")
            return [token]
        return held if token in held else [*held[-1:], token]

    def modify_replication_group(self: Any) -> Any:
        group_id = self._get_param("ReplicationGroupId")
        group = self.elasticache_backend.replication_groups.get(group_id)
        if group is None:
            raise ReplicationGroupNotFound(group_id)
        tokens = new_tokens(group, self._get_param("AuthToken"), self._get_param("AuthTokenUpdateStrategy"))
        if tokens is not None:
            group.auth_tokens = tokens
            group.auth_token_enabled = True
            group.auth_token_last_modified_date = utcnow()
        return moto_modify(self)

    ReplicationGroup.__init__ = init
    ElastiCacheResponse.modify_replication_group = modify_replication_group


def patch_secret_current_version() -> None:
    """GetSecretValue answers the version AWSCURRENT labels, also after UpdateSecretVersionStage moved it (E45).

    moto 5.2.5 answers GetSecretValue without a version from the secret's
    default version, which only PutSecretValue (and creation) set: once
    UpdateSecretVersionStage moves AWSCURRENT to another version, as a
    rotation does, the labels say the new value is current while GetSecretValue
    and the lookups still hand out the old one. Here moving AWSCURRENT makes
    that version the default, as AWS's answer follows the label.
    """
    from moto.secretsmanager.models import SecretsManagerBackend

    moto_update = SecretsManagerBackend.update_secret_version_stage

    def update_secret_version_stage(
        self: Any, secret_id: str, version_stage: str, remove_from_version_id: str, move_to_version_id: str
    ) -> Any:
        answer = moto_update(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].default_version_id = move_to_version_id
        return answer

    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage


def patch_load_balancer_attributes() -> None:
    """A new application load balancer starts with AWS's attribute defaults.

    moto 5.2.5 answers DescribeLoadBalancerAttributes with only the attributes
    set so far; AWS lists every attribute with its default. Network load
    balancers and what moto already sets are left alone.
    """
    from moto.elbv2.models import FakeLoadBalancer

    moto_init = FakeLoadBalancer.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        moto_init(self, *args, **kwargs)
        if self.type == "application":
            for key, value in ALB_DEFAULT_ATTRIBUTES.items():
                self.attrs.setdefault(key, value)

    FakeLoadBalancer.__init__ = init


# What AWS answers for a version DeleteLaunchTemplateVersions cannot find.
VERSION_NOT_FOUND = {
    "Code": "launchTemplateVersionDoesNotExist",
    "Message": "The launch template version does not exist.",
}


def patch_certificate_users() -> None:
    """A certificate stops being in use when the listener that used it goes.

    moto 5.2.5 adds a listener to the certificate's InUseBy when the listener
    is created with it, and never removes it: DeleteCertificate then fails
    with ResourceInUseException forever after the load balancer is deleted.
    AWS drops the user when the listener (or its load balancer) is deleted.
    """
    from moto.acm.models import acm_backends
    from moto.elbv2.models import ELBv2Backend

    def forget(account_id: str, region: str, listener_arns: set[str]) -> None:
        for certificate in acm_backends[account_id][region]._certificates.values():
            certificate.in_use_by = [user for user in certificate.in_use_by if user not in listener_arns]

    moto_delete_load_balancer = ELBv2Backend.delete_load_balancer
    moto_delete_listener = ELBv2Backend.delete_listener

    def delete_load_balancer(self: Any, arn: str) -> None:
        load_balancer = self.load_balancers.get(arn)
        moto_delete_load_balancer(self, arn)
        if load_balancer is not None:
            forget(self.account_id, self.region_name, set(load_balancer.listeners))

    def delete_listener(self: Any, listener_arn: str) -> Any:
        listener = moto_delete_listener(self, listener_arn)
        forget(self.account_id, self.region_name, {listener_arn})
        return listener

    ELBv2Backend.delete_load_balancer = delete_load_balancer
    ELBv2Backend.delete_listener = delete_listener


def patch_launch_templates() -> None:
    """Launch template versions kept as AWS keeps them, and DeleteLaunchTemplateVersions (moto 5.2.5 has none).

    - CreateLaunchTemplateVersion decodes UserData as CreateLaunchTemplate
      does (moto.ec2.utils.parse_user_data). moto keeps a new version's
      UserData as sent, and an Auto Scaling group launching from such a
      version then fails with HTTP 500.
    - Version numbers are never reused, as on AWS: a new version takes the
      highest number the template ever had plus one, and a version is found by
      its number (moto finds it by its position in a list, and numbers it by
      the list's length, which deleting a version would break).
      DescribeLaunchTemplateVersions with MinVersion/MaxVersion selects by
      number too.
    - DeleteLaunchTemplateVersions (LaunchTemplateId or LaunchTemplateName,
      not both; up to 200 version numbers): deletes the versions found,
      reports each in SuccessfullyDeletedLaunchTemplateVersions, and each
      number the template lacks in UnsuccessfullyDeletedLaunchTemplateVersions
      (ResponseError launchTemplateVersionDoesNotExist). A request naming the
      default version is refused whole with InvalidParameterValue and deletes
      nothing. An unknown template is moto's usual not-found error.
    - DeleteLaunchTemplate removes the template with all its versions (moto
      already does) and also its tags, which moto kept in DescribeTags.
    """
    from moto.core.responses import ActionResult
    from moto.ec2.exceptions import (
        InvalidLaunchTemplateVersionNotFound,
        InvalidParameterCombination,
        InvalidParameterValue,
        MissingParameterError,
    )
    from moto.ec2.models.launch_templates import LaunchTemplate, LaunchTemplateBackend, LaunchTemplateVersion
    from moto.ec2.responses.launch_templates import LaunchTemplates
    from moto.ec2.utils import parse_user_data

    def create_version(self: Any, data: dict[str, Any], description: str) -> Any:
        if isinstance(data.get("UserData"), str | bytes):
            data["UserData"] = parse_user_data(data["UserData"])
        number = getattr(self, "highest_version_number", len(self.versions)) + 1
        self.highest_version_number = number
        version = LaunchTemplateVersion(self, number, data, description)
        self.versions.append(version)
        return version

    def get_version(self: Any, num: Any) -> Any:
        if str(num).lower() == "$latest":
            return self.versions[-1]
        if str(num).lower() == "$default":
            return self.default_version()
        for version in self.versions:
            if str(version.number) == str(num).strip():
                return version
        raise InvalidLaunchTemplateVersionNotFound(template_id=self.id, version=num)

    def default_version(self: Any) -> Any:
        return self.get_version(self.default_version_number)

    moto_describe_versions = LaunchTemplateBackend.describe_launch_template_versions

    def describe_launch_template_versions(
        self: Any,
        template_name: str,
        template_id: str,
        versions: list[str],
        min_version: int,
        max_version: int,
        max_results: int,
    ) -> list[tuple[Any, Any]]:
        if versions or not (min_version or max_version) or not (template_name or template_id):
            return moto_describe_versions(
                self, template_name, template_id, versions, min_version, max_version, max_results
            )
        if template_name:
            template = self.get_launch_template_by_name(template_name)
        else:
            template = self.get_launch_template(template_id)
        found = [
            (template, version)
            for version in template.versions
            if (not min_version or version.number >= min_version) and (not max_version or version.number <= max_version)
        ]
        return found[:max_results]

    def template_for(backend: Any, name: str | None, template_id: str | None) -> Any:
        if name and template_id:
            raise InvalidParameterCombination(
                "Either provide launch template ID or launch template name, but not both."
            )
        if name:
            return backend.get_launch_template_by_name(name)
        if template_id:
            return backend.get_launch_template(template_id)
        raise MissingParameterError("launch template ID or launch template name")

    def delete_launch_template_versions(
        self: Any, name: str | None, template_id: str | None, versions: list[str]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        template = template_for(self, name, template_id)
        if not versions:
            raise MissingParameterError("LaunchTemplateVersion")
        if len(versions) > 200:
            raise InvalidParameterValue("You can specify up to 200 launch template version numbers.")
        try:
            numbers = [int(str(v).strip()) for v in versions]
        except ValueError:
            raise InvalidParameterValue(f"Invalid launch template version numbers: {', '.join(versions)}.") from None
        if template.default_version_number in numbers:
            raise InvalidParameterValue(
                "The default version cannot be deleted. Either specify another version as default "
                "or delete the launch template."
            )
        deleted, missing = [], []
        for number in numbers:
            item = {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "VersionNumber": number}
            version = next((v for v in template.versions if v.number == number), None)
            if version is None:
                missing.append({**item, "ResponseError": dict(VERSION_NOT_FOUND)})
            else:
                template.versions.remove(version)
                deleted.append(item)
        return deleted, missing

    def respond_delete_launch_template_versions(self: Any) -> ActionResult:
        name = self._get_param("LaunchTemplateName")
        template_id = self._get_param("LaunchTemplateId")
        versions = self._get_param("Versions", [])
        self.error_on_dryrun()
        deleted, missing = self.ec2_backend.delete_launch_template_versions(name, template_id, versions)
        return ActionResult(
            {
                "SuccessfullyDeletedLaunchTemplateVersions": deleted,
                "UnsuccessfullyDeletedLaunchTemplateVersions": missing,
            }
        )

    moto_delete_launch_template = LaunchTemplateBackend.delete_launch_template

    def delete_launch_template(self: Any, name: str, tid: str | None) -> Any:
        template = moto_delete_launch_template(self, name, tid)
        self.tags.pop(template.id, None)
        return template

    LaunchTemplate.create_version = create_version
    LaunchTemplate.get_version = get_version
    LaunchTemplate.default_version = default_version
    LaunchTemplateBackend.describe_launch_template_versions = describe_launch_template_versions
    LaunchTemplateBackend.delete_launch_template_versions = delete_launch_template_versions
    LaunchTemplateBackend.delete_launch_template = delete_launch_template
    LaunchTemplates.delete_launch_template_versions = respond_delete_launch_template_versions


def serve(port: int) -> None:
    from moto.moto_server.threaded_moto_server import MotoRequestHandler
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    os.environ.setdefault("MOTO_PORT", str(port))
    patch_moto()
    app = DomainDispatcherApplication(create_backend_app)
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    logged = RequestLog(app, directory / "requests.log")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(bind_address(), port, logged, threaded=True, request_handler=MotoRequestHandler)


# --------------------------------------------------------------------------- #
# Commands
# --------------------------------------------------------------------------- #
def start() -> int:
    running = read_state()
    if running:
        print(f"emulator already running: pid {running[0]}, http://{bind_address()}:{running[1]}")
        return 0
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    port = int(os.environ.get("EMULATOR_PORT", DEFAULT_PORT)) or free_port()
    if port_open(port):
        print(f"port {port} is taken by another program; set EMULATOR_PORT", file=sys.stderr)
        return 1
    env = dict(os.environ)
    # AWS-managed policies (AmazonSSMManagedInstanceCore) must exist to be attached.
    env.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    env.setdefault("MOTO_ACM_VALIDATION_WAIT", "1")
    log = (directory / "emulator.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    (directory / "pid").write_text(f"{process.pid}\n")
    (directory / "port").write_text(f"{port}\n")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(f"emulator exited with {process.returncode}; see {directory / 'emulator.log'}", file=sys.stderr)
            return 1
        if port_open(port):
            print(f"emulator running: pid {process.pid}, http://{bind_address()}:{port}")
            return 0
        time.sleep(0.1)
    print(f"emulator did not open port {port} within 30 s; see {directory / 'emulator.log'}", file=sys.stderr)
    return 1


def stop() -> int:
    directory = state_dir()
    try:
        pid = int((directory / "pid").read_text().strip())
    except (OSError, ValueError):
        print("emulator not running")
        return 0
    if pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    for name in ("pid", "port"):
        (directory / name).unlink(missing_ok=True)
    print(f"emulator stopped (pid {pid})")
    return 0


def status() -> int:
    running = read_state()
    if not running:
        print("emulator not running")
        return 3
    print(f"emulator running: pid {running[0]}, http://{bind_address()}:{running[1]}, state in {state_dir()}")
    return 0


def env_exports() -> int:
    running = read_state()
    if not running:
        print("emulator not running; run `scripts/emulator.py start` first", file=sys.stderr)
        return 3
    for key, value in endpoint_env(running[1]).items():
        print(f"export {key}={value}")
    return 0


def endpoint_env(port: int) -> dict[str, str]:
    """The environment that points boto3 (and so every amazon.aws module) at the emulator."""
    return {
        "AWS_ENDPOINT_URL": f"http://{bind_address()}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": DEFAULT_REGION,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop", "status", "env", "serve"])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port for `serve`")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.command == "serve":
        serve(args.port)
        return 0
    return {"start": start, "stop": stop, "status": status, "env": env_exports}[args.command]()


if __name__ == "__main__":
    sys.exit(main())
