#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cognito_identity_provider
short_description: Manage a federated identity provider of an Amazon Cognito user pool
description:
  - Create, update and delete a SAML, OIDC or social identity provider of a Cognito user pool.
  - Only the O(provider_details) the task sets are compared. AWS adds details of its own
    (for OIDC the endpoints it discovers from the issuer, for SAML the certificates and
    endpoints it reads from the metadata); they never make a run report a change, and they
    are left for AWS to work out again when the provider is updated.
  - O(attribute_mapping) is compared as a whole, except the V(username) mapping AWS adds
    by itself, which is kept unless the task maps V(username).
  - Secrets (O(provider_details.client_secret), O(provider_details.private_key)) never appear
    in the result or the diff.
author:
  - webstack maintainers (!UNKNOWN)
options:
  user_pool_id:
    description:
      - The ID of the user pool.
    type: str
    required: true
  provider_name:
    description:
      - The name of the identity provider, as app clients list it in their supported identity providers.
    type: str
    required: true
  provider_type:
    description:
      - The kind of identity provider. Fixed once the provider exists.
      - Required with O(state=present).
    type: str
    choices: [SAML, OIDC, Google, Facebook, LoginWithAmazon, SignInWithApple]
  provider_details:
    description:
      - The provider's settings. Set the ones the provider type needs; the others stay unset.
      - Required with O(state=present).
    type: dict
    suboptions:
      client_id:
        description: The client ID at the provider (OIDC and social providers).
        type: str
      client_secret:
        description: The client secret at the provider (OIDC, Google, Facebook, LoginWithAmazon).
        type: str
      authorize_scopes:
        description: The scopes Cognito requests, separated by spaces, for example V(openid email profile).
        type: str
      attributes_request_method:
        description: How Cognito requests user attributes from an OIDC provider.
        type: str
        choices: [GET, POST]
      oidc_issuer:
        description: The issuer URL of an OIDC provider; AWS discovers its endpoints from it.
        type: str
      authorize_url:
        description: The authorization endpoint of an OIDC provider without discovery.
        type: str
      token_url:
        description: The token endpoint of an OIDC provider without discovery.
        type: str
      attributes_url:
        description: The user info endpoint of an OIDC provider without discovery.
        type: str
      jwks_uri:
        description: The JSON web key set URL of an OIDC provider without discovery.
        type: str
      api_version:
        description: The Facebook Graph API version, for example V(v17.0).
        type: str
      team_id:
        description: The Apple developer team ID (SignInWithApple).
        type: str
      key_id:
        description: The ID of the Apple private key (SignInWithApple).
        type: str
      private_key:
        description: The Apple private key (SignInWithApple).
        type: str
      MetadataURL:
        description:
          - The URL of a SAML provider's metadata document.
          - Mutually exclusive with O(provider_details.MetadataFile).
        type: str
      MetadataFile:
        description:
          - A SAML provider's metadata document.
          - Mutually exclusive with O(provider_details.MetadataURL).
        type: str
      IDPSignout:
        description: Whether signing out of Cognito signs out of the SAML provider.
        type: bool
      IDPInit:
        description: Whether the SAML provider may start sign-in.
        type: bool
      EncryptedResponses:
        description: Whether the SAML provider encrypts its assertions.
        type: bool
      RequestSigningAlgorithm:
        description: The algorithm signing SAML requests.
        type: str
        choices: [rsa-sha256]
  attribute_mapping:
    description:
      - User pool attribute -> provider attribute, for example V(email) -> V(email).
      - When unset the current mapping is kept.
    type: dict
  idp_identifiers:
    description:
      - Identifiers (such as email domains) that route users to this provider.
      - When unset the current identifiers are kept.
    type: list
    elements: str
  state:
    description:
      - Whether the identity provider should exist.
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
    description: Reads the provider and reports what would be created, updated or deleted, without writing.
    support: full
  diff_mode:
    description: Shows the provider's type, details and attribute mapping before and after, secrets left out.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure staging users can sign in with the corporate OIDC provider
  webstack.aws.cognito_identity_provider:
    user_pool_id: "{{ webstack_pool.id }}"
    provider_name: corp-oidc
    provider_type: OIDC
    provider_details:
      client_id: webstack-staging
      client_secret: "{{ vault_corp_oidc_client_secret }}"
      attributes_request_method: GET
      oidc_issuer: https://login.example.com
      authorize_scopes: openid email profile
    attribute_mapping:
      email: email
  no_log: true

