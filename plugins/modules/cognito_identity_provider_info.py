#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cognito_identity_provider_info
short_description: List the federated identity providers of an Amazon Cognito user pool
description:
  - Lists the identity providers (SAML, OIDC, social) of a user pool with C(ListIdentityProviders),
    their names and types, without their details (which carry client secrets).
  - With them a play can remove the providers its inventory no longer lists (see the examples).
  - A user pool that does not exist has no providers.
author:
  - webstack maintainers (!UNKNOWN)
options:
  user_pool_id:
    description:
      - The ID of the user pool.
    type: str
    required: true
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Only reads; runs the same in check mode.
    support: full
  diff_mode:
    description: Reports no change, so shows no diff.
    support: none
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: List the staging pool's identity providers
  webstack.aws.cognito_identity_provider_info:
    user_pool_id: "{{ webstack_pool.id }}"
  register: webstack_providers

- name: Ensure the providers the inventory no longer lists are removed
  webstack.aws.cognito_identity_provider:
    user_pool_id: "{{ webstack_pool.id }}"
    provider_name: "{{ item }}"
    state: absent
  loop: >-
    {{ webstack_providers.identity_providers | map(attribute='provider_name')
       | difference(identity_providers | map(attribute='name')) }}
"""

RETURN = r"""
identity_providers:
  description: The pool's identity providers, sorted by name; empty when the pool does not exist.
  returned: always
  type: list
  elements: dict
  contains:
    provider_name:
      description: The provider's name, as app clients list it.
      type: str
      sample: corp-saml
    provider_type:
      description: V(SAML), V(OIDC), V(Google), V(Facebook), V(LoginWithAmazon) or V(SignInWithApple).
      type: str
      sample: SAML
"""

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
    paginated_query_with_retries,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.webstack.aws.plugins.module_utils.cognito import PAGE_SIZE, cognito_client
from ansible_collections.webstack.aws.plugins.module_utils.core import AWS_ERRORS


def providers_of(module: AnsibleAWSModule, client: Any, pool_id: str) -> list[dict[str, str]]:
    """The pool's providers as name and type, sorted by name; none for a pool that does not exist."""
    try:
        listed = paginated_query_with_retries(
            client, "list_identity_providers", AWSRetry.jittered_backoff(), UserPoolId=pool_id, MaxResults=PAGE_SIZE
        )["Providers"]
    except is_boto3_error_code("ResourceNotFoundException"):
        return []
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to list the identity providers of user pool {pool_id}")
    providers = [{"provider_name": item["ProviderName"], "provider_type": item["ProviderType"]} for item in listed]
    return sorted(providers, key=lambda provider: provider["provider_name"])


def main() -> None:
    argument_spec = dict(user_pool_id=dict(type="str", required=True))
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = cognito_client(module)
    module.exit_json(changed=False, identity_providers=providers_of(module, client, module.params["user_pool_id"]))


if __name__ == "__main__":
    main()
