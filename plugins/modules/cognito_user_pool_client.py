#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cognito_user_pool_client
short_description: Manage an app client of an Amazon Cognito user pool
description:
  - Create, update and delete an app client of a Cognito user pool, found by its O(name) within
    the pool. Cognito allows several clients with one name; when more than one carries O(name)
    the module fails rather than guess.
  - UpdateUserPoolClient replaces the client's whole configuration, so an update sends every
    setting, the desired ones and the current value of those the module does not manage
    (read and write attributes, analytics, and so on). It is called only when a managed
    setting differs.
  - Options without a default keep their current value on an existing client and get the AWS
    default on a new one.
  - The client secret never appears in the result or the diff unless O(return_secret=true).
author:
  - webstack maintainers (!UNKNOWN)
options:
  user_pool_id:
    description:
      - The ID of the user pool the client belongs to.
    type: str
    required: true
  name:
    description:
      - The name of the app client, used to find it within the pool.
    type: str
    required: true
  state:
    description:
      - Whether the app client should exist.
    type: str
    choices: [present, absent]
    default: present
  generate_secret:
    description:
      - Whether the client has a secret. An Application Load Balancer that authenticates through
        Cognito needs one.
      - Fixed when the client is created; asking an existing client for the other value fails.
      - A new client gets V(false) when unset.
    type: bool
  return_secret:
    description:
      - Return the client secret as RV(client_secret).
      - Set C(no_log) on the task, and keep the registered result out of logs.
    type: bool
    default: false
  allowed_oauth_flows:
    description:
      - The OAuth 2.0 grant types the client may use.
    type: list
    elements: str
    choices: [code, implicit, client_credentials]
    default: [code]
  allowed_oauth_scopes:
    description:
      - The OAuth scopes the client may request.
    type: list
    elements: str
    default: [openid, email, profile]
  allowed_oauth_flows_user_pool_client:
    description:
      - Whether the client may use the OAuth flows of O(allowed_oauth_flows).
    type: bool
    default: true
  callback_urls:
    description:
      - The URLs Cognito may redirect to after sign-in, for example
        V(https://staging.example.com/oauth2/idpresponse) for an Application Load Balancer.
    type: list
    elements: str
  logout_urls:
    description:
      - The URLs Cognito may redirect to after sign-out.
    type: list
    elements: str
  supported_identity_providers:
    description:
      - The identity providers users of this client sign in with, V(COGNITO) for the pool's own
        users and the C(provider_name) of federated ones (M(webstack.aws.cognito_identity_provider)).
    type: list
    elements: str
  explicit_auth_flows:
    description:
      - The authentication flows the client supports, for example V(ALLOW_REFRESH_TOKEN_AUTH).
    type: list
    elements: str
  access_token_validity:
    description:
      - How long access tokens are valid, in the unit of O(token_validity_units.access_token).
    type: int
  id_token_validity:
    description:
      - How long ID tokens are valid, in the unit of O(token_validity_units.id_token).
    type: int
  refresh_token_validity:
    description:
      - How long refresh tokens are valid, in the unit of O(token_validity_units.refresh_token).
    type: int
  token_validity_units:
    description:
      - The units of the token validity options. Suboptions left unset keep their current value.
    type: dict
    suboptions:
      access_token:
        description: Unit of O(access_token_validity). AWS default V(hours).
        type: str
        choices: [seconds, minutes, hours, days]
      id_token:
        description: Unit of O(id_token_validity). AWS default V(hours).
        type: str
        choices: [seconds, minutes, hours, days]
      refresh_token:
        description: Unit of O(refresh_token_validity). AWS default V(days).
        type: str
        choices: [seconds, minutes, hours, days]
  prevent_user_existence_errors:
    description:
      - V(ENABLED) makes authentication errors not reveal whether a user exists.
    type: str
    choices: [ENABLED, LEGACY]
  enable_token_revocation:
    description:
      - Whether refresh tokens issued to the client can be revoked.
    type: bool
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reads the app client and reports what would be created, updated or deleted, without writing.
    support: full
  diff_mode:
    description: Shows the client's managed settings before and after, the secret left out.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the staging ALB has an app client with a secret
  webstack.aws.cognito_user_pool_client:
    user_pool_id: "{{ webstack_pool.id }}"
    name: staging-alb
    generate_secret: true
    callback_urls:
      - https://staging.example.com/oauth2/idpresponse
    logout_urls:
      - https://staging.example.com/
    supported_identity_providers: [COGNITO]
    explicit_auth_flows: [ALLOW_REFRESH_TOKEN_AUTH]
    prevent_user_existence_errors: ENABLED
  register: webstack_alb_client

- name: Read the client secret the ALB listener rule needs
  webstack.aws.cognito_user_pool_client:
    user_pool_id: "{{ webstack_pool.id }}"
    name: staging-alb
    generate_secret: true
    callback_urls:
      - https://staging.example.com/oauth2/idpresponse
    return_secret: true
  register: webstack_alb_client_secret
  no_log: true

- name: Ensure the app client is gone
  webstack.aws.cognito_user_pool_client:
    user_pool_id: "{{ webstack_pool.id }}"
    name: staging-alb
    state: absent
"""

RETURN = r"""
client_id:
  description: The ID of the app client.
  returned: when the client exists
  type: str
  sample: 1example23456789
client_secret:
  description: The client secret. Use C(no_log) on the task.
  returned: when O(return_secret=true) and the client has a secret
  type: str
user_pool_client:
  description:
    - The app client as DescribeUserPoolClient returns it, in snake_case, without its secret.
    - Empty when the client is absent or would be created in check mode.
  returned: always
  type: dict
  contains:
    client_id:
      description: The ID of the app client.
      type: str
    client_name:
      description: The name of the app client.
      type: str
    user_pool_id:
      description: The ID of the user pool.
      type: str
    allowed_oauth_flows:
      description: The OAuth grant types.
      type: list
      elements: str
      sample: [code]
    allowed_oauth_scopes:
      description: The OAuth scopes.
      type: list
      elements: str
    allowed_oauth_flows_user_pool_client:
      description: Whether the OAuth flows are enabled.
      type: bool
    callback_urls:
      description: The sign-in redirect URLs.
      type: list
      elements: str
    logout_urls:
      description: The sign-out redirect URLs.
      type: list
      elements: str
    supported_identity_providers:
      description: The identity providers of the client.
      type: list
      elements: str
    has_secret:
      description: Whether the client has a secret.
      type: bool
"""

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.cognito import (
    carried_over,
    cognito_client,
    describe_user_pool,
    differences,
    find_user_pool_client_by_name,
    overlay,
    snake_resource,
    sorted_list,
)
from ansible_collections.webstack.aws.plugins.module_utils.core import call, exit_with_result

# List options whose order does not matter -> the client's key.
LIST_OPTIONS = {
    "allowed_oauth_flows": "AllowedOAuthFlows",
    "allowed_oauth_scopes": "AllowedOAuthScopes",
    "callback_urls": "CallbackURLs",
    "logout_urls": "LogoutURLs",
    "supported_identity_providers": "SupportedIdentityProviders",
    "explicit_auth_flows": "ExplicitAuthFlows",
}
# Single-valued options -> the client's key.
SCALAR_OPTIONS = {
    "allowed_oauth_flows_user_pool_client": "AllowedOAuthFlowsUserPoolClient",
    "access_token_validity": "AccessTokenValidity",
    "id_token_validity": "IdTokenValidity",
    "refresh_token_validity": "RefreshTokenValidity",
    "prevent_user_existence_errors": "PreventUserExistenceErrors",
    "enable_token_revocation": "EnableTokenRevocation",
}
TOKEN_UNITS = {"access_token": "AccessToken", "id_token": "IdToken", "refresh_token": "RefreshToken"}
MANAGED_OPTIONS = [*LIST_OPTIONS, *SCALAR_OPTIONS, "token_validity_units"]
MANAGED_KEYS = [*LIST_OPTIONS.values(), *SCALAR_OPTIONS.values(), "TokenValidityUnits"]


def client_view(app_client: dict[str, Any]) -> dict[str, Any]:
    """The client's managed settings, shaped like the module's options (no secret)."""
    view: dict[str, Any] = {option: sorted_list(app_client.get(key)) for option, key in LIST_OPTIONS.items()}
    view.update({option: app_client.get(key) for option, key in SCALAR_OPTIONS.items()})
    units = app_client.get("TokenValidityUnits", {})
    view["token_validity_units"] = {option: units.get(key) for option, key in TOKEN_UNITS.items()}
    return view


def desired_view(params: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    desired = overlay(current, params, MANAGED_OPTIONS)
    for option in LIST_OPTIONS:
        desired[option] = sorted_list(desired[option])
    return desired


def settings_request(desired: dict[str, Any]) -> dict[str, Any]:
    """The request keys for the managed settings; an empty or unknown setting is left out."""
    request = {key: desired[option] for option, key in LIST_OPTIONS.items() if desired[option]}
    request.update({key: desired[option] for option, key in SCALAR_OPTIONS.items() if desired[option] is not None})
    units = {key: desired["token_validity_units"][option] for option, key in TOKEN_UNITS.items()}
    units = {key: value for key, value in units.items() if value}
    if units:
        request["TokenValidityUnits"] = units
    return request


def update_request(client: Any, app_client: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """UpdateUserPoolClient's arguments: the whole configuration, since the call replaces it."""
    request = carried_over(client, "UpdateUserPoolClient", app_client, drop=MANAGED_KEYS)
    request.update(settings_request(desired))
    return request


def check_secret(module: AnsibleAWSModule, app_client: dict[str, Any]) -> None:
    wanted = module.params["generate_secret"]
    has_secret = "ClientSecret" in app_client
    if wanted is not None and wanted != has_secret:
        module.fail_json(
            msg=f"generate_secret cannot change on an existing app client: {app_client['ClientName']} "
            f"({app_client['ClientId']}) {'has' if has_secret else 'has no'} secret and the task asks for "
            f"generate_secret: {str(wanted).lower()}; delete the client and create it again"
        )


def client_result(module: AnsibleAWSModule, app_client: dict[str, Any] | None) -> dict[str, Any]:
    """The exit values, with the secret only when return_secret is set."""
    if app_client is None:
        return {"client_id": None, "user_pool_client": {}}
    secret = app_client.get("ClientSecret")
    described = {key: value for key, value in app_client.items() if key != "ClientSecret"}
    result: dict[str, Any] = {
        "client_id": app_client["ClientId"],
        "user_pool_client": {**snake_resource(described), "has_secret": secret is not None},
    }
    if secret is not None:
        if module.params["return_secret"]:
            result["client_secret"] = secret
        else:
            # Masks the secret should it ever reach the result some other way.
            module.no_log_values.add(secret)
    return result


def describe_client(module: AnsibleAWSModule, client: Any, pool_id: str, client_id: str) -> dict[str, Any]:
    response = call(
        module,
        client.describe_user_pool_client,
        f"Failed to describe app client {client_id} of user pool {pool_id}",
        UserPoolId=pool_id,
        ClientId=client_id,
    )
    return response["UserPoolClient"]


def create_client(module: AnsibleAWSModule, client: Any, desired: dict[str, Any]) -> None:
    pool_id, name = module.params["user_pool_id"], module.params["name"]
    if module.check_mode:
        exit_with_result(module, True, {}, desired, **client_result(module, None))
    response = call(
        module,
        client.create_user_pool_client,
        f"Failed to create app client {name} in user pool {pool_id}",
        UserPoolId=pool_id,
        ClientName=name,
        GenerateSecret=bool(module.params["generate_secret"]),
        **settings_request(desired),
    )
    exit_with_result(module, True, {}, desired, **client_result(module, response["UserPoolClient"]))


def update_client(module: AnsibleAWSModule, client: Any, app_client: dict[str, Any]) -> None:
    check_secret(module, app_client)
    current = client_view(app_client)
    desired = desired_view(module.params, current)
    changed = bool(differences(current, desired))
    if changed and not module.check_mode:
        response = call(
            module,
            client.update_user_pool_client,
            f"Failed to update app client {app_client['ClientName']} ({app_client['ClientId']})",
            **update_request(client, app_client, desired),
        )
        app_client = response["UserPoolClient"]
    exit_with_result(module, changed, current, desired, **client_result(module, app_client))


def ensure_present(module: AnsibleAWSModule, client: Any) -> None:
    pool_id = module.params["user_pool_id"]
    summary = find_user_pool_client_by_name(module, client, pool_id, module.params["name"])
    if summary is None:
        create_client(module, client, desired_view(module.params, client_view({})))
        return
    update_client(module, client, describe_client(module, client, pool_id, summary["ClientId"]))


def ensure_absent(module: AnsibleAWSModule, client: Any) -> None:
    pool_id = module.params["user_pool_id"]
    # A deleted pool took its clients with it.
    summary = None
    if describe_user_pool(module, client, pool_id) is not None:
        summary = find_user_pool_client_by_name(module, client, pool_id, module.params["name"])
    if summary is None:
        exit_with_result(module, False, {}, {}, **client_result(module, None))
    app_client = describe_client(module, client, pool_id, summary["ClientId"])
    if not module.check_mode:
        call(
            module,
            client.delete_user_pool_client,
            f"Failed to delete app client {summary['ClientName']} ({summary['ClientId']})",
            UserPoolId=pool_id,
            ClientId=summary["ClientId"],
        )
    exit_with_result(module, True, client_view(app_client), {}, **client_result(module, None))


def main() -> None:
    argument_spec = dict(
        user_pool_id=dict(type="str", required=True),
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        generate_secret=dict(type="bool", no_log=False),
        return_secret=dict(type="bool", default=False, no_log=False),
        allowed_oauth_flows=dict(
            type="list", elements="str", choices=["code", "implicit", "client_credentials"], default=["code"]
        ),
        allowed_oauth_scopes=dict(type="list", elements="str", default=["openid", "email", "profile"]),
        allowed_oauth_flows_user_pool_client=dict(type="bool", default=True),
        callback_urls=dict(type="list", elements="str"),
        logout_urls=dict(type="list", elements="str"),
        supported_identity_providers=dict(type="list", elements="str"),
        explicit_auth_flows=dict(type="list", elements="str"),
        access_token_validity=dict(type="int", no_log=False),
        id_token_validity=dict(type="int", no_log=False),
        refresh_token_validity=dict(type="int", no_log=False),
        token_validity_units=dict(
            type="dict",
            no_log=False,
            options={
                option: dict(type="str", choices=["seconds", "minutes", "hours", "days"]) for option in TOKEN_UNITS
            },
        ),
        prevent_user_existence_errors=dict(type="str", choices=["ENABLED", "LEGACY"]),
        enable_token_revocation=dict(type="bool", no_log=False),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = cognito_client(module)
    if module.params["state"] == "present":
        ensure_present(module, client)
    else:
        ensure_absent(module, client)


if __name__ == "__main__":
    main()
