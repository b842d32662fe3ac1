#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secretsmanager_secret_rotation
short_description: Move an AWS Secrets Manager secret through a rotation with the AWSPENDING and AWSCURRENT labels
description:
  - The two ends of a rotation done by a playbook rather than by a rotation Lambda function, with the
    staging labels AWS's own rotation uses, so that a run interrupted halfway is finished by the next one
    and no value is lost.
  - V(pending) stores O(secret_string) as a new version labelled C(AWSPENDING) (C(PutSecretValue)), unless
    a rotation is already under way (a version other than the current one holds C(AWSPENDING)); that
    version is then kept and reported, and O(secret_string) is not used. Set the pending value on the resource
    the secret protects after this step.
  - V(current) finishes the rotation once the resource uses the pending value. C(AWSCURRENT) moves to the
    pending version (AWS moves C(AWSPREVIOUS) to the version it leaves), and C(AWSPENDING) is removed
    (C(UpdateSecretVersionStage)). With no rotation under way it changes nothing.
  - No secret value is ever returned; read the pending one with the C(amazon.aws.secretsmanager_secret)
    lookup and RV(version_id).
author:
  - webstack maintainers (!UNKNOWN)
options:
  secret_id:
    description:
      - The name or ARN of the secret. It must exist.
    type: str
    required: true
  stage:
    description:
      - Which end of the rotation to reach, see the description.
    type: str
    choices: [pending, current]
    required: true
  secret_string:
    description:
      - The new value, stored as C(AWSPENDING) when O(stage=pending) and no rotation is under way.
        Required when O(stage=pending).
    type: str
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reads the labels and reports whether they would change, without writing.
    support: full
  diff_mode:
    description: Shows the versions' labels before and after (never the values).
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure a new MySQL password waits as AWSPENDING (or reuse the one an interrupted run left)
  webstack.aws.secretsmanager_secret_rotation:
    secret_id: webstack-prod/mysql/master
    stage: pending
    secret_string: "{{ {'username': 'admin', 'password': new_password} | to_json }}"
  register: pending
  no_log: true

# ... set the pending value on the database, read with
# lookup('amazon.aws.secretsmanager_secret', 'webstack-prod/mysql/master', version_id=pending.version_id) ...

- name: Ensure the secret's current value is the one the database now uses
  webstack.aws.secretsmanager_secret_rotation:
    secret_id: webstack-prod/mysql/master
    stage: current
"""

RETURN = r"""
version_id:
  description:
    - With O(stage=pending), the version labelled C(AWSPENDING) (null in check mode when it would be created).
    - With O(stage=current), the version labelled C(AWSCURRENT) afterwards.
  returned: always
  type: str
resumed:
  description: With O(stage=pending), whether a rotation an earlier run started was found and kept.
  returned: always
  type: bool
stages:
  description: The labels of each version afterwards, by version id (in check mode, before).
  returned: always
  type: dict
  sample: {"3f1e...": ["AWSCURRENT"], "9a0b...": ["AWSPREVIOUS"]}
"""

import uuid
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, call, exit_with_result

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"


def labelled(stages: dict[str, list[str]], label: str) -> str | None:
    return next((version for version, labels in stages.items() if label in labels), None)


def read_stages(module: AnsibleAWSModule, client: Any, secret_id: str) -> dict[str, list[str]]:
    secret = call(
        module,
        client.describe_secret,
        f"Failed to describe secret {secret_id}",
        ["ResourceNotFoundException"],
        SecretId=secret_id,
    )
    if secret is None:
        module.fail_json(msg=f"Secret {secret_id} does not exist; a rotation needs an existing secret")
    return {version: list(labels) for version, labels in (secret.get("VersionIdsToStages") or {}).items()}


def move_label(module: AnsibleAWSModule, client: Any, secret_id: str, label: str, **request: str) -> None:
    call(
        module,
        client.update_secret_version_stage,
        f"Failed to move the label {label} of secret {secret_id}",
        SecretId=secret_id,
        VersionStage=label,
        **request,
    )


def ensure_pending(module: AnsibleAWSModule, client: Any, secret_id: str, stages: dict[str, list[str]]) -> None:
    current, pending = labelled(stages, CURRENT), labelled(stages, PENDING)
    if pending is not None and pending != current:
        exit_with_result(module, False, stages, stages, version_id=pending, resumed=True, stages=stages)
    if module.check_mode:
        exit_with_result(
            module, True, stages, {**stages, "(new)": [PENDING]}, version_id=None, resumed=False, stages=stages
        )
    # AWS moves AWSPENDING off any other version (one left on the current version by a rotation that
    # did not clean up) to the new one.
    response = call(
        module,
        client.put_secret_value,
        f"Failed to store the pending value of secret {secret_id}",
        SecretId=secret_id,
        SecretString=module.params["secret_string"],
        VersionStages=[PENDING],
        ClientRequestToken=str(uuid.uuid4()),
    )
    after = read_stages(module, client, secret_id)
    exit_with_result(module, True, stages, after, version_id=response["VersionId"], resumed=False, stages=after)


def ensure_current(module: AnsibleAWSModule, client: Any, secret_id: str, stages: dict[str, list[str]]) -> None:
    current, pending = labelled(stages, CURRENT), labelled(stages, PENDING)
    if pending is None:
        exit_with_result(module, False, stages, stages, version_id=current, resumed=False, stages=stages)
    after = {version: [label for label in labels if label != PENDING] for version, labels in stages.items()}
    if pending != current:
        after = {
            version: [label for label in labels if label not in (CURRENT, "AWSPREVIOUS")]
            for version, labels in after.items()
        }
        after[pending].insert(0, CURRENT)
        if current is not None:
            after[current].append("AWSPREVIOUS")
    if module.check_mode:
        exit_with_result(module, True, stages, after, version_id=pending, resumed=False, stages=stages)
    if pending != current:
        request = {"MoveToVersionId": pending}
        if current is not None:
            request["RemoveFromVersionId"] = current
        move_label(module, client, secret_id, CURRENT, **request)
    move_label(module, client, secret_id, PENDING, RemoveFromVersionId=pending)
    after = read_stages(module, client, secret_id)
    exit_with_result(module, True, stages, after, version_id=labelled(after, CURRENT), resumed=False, stages=after)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            secret_id=dict(type="str", required=True),
            stage=dict(type="str", choices=["pending", "current"], required=True),
            secret_string=dict(type="str", no_log=True),
        ),
        required_if=[("stage", "pending", ["secret_string"])],
        supports_check_mode=True,
    )
    secret_id = module.params["secret_id"]
    client = aws_client(module, "secretsmanager")
    stages = read_stages(module, client, secret_id)
    if module.params["stage"] == "pending":
        ensure_pending(module, client, secret_id, stages)
    else:
        ensure_current(module, client, secret_id, stages)


if __name__ == "__main__":
    main()