- name: Ensure staging users can sign in with the corporate SAML provider
  webstack.aws.cognito_identity_provider:
    user_pool_id: "{{ webstack_pool.id }}"
    provider_name: corp-saml
    provider_type: SAML
    provider_details:
      MetadataURL: https://idp.example.com/saml/metadata
      IDPSignout: true
    attribute_mapping:
      email: http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress
    idp_identifiers: [example.com]

- name: Ensure the SAML provider is gone
  webstack.aws.cognito_identity_provider:
    user_pool_id: "{{ webstack_pool.id }}"
    provider_name: corp-saml
    state: absent
"""

RETURN = r"""
identity_provider:
  description:
    - The identity provider as DescribeIdentityProvider returns it, in snake_case, without its secrets.
    - The keys of RV(identity_provider.provider_details) and RV(identity_provider.attribute_mapping) are AWS's.
    - Empty when the provider is absent or would be created in check mode.
  returned: always
  type: dict
  contains:
    provider_name:
      description: The name of the provider.
      type: str
      sample: corp-oidc
    provider_type:
      description: The kind of provider.
      type: str
      sample: OIDC
    provider_details:
      description: The provider's settings, including those AWS adds, without secrets.
      type: dict
      sample: {"client_id": "webstack-staging", "oidc_issuer": "https://login.example.com"}
    attribute_mapping:
      description: User pool attribute -> provider attribute.
      type: dict
      sample: {"email": "email", "username": "sub"}
    idp_identifiers:
      description: The identifiers that route users to this provider.
      type: list
      elements: str
"""

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.cognito import (
    cognito_client,
    describe_user_pool,
    differences,
    snake_resource,
    sorted_list,
)
from ansible_collections.webstack.aws.plugins.module_utils.core import call, exit_with_result

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing SDK

SECRET_DETAILS = ("client_secret", "private_key")
# Details AWS works out by itself (OIDC discovery, SAML metadata, social defaults). They are
# not sent back on update unless the task sets them, so AWS derives them again.
DERIVED_DETAILS = (
    "authorize_url",
    "token_url",
    "attributes_url",
    "jwks_uri",
    "attributes_url_add_attributes",
    "token_request_method",
    "ActiveEncryptionCertificate",
    "ActiveSigningCertificate",
    "SLORedirectBindingURI",
    "SSORedirectBindingURI",
    "SLOPostBindingURI",
    "SSOPostBindingURI",
)
EXCLUSIVE_DETAILS = {"MetadataURL": "MetadataFile", "MetadataFile": "MetadataURL"}
HIDDEN = "<hidden>"


def detail_value(value: Any) -> str:
    """A provider detail as AWS stores it: a string, booleans in lowercase."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def wanted_details(params: dict[str, Any]) -> dict[str, str]:
    """The provider details the task sets."""
    return {key: detail_value(value) for key, value in (params["provider_details"] or {}).items() if value is not None}


def wanted_mapping(params: dict[str, Any], current: dict[str, str]) -> dict[str, str] | None:
    """The attribute mapping to have, keeping the username mapping AWS adds; None to keep the current one."""
    mapping = params["attribute_mapping"]
    if mapping is None:
        return None
    wanted = {key: str(value) for key, value in mapping.items()}
    if "username" not in wanted and "username" in current:
        wanted["username"] = current["username"]
    return wanted


