#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cognito_user_pool
short_description: Manage an Amazon Cognito user pool
description:
  - Create, update and delete an Amazon Cognito user pool, found by its O(name).
  - Cognito allows several pools with one name; when more than one pool carries O(name)
    the module fails rather than guess which one to manage.
  - Options left unset keep their current value on an existing pool and get the AWS
    default on a new one.
  - UpdateUserPool resets every setting left out of the request, so an update sends the
    pool's whole current configuration with the changed settings in it; settings this
    module does not manage (Lambda triggers, email and SMS configuration, message templates)
    are carried over as AWS describes them.
  - A pool with a domain cannot be deleted; remove the domain first with
    M(webstack.aws.cognito_user_pool_domain).
author:
  - webstack maintainers (!UNKNOWN)
options:
  name:
    description:
      - The name of the user pool, used to find it.
    type: str
    required: true
  state:
    description:
      - Whether the user pool should exist.
    type: str
    choices: [present, absent]
    default: present
  password_policy:
    description:
      - The password policy. Suboptions left unset keep their current value.
      - A new pool gets AWS's defaults for the suboptions left unset.
    type: dict
    suboptions:
      min_length:
        description: Minimum password length (6 to 99). AWS default V(8).
        type: int
      require_uppercase:
        description: Require an uppercase letter. AWS default V(true).
        type: bool
      require_lowercase:
        description: Require a lowercase letter. AWS default V(true).
        type: bool
      require_numbers:
        description: Require a number. AWS default V(true).
        type: bool
      require_symbols:
        description: Require a symbol. AWS default V(true).
        type: bool
      temporary_password_validity_days:
        description: Days a temporary password set by an administrator stays valid. AWS default V(7).
        type: int
  mfa_configuration:
    description:
      - Whether users sign in with multi-factor authentication.
      - V(ON) and V(OPTIONAL) need an MFA method; this module manages software token (TOTP) MFA.
      - A new pool gets V(OFF).
      - Quote V(ON) and V(OFF) in YAML, or they read as booleans.
    type: str
    choices: ["OFF", "ON", "OPTIONAL"]
  software_token_mfa_enabled:
    description:
      - Whether software token (TOTP) MFA is enabled.
      - When unset and O(mfa_configuration) is V(ON) or V(OPTIONAL), it is enabled unless the
        pool already has SMS or email MFA; otherwise the current setting is kept.
    type: bool
  deletion_protection:
    description:
      - Whether the pool refuses to be deleted. A new pool gets V(INACTIVE).
    type: str
    choices: [ACTIVE, INACTIVE]
  force_deletion_protection_off:
    description:
      - With O(state=absent), turn deletion protection off before deleting the pool.
      - Without it, deleting a pool whose deletion protection is V(ACTIVE) fails.
    type: bool
    default: false
  auto_verified_attributes:
    description:
      - The attributes Cognito verifies by sending a code. A new pool verifies none.
    type: list
    elements: str
    choices: [email, phone_number]
  username_attributes:
    description:
      - The attributes users may sign in with instead of a user name.
      - Fixed when the pool is created; asking an existing pool for other values fails.
    type: list
    elements: str
    choices: [email, phone_number]
  admin_create_user_only:
    description:
      - Whether only administrators may create users (no self sign-up). A new pool gets V(false).
    type: bool
  account_recovery:
    description:
      - How users recover their account, most preferred first.
      - An empty list leaves the choice to Cognito's legacy behaviour.
    type: list
    elements: str
    choices: [verified_email, verified_phone_number, admin_only]
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reads the pool and reports what would be created, updated or deleted, without writing.
    support: full
  diff_mode:
    description: Shows the pool's managed settings and tags before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the staging user pool exists with TOTP MFA and deletion protection
  webstack.aws.cognito_user_pool:
    name: webstack-staging
    password_policy:
      min_length: 12
      temporary_password_validity_days: 3
    mfa_configuration: OPTIONAL
    software_token_mfa_enabled: true
    deletion_protection: ACTIVE
    auto_verified_attributes: [email]
    username_attributes: [email]
    admin_create_user_only: true
    account_recovery: [verified_email]
    tags:
      Environment: staging
  register: webstack_pool

