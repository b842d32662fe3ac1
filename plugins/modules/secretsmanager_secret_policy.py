#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secretsmanager_secret_policy
short_description: Manage the resource policy of an AWS Secrets Manager secret, compared as data
description:
  - Put or delete the resource policy of an existing secret (C(GetResourcePolicy), C(PutResourcePolicy),
    C(DeleteResourcePolicy)).
  - The policy is compared as data, not as text. AWS answers C(GetResourcePolicy) with the policy
    reformatted (spaces around colons, a list of one element as that element), so that
    C(community.aws.secretsmanager_secret)'s C(resource_policy), which compares the two texts, reports a
    change on every run against AWS (the emulator echoes the text it was sent). Here lists of one
    element and their element, and the order of lists of strings, compare equal.
  - C(PutResourcePolicy) is called with C(BlockPublicPolicy), so AWS refuses a policy that would grant
    access outside the account.
author:
  - webstack maintainers (!UNKNOWN)
options:
  secret_id:
    description:
      - The name or ARN of the secret. It must exist (in check mode, a missing secret reports the
        policy it would get).
    type: str
    required: true
  policy:
    description:
      - The resource policy, as a dict or a JSON text. Required when O(state=present).
    type: json
  state:
    description:
      - Whether the secret should have O(policy) (V(present)) or no resource policy (V(absent)).
    type: str
    choices: [present, absent]
    default: present
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reads the policy and reports whether it would change, without writing.
    support: full
  diff_mode:
    description: Shows the policy before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure only the environment's instance roles and the deployer read the secret
  webstack.aws.secretsmanager_secret_policy:
    secret_id: webstack-prod/mysql/master
    policy:
      Version: "2012-10-17"
      Statement:
        - Sid: DenyReadingToOthers
          Effect: Deny
          Principal: "*"
          Action: secretsmanager:GetSecretValue
          Resource: "*"
          Condition:
            StringNotLike:
              aws:PrincipalArn:
                - arn:aws:iam::123456789012:role/webstack-prod-*-instance
                - arn:aws:iam::123456789012:role/deployer
"""

RETURN = r"""
policy:
  description: The policy afterwards, as data ({} when none; in check mode, what it would be).
  returned: always
  type: dict
  sample: {"Version": "2012-10-17", "Statement": []}
policy_text:
  description:
    - The policy as the secret holds it, as text, read back after a change ("" when none; in check mode,
      the text before).
    - Give it to C(community.aws.secretsmanager_secret)'s C(resource_policy) on the same secret. That module
      compares texts and deletes any policy it is not given, so only the very text AWS holds keeps it from
      undoing this module's work.
  returned: always
  type: str
"""

import json
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, call, exit_with_result

MISSING = ["ResourceNotFoundException"]


def normal(value: Any) -> Any:
    """A policy in one canonical shape: a list of one element as the element, lists of strings sorted."""
    if isinstance(value, dict):
        return {key: normal(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [normal(item) for item in value]
        if len(items) == 1:
            return items[0]
        if all(isinstance(item, str) for item in items):
            return sorted(items)
        return items
    return value


def parse(module: AnsibleAWSModule, text: str | None, what: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        policy = json.loads(text)
    except ValueError as e:
        module.fail_json(msg=f"{what} is not JSON: {e}")
    if not isinstance(policy, dict) or "Statement" not in policy:
        module.fail_json(msg=f"{what} is not a policy (a JSON object with a Statement), got {text[:200]!r}")
    return policy


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            secret_id=dict(type="str", required=True),
            policy=dict(type="json"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ["policy"])],
        supports_check_mode=True,
    )
    secret_id, present = module.params["secret_id"], module.params["state"] == "present"
    wanted = parse(module, module.params["policy"], "policy") if present else {}
    client = aws_client(module, "secretsmanager")
    response = read(module, client, secret_id)
    if response is None and not module.check_mode:
        module.fail_json(msg=f"Secret {secret_id} does not exist")
    text = (response or {}).get("ResourcePolicy") or ""
    current = parse(module, text, f"The resource policy of {secret_id}")
    if normal(current) == normal(wanted):
        exit_with_result(module, False, current, wanted, policy=current, policy_text=text)
    if not module.check_mode:
        if present:
            call(
                module,
                client.put_resource_policy,
                f"Failed to put the resource policy of {secret_id}",
                SecretId=secret_id,
                ResourcePolicy=json.dumps(wanted),
                BlockPublicPolicy=True,
            )
        else:
            call(
                module,
                client.delete_resource_policy,
                f"Failed to delete the resource policy of {secret_id}",
                SecretId=secret_id,
            )
        text = (read(module, client, secret_id) or {}).get("ResourcePolicy") or ""
    exit_with_result(module, True, current, wanted, policy=wanted, policy_text=text)


def read(module: AnsibleAWSModule, client: Any, secret_id: str) -> dict[str, Any] | None:
    """GetResourcePolicy's answer; None when the secret does not exist."""
    return call(
        module,
        client.get_resource_policy,
        f"Failed to read the resource policy of {secret_id}",
        MISSING,
        SecretId=secret_id,
    )


if __name__ == "__main__":
    main()