def provider_view(provider: dict[str, Any], detail_keys: list[str]) -> dict[str, Any]:
    """The provider's managed settings: of its details, only those in ``detail_keys``."""
    details = provider.get("ProviderDetails", {})
    return {
        "provider_type": provider["ProviderType"],
        "provider_details": {key: details.get(key) for key in detail_keys},
        "attribute_mapping": provider.get("AttributeMapping", {}),
        "idp_identifiers": sorted_list(provider.get("IdpIdentifiers")),
    }


def desired_view(params: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    mapping = wanted_mapping(params, current["attribute_mapping"])
    identifiers = params["idp_identifiers"]
    return {
        "provider_type": params["provider_type"],
        "provider_details": wanted_details(params),
        "attribute_mapping": current["attribute_mapping"] if mapping is None else mapping,
        "idp_identifiers": current["idp_identifiers"] if identifiers is None else sorted_list(identifiers),
    }


def hide_secrets(view: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """A view for the diff, each secret replaced by a marker; against ``previous``, saying whether it changes."""
    if not view:
        return {}
    details = dict(view["provider_details"])
    for key in SECRET_DETAILS:
        if details.get(key) is None:
            continue
        changed = previous is not None and previous.get("provider_details", {}).get(key) != details[key]
        details[key] = f"{HIDDEN} (changed)" if changed else HIDDEN
    return {**view, "provider_details": details}


def update_request(provider: dict[str, Any], desired: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """UpdateIdentityProvider's arguments: the current details AWS did not derive, with the task's on top."""
    details = {
        key: value
        for key, value in provider.get("ProviderDetails", {}).items()
        if key not in DERIVED_DETAILS and EXCLUSIVE_DETAILS.get(key) not in desired["provider_details"]
    }
    details.update(desired["provider_details"])
    request = {
        "UserPoolId": provider["UserPoolId"],
        "ProviderName": provider["ProviderName"],
        "ProviderDetails": details,
    }
    if params["attribute_mapping"] is not None:
        request["AttributeMapping"] = desired["attribute_mapping"]
    if params["idp_identifiers"] is not None:
        request["IdpIdentifiers"] = desired["idp_identifiers"]
    return request


def create_request(params: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    request = {
        "UserPoolId": params["user_pool_id"],
        "ProviderName": params["provider_name"],
        "ProviderType": desired["provider_type"],
        "ProviderDetails": desired["provider_details"],
    }
    if desired["attribute_mapping"]:
        request["AttributeMapping"] = desired["attribute_mapping"]
    if desired["idp_identifiers"]:
        request["IdpIdentifiers"] = desired["idp_identifiers"]
    return request


def describe_provider(module: AnsibleAWSModule, client: Any) -> dict[str, Any] | None:
    pool_id, name = module.params["user_pool_id"], module.params["provider_name"]
    try:
        response = client.describe_identity_provider(UserPoolId=pool_id, ProviderName=name, aws_retry=True)
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe identity provider {name} of user pool {pool_id}")
    provider = response["IdentityProvider"]
    for key in SECRET_DETAILS:
        if provider.get("ProviderDetails", {}).get(key):
            # Masks the secret AWS describes should it ever reach the result.
            module.no_log_values.add(provider["ProviderDetails"][key])
    return provider


def provider_result(provider: dict[str, Any] | None) -> dict[str, Any]:
    if provider is None:
        return {"identity_provider": {}}
    details = {key: value for key, value in provider.get("ProviderDetails", {}).items() if key not in SECRET_DETAILS}
    described = {**provider, "ProviderDetails": details}
    return {"identity_provider": snake_resource(described, keep=["ProviderDetails", "AttributeMapping"])}


def exit_masked(module: AnsibleAWSModule, changed: bool, before: dict, after: dict, provider: dict | None) -> None:
    """Exit with the diff's secrets hidden."""
    exit_with_result(module, changed, hide_secrets(before), hide_secrets(after, before), **provider_result(provider))


def create_provider(module: AnsibleAWSModule, client: Any) -> None:
    params = module.params
    empty = {"attribute_mapping": {}, "idp_identifiers": []}
    desired = desired_view(params, empty)
    provider = None
    if not module.check_mode:
        response = call(
            module,
            client.create_identity_provider,
            f"Failed to create identity provider {params['provider_name']} in user pool {params['user_pool_id']}",
            **create_request(params, desired),
        )
        provider = response["IdentityProvider"]
    exit_masked(module, True, {}, desired, provider)


def update_provider(module: AnsibleAWSModule, client: Any, provider: dict[str, Any]) -> None:
    params = module.params
    if params["provider_type"] != provider["ProviderType"]:
        module.fail_json(
            msg=f"provider_type cannot change: identity provider {provider['ProviderName']} is "
            f"{provider['ProviderType']}, the task asks for {params['provider_type']}; delete it and create it again"
        )
    desired_details = wanted_details(params)
    current = provider_view(provider, list(desired_details))
    desired = desired_view(params, current)
    changed = bool(differences(current, desired))
    if changed and not module.check_mode:
        response = call(
            module,
            client.update_identity_provider,
            f"Failed to update identity provider {provider['ProviderName']}",
            **update_request(provider, desired, params),
        )
        provider = response["IdentityProvider"]
    exit_masked(module, changed, current, desired, provider)


def ensure_absent(module: AnsibleAWSModule, client: Any, provider: dict[str, Any] | None) -> None:
    if provider is None:
        exit_with_result(module, False, {}, {}, **provider_result(None))
    if not module.check_mode:
        call(
            module,
            client.delete_identity_provider,
            f"Failed to delete identity provider {provider['ProviderName']}",
            UserPoolId=provider["UserPoolId"],
            ProviderName=provider["ProviderName"],
        )
    before = provider_view(provider, sorted(provider.get("ProviderDetails", {})))
    exit_masked(module, True, before, {}, None)


def main() -> None:
    text = dict(type="str")
    details_spec = dict(
        client_id=text,
        client_secret=dict(type="str", no_log=True),
        authorize_scopes=text,
        attributes_request_method=dict(type="str", choices=["GET", "POST"]),
        oidc_issuer=text,
        authorize_url=text,
        # An OIDC endpoint's address, not a token: no_log=False says so to the sanity test.
        token_url=dict(type="str", no_log=False),
        attributes_url=text,
        jwks_uri=text,
        api_version=text,
        team_id=text,
        key_id=text,
        private_key=dict(type="str", no_log=True),
        MetadataURL=text,
        MetadataFile=text,
        IDPSignout=dict(type="bool"),
        IDPInit=dict(type="bool"),
        EncryptedResponses=dict(type="bool"),
        RequestSigningAlgorithm=dict(type="str", choices=["rsa-sha256"]),
    )
    argument_spec = dict(
        user_pool_id=dict(type="str", required=True),
        provider_name=dict(type="str", required=True),
        provider_type=dict(
            type="str", choices=["SAML", "OIDC", "Google", "Facebook", "LoginWithAmazon", "SignInWithApple"]
        ),
        provider_details=dict(
            type="dict",
            options={key: dict(spec) for key, spec in details_spec.items()},
            mutually_exclusive=[["MetadataURL", "MetadataFile"]],
        ),
        attribute_mapping=dict(type="dict"),
        idp_identifiers=dict(type="list", elements="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["provider_type", "provider_details"])],
        supports_check_mode=True,
    )
    client = cognito_client(module)
    pool_id = module.params["user_pool_id"]
    # A deleted pool took its identity providers with it.
    pool_exists = describe_user_pool(module, client, pool_id) is not None
    provider = describe_provider(module, client) if pool_exists else None
    if module.params["state"] == "absent":
        ensure_absent(module, client, provider)
    elif not pool_exists:
        module.fail_json(msg=f"User pool {pool_id} does not exist")
    elif provider is None:
        create_provider(module, client)
    else:
        update_provider(module, client, provider)


if __name__ == "__main__":
    main()