- name: Ensure the staging user pool is gone, deletion protection included
  webstack.aws.cognito_user_pool:
    name: webstack-staging
    state: absent
    force_deletion_protection_off: true
"""

RETURN = r"""
id:
  description: The ID of the user pool.
  returned: when the pool exists
  type: str
  sample: us-east-1_AbCdEfGhI
arn:
  description: The ARN of the user pool.
  returned: when the pool exists
  type: str
  sample: arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEfGhI
name:
  description: The name of the user pool.
  returned: always
  type: str
  sample: webstack-staging
user_pool:
  description:
    - The user pool as DescribeUserPool returns it, in snake_case, with its tags under RV(user_pool.tags).
    - RV(user_pool.mfa_configuration) and RV(user_pool.software_token_mfa_enabled) come from GetUserPoolMfaConfig.
    - Empty when the pool is absent or would be created in check mode.
  returned: always
  type: dict
  contains:
    id:
      description: The ID of the user pool.
      type: str
      sample: us-east-1_AbCdEfGhI
    arn:
      description: The ARN of the user pool.
      type: str
    name:
      description: The name of the user pool.
      type: str
    policies:
      description: The password policy and sign-in policy.
      type: dict
      sample: {"password_policy": {"minimum_length": 12, "require_symbols": true}}
    mfa_configuration:
      description: V(OFF), V(ON) or V(OPTIONAL).
      type: str
    software_token_mfa_enabled:
      description: Whether software token MFA is enabled.
      type: bool
    deletion_protection:
      description: V(ACTIVE) or V(INACTIVE).
      type: str
    auto_verified_attributes:
      description: The attributes Cognito verifies.
      type: list
      elements: str
    username_attributes:
      description: The attributes users sign in with.
      type: list
      elements: str
    admin_create_user_config:
      description: Whether only administrators create users, and the invitation template.
      type: dict
    account_recovery_setting:
      description: The recovery mechanisms with their priority.
      type: dict
    domain:
      description: The pool's prefix domain, if any.
      type: str
    tags:
      description: The pool's tags.
      type: dict
      sample: {"Environment": "staging"}
"""

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.cognito import (
    carried_over,
    cognito_client,
    describe_user_pool,
    differences,
    find_user_pool_by_name,
    overlay,
    snake_resource,
    sorted_list,
)
from ansible_collections.webstack.aws.plugins.module_utils.core import call, exit_with_result
from ansible_collections.webstack.aws.plugins.module_utils.tags import desired_tags

# Option name -> PasswordPolicy key.
PASSWORD_POLICY_KEYS = {
    "min_length": "MinimumLength",
    "require_uppercase": "RequireUppercase",
    "require_lowercase": "RequireLowercase",
    "require_numbers": "RequireNumbers",
    "require_symbols": "RequireSymbols",
    "temporary_password_validity_days": "TemporaryPasswordValidityDays",
}

# What AWS gives a pool created without these settings.
AWS_DEFAULTS = {
    "password_policy": {
        "min_length": 8,
        "require_uppercase": True,
        "require_lowercase": True,
        "require_numbers": True,
        "require_symbols": True,
        "temporary_password_validity_days": 7,
    },
    "mfa_configuration": "OFF",
    "software_token_mfa_enabled": False,
    "deletion_protection": "INACTIVE",
    "auto_verified_attributes": [],
    "username_attributes": [],
    "admin_create_user_only": False,
    "account_recovery": [],
    "tags": {},
}

# Options compared with the pool; the rest steer the module.
MANAGED_OPTIONS = [
    "password_policy",
    "mfa_configuration",
    "software_token_mfa_enabled",
    "deletion_protection",
    "auto_verified_attributes",
    "username_attributes",
    "admin_create_user_only",
    "account_recovery",
]

# Superseded by VerificationMessageTemplate; sending both can conflict.
LEGACY_MESSAGE_KEYS = ["EmailVerificationMessage", "EmailVerificationSubject", "SmsVerificationMessage"]


def pool_view(pool: dict[str, Any], mfa: dict[str, Any]) -> dict[str, Any]:
    """The pool's managed settings, shaped like the module's options."""
    password_policy = pool.get("Policies", {}).get("PasswordPolicy", {})
    mechanisms = pool.get("AccountRecoverySetting", {}).get("RecoveryMechanisms", [])
    return {
        "password_policy": {
            option: password_policy.get(key, AWS_DEFAULTS["password_policy"][option])
            for option, key in PASSWORD_POLICY_KEYS.items()
        },
        "mfa_configuration": mfa.get("MfaConfiguration", "OFF"),
        "software_token_mfa_enabled": mfa.get("SoftwareTokenMfaConfiguration", {}).get("Enabled", False),
        "deletion_protection": pool.get("DeletionProtection", "INACTIVE"),
        "auto_verified_attributes": sorted_list(pool.get("AutoVerifiedAttributes")),
        "username_attributes": sorted_list(pool.get("UsernameAttributes")),
        "admin_create_user_only": pool.get("AdminCreateUserConfig", {}).get("AllowAdminCreateUserOnly", False),
        "account_recovery": [item["Name"] for item in sorted(mechanisms, key=lambda item: item["Priority"])],
        "tags": pool.get("UserPoolTags", {}),
    }


def has_other_mfa_method(mfa: dict[str, Any]) -> bool:
    return bool(mfa.get("SmsMfaConfiguration") or mfa.get("EmailMfaConfiguration"))


def desired_view(params: dict[str, Any], current: dict[str, Any], mfa: dict[str, Any]) -> dict[str, Any]:
    """The settings the pool should have: ``current`` with the options the user set."""
    desired = overlay(current, params, MANAGED_OPTIONS)
    for key in ("auto_verified_attributes", "username_attributes"):
        desired[key] = sorted_list(desired[key])
    if (
        params["software_token_mfa_enabled"] is None
        and desired["mfa_configuration"] != "OFF"
        and not has_other_mfa_method(mfa)
    ):
        desired["software_token_mfa_enabled"] = True
    desired["tags"] = desired_tags(current["tags"], params["tags"], params["purge_tags"])
    return desired


def check_request(module: AnsibleAWSModule, current: dict[str, Any] | None, desired: dict, mfa: dict) -> None:
    """Fail on what AWS cannot do, before calling it."""
    if current is not None and desired["username_attributes"] != current["username_attributes"]:
        module.fail_json(
            msg="username_attributes cannot change once a user pool exists: "
            f"the pool has {current['username_attributes']}, the task asks for {desired['username_attributes']}"
        )
    if (
        desired["mfa_configuration"] != "OFF"
        and not desired["software_token_mfa_enabled"]
        and not has_other_mfa_method(mfa)
    ):
        module.fail_json(
            msg=f"mfa_configuration {desired['mfa_configuration']} needs an MFA method: "
            "set software_token_mfa_enabled: true (the pool has no SMS or email MFA)"
        )


def password_policy_request(policy: dict[str, Any]) -> dict[str, Any]:
    return {key: policy[option] for option, key in PASSWORD_POLICY_KEYS.items()}


def recovery_request(mechanisms: list[str]) -> dict[str, Any] | None:
    if not mechanisms:
        return None
    return {"RecoveryMechanisms": [{"Priority": i, "Name": name} for i, name in enumerate(mechanisms, start=1)]}


def settings_request(desired: dict[str, Any]) -> dict[str, Any]:
    """The request keys for the settings CreateUserPool and UpdateUserPool share."""
    request = {
        "DeletionProtection": desired["deletion_protection"],
        "AutoVerifiedAttributes": desired["auto_verified_attributes"],
        "AccountRecoverySetting": recovery_request(desired["account_recovery"]),
        "UserPoolTags": desired["tags"],
    }
    return {key: value for key, value in request.items() if value}


def create_request(name: str, desired: dict[str, Any]) -> dict[str, Any]:
    """CreateUserPool's arguments. MFA is set afterwards: the software token method cannot be set here."""
    request = {
        "PoolName": name,
        "Policies": {"PasswordPolicy": password_policy_request(desired["password_policy"])},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": desired["admin_create_user_only"]},
        "MfaConfiguration": "OFF",
        **settings_request(desired),
    }
    if desired["username_attributes"]:
        request["UsernameAttributes"] = desired["username_attributes"]
    return request


def update_request(client: Any, pool: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """UpdateUserPool's arguments: the whole current configuration with the desired settings in it."""
    drop = LEGACY_MESSAGE_KEYS if "VerificationMessageTemplate" in pool else []
    request = carried_over(client, "UpdateUserPool", pool, drop=drop)
    for key in ("DeletionProtection", "AutoVerifiedAttributes", "AccountRecoverySetting", "UserPoolTags"):
        request.pop(key, None)
    admin_config = {k: v for k, v in pool.get("AdminCreateUserConfig", {}).items() if k != "UnusedAccountValidityDays"}
    admin_config["AllowAdminCreateUserOnly"] = desired["admin_create_user_only"]
    policies = dict(pool.get("Policies", {}))
    policies["PasswordPolicy"] = {
        **policies.get("PasswordPolicy", {}),
        **password_policy_request(desired["password_policy"]),
    }
    request.update(
        UserPoolId=pool["Id"],
        PoolName=pool["Name"],
        Policies=policies,
        AdminCreateUserConfig=admin_config,
        MfaConfiguration=desired["mfa_configuration"],
        **settings_request(desired),
    )
    return request


def mfa_request(pool_id: str, mfa: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """SetUserPoolMfaConfig's arguments, keeping the SMS and email methods the pool has."""
    request = {key: mfa[key] for key in ("SmsMfaConfiguration", "EmailMfaConfiguration") if key in mfa}
    request.update(
        UserPoolId=pool_id,
        MfaConfiguration=desired["mfa_configuration"],
        SoftwareTokenMfaConfiguration={"Enabled": desired["software_token_mfa_enabled"]},
    )
    return request


def get_mfa(module: AnsibleAWSModule, client: Any, pool_id: str) -> dict[str, Any]:
    response = call(
        module,
        client.get_user_pool_mfa_config,
        f"Failed to read the MFA configuration of {pool_id}",
        UserPoolId=pool_id,
    )
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def pool_result(pool: dict[str, Any] | None, mfa: dict[str, Any]) -> dict[str, Any]:
    """The exit values: id, arn and name, and the whole pool in snake_case."""
    if pool is None:
        return {"id": None, "arn": None, "user_pool": {}}
    user_pool = snake_resource(pool, keep=["UserPoolTags"])
    user_pool["tags"] = user_pool.pop("user_pool_tags", {})
    user_pool["mfa_configuration"] = mfa.get("MfaConfiguration", "OFF")
    user_pool["software_token_mfa_enabled"] = mfa.get("SoftwareTokenMfaConfiguration", {}).get("Enabled", False)
    return {"id": pool["Id"], "arn": pool["Arn"], "user_pool": user_pool}


def create_pool(module: AnsibleAWSModule, client: Any, desired: dict[str, Any]) -> None:
    name = module.params["name"]
    if module.check_mode:
        exit_with_result(module, True, {}, desired, name=name, **pool_result(None, {}))
    response = call(
        module, client.create_user_pool, f"Failed to create user pool {name}", **create_request(name, desired)
    )
    pool = response["UserPool"]
    mfa = {"MfaConfiguration": "OFF"}
    if desired["mfa_configuration"] != "OFF" or desired["software_token_mfa_enabled"]:
        call(
            module,
            client.set_user_pool_mfa_config,
            f"Failed to set the MFA configuration of {pool['Id']}",
            **mfa_request(pool["Id"], mfa, desired),
        )
    exit_with_result(module, True, {}, desired, name=name, **pool_result(pool, get_mfa(module, client, pool["Id"])))


def update_pool(
    module: AnsibleAWSModule, client: Any, pool: dict[str, Any], mfa: dict, current: dict, desired: dict
) -> None:
    changed_keys = differences(current, desired)
    mfa_keys = {"mfa_configuration", "software_token_mfa_enabled"}
    if changed_keys and not module.check_mode:
        if mfa_keys & set(changed_keys):
            # First, so that UpdateUserPool may then carry an MFA setting the pool has a method for.
            call(
                module,
                client.set_user_pool_mfa_config,
                f"Failed to set the MFA configuration of {pool['Id']}",
                **mfa_request(pool["Id"], mfa, desired),
            )
        if set(changed_keys) - mfa_keys:
            call(
                module,
                client.update_user_pool,
                f"Failed to update user pool {pool['Id']}",
                **update_request(client, pool, desired),
            )
        pool = describe_user_pool(module, client, pool["Id"])
        mfa = get_mfa(module, client, pool["Id"])
    exit_with_result(module, bool(changed_keys), current, desired, name=pool["Name"], **pool_result(pool, mfa))


def ensure_present(module: AnsibleAWSModule, client: Any, pool: dict[str, Any] | None) -> None:
    if pool is None:
        desired = desired_view(module.params, AWS_DEFAULTS, {})
        check_request(module, None, desired, {})
        create_pool(module, client, desired)
        return
    mfa = get_mfa(module, client, pool["Id"])
    current = pool_view(pool, mfa)
    desired = desired_view(module.params, current, mfa)
    check_request(module, current, desired, mfa)
    update_pool(module, client, pool, mfa, current, desired)


def ensure_absent(module: AnsibleAWSModule, client: Any, pool: dict[str, Any] | None) -> None:
    name = module.params["name"]
    if pool is None:
        exit_with_result(module, False, {}, {}, name=name, **pool_result(None, {}))
    domains = [pool[key] for key in ("Domain", "CustomDomain") if pool.get(key)]
    if domains:
        module.fail_json(
            msg=f"User pool {name} ({pool['Id']}) still has the domain(s) {', '.join(domains)}; "
            "remove them with cognito_user_pool_domain state=absent before deleting the pool"
        )
    protected = pool.get("DeletionProtection") == "ACTIVE"
    if protected and not module.params["force_deletion_protection_off"]:
        module.fail_json(
            msg=f"User pool {name} ({pool['Id']}) has deletion protection ACTIVE; "
            "set force_deletion_protection_off: true to turn it off and delete the pool"
        )
    mfa = get_mfa(module, client, pool["Id"])
    before = pool_view(pool, mfa)
    if not module.check_mode:
        if protected:
            unprotected = {**before, "deletion_protection": "INACTIVE"}
            call(
                module,
                client.update_user_pool,
                f"Failed to turn off deletion protection of {pool['Id']}",
                **update_request(client, pool, unprotected),
            )
        call(module, client.delete_user_pool, f"Failed to delete user pool {pool['Id']}", UserPoolId=pool["Id"])
    exit_with_result(module, True, before, {}, name=name, **pool_result(None, {}))


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        password_policy=dict(
            type="dict",
            options=dict(
                min_length=dict(type="int"),
                require_uppercase=dict(type="bool"),
                require_lowercase=dict(type="bool"),
                require_numbers=dict(type="bool"),
                require_symbols=dict(type="bool"),
                temporary_password_validity_days=dict(type="int", no_log=False),
            ),
            no_log=False,
        ),
        mfa_configuration=dict(type="str", choices=["OFF", "ON", "OPTIONAL"]),
        software_token_mfa_enabled=dict(type="bool", no_log=False),
        deletion_protection=dict(type="str", choices=["ACTIVE", "INACTIVE"]),
        force_deletion_protection_off=dict(type="bool", default=False),
        auto_verified_attributes=dict(type="list", elements="str", choices=["email", "phone_number"]),
        username_attributes=dict(type="list", elements="str", choices=["email", "phone_number"]),
        admin_create_user_only=dict(type="bool"),
        account_recovery=dict(
            type="list", elements="str", choices=["verified_email", "verified_phone_number", "admin_only"]
        ),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = cognito_client(module)
    summary = find_user_pool_by_name(module, client, module.params["name"])
    pool = describe_user_pool(module, client, summary["Id"]) if summary else None
    if module.params["state"] == "present":
        ensure_present(module, client, pool)
    else:
        ensure_absent(module, client, pool)


if __name__ == "__main__":
    main()
