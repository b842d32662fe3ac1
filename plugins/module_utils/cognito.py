# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Code the project's Cognito modules share.

Finding a user pool or an app client by name, building a full update request from
what AWS describes (Cognito's update calls replace the whole configuration),
comparing the option-shaped views the modules report in their diff, and turning a
described resource into a snake_case result.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.webstack.aws.plugins.module_utils.core import AWS_ERRORS, aws_client, paginate

# The page size the Cognito list calls accept at most.
PAGE_SIZE = 60


def cognito_client(module: Any) -> Any:
    """A cognito-idp client whose calls retry throttling when passed ``aws_retry=True``."""
    return aws_client(module, "cognito-idp")


def list_all(module: Any, client: Any, operation: str, result_key: str, msg: str, **kwargs: Any) -> list[dict]:
    """Every item a paginated Cognito list call returns."""
    return paginate(module, client, operation, msg, MaxResults=PAGE_SIZE, **kwargs).get(result_key, [])


def _only_match(module: Any, matches: list[dict], what: str, id_key: str) -> dict | None:
    if len(matches) > 1:
        ids = ", ".join(sorted(item[id_key] for item in matches))
        module.fail_json(msg=f"Expected at most one {what}, found {len(matches)} ({ids}); rename or delete the extras")
    return matches[0] if matches else None


def find_user_pool_by_name(module: Any, client: Any, name: str) -> dict | None:
    """The summary (Id, Name) of the one user pool called ``name``, None if there is none.

    Cognito allows several pools with one name; the modules refuse to guess between them.
    """
    pools = list_all(module, client, "list_user_pools", "UserPools", f"Failed to list user pools looking for {name}")
    matches = [pool for pool in pools if pool["Name"] == name]
    return _only_match(module, matches, f"user pool named {name!r}", "Id")


def describe_user_pool(module: Any, client: Any, pool_id: str) -> dict | None:
    """DescribeUserPool's UserPool, None if the pool does not exist."""
    try:
        return client.describe_user_pool(UserPoolId=pool_id, aws_retry=True)["UserPool"]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to describe user pool {pool_id}")


def require_user_pool(module: Any, client: Any, pool_id: str) -> dict:
    """The described user pool, or a failed result saying it does not exist."""
    pool = describe_user_pool(module, client, pool_id)
    if pool is None:
        module.fail_json(msg=f"User pool {pool_id} does not exist")
    return pool


def find_user_pool_client_by_name(module: Any, client: Any, pool_id: str, name: str) -> dict | None:
    """The summary (ClientId, ClientName) of the one app client called ``name`` in the pool."""
    clients = list_all(
        module,
        client,
        "list_user_pool_clients",
        "UserPoolClients",
        f"Failed to list the app clients of user pool {pool_id}",
        UserPoolId=pool_id,
    )
    matches = [item for item in clients if item["ClientName"] == name]
    return _only_match(module, matches, f"app client named {name!r} in user pool {pool_id}", "ClientId")


def carried_over(client: Any, operation: str, described: dict[str, Any], drop: Iterable[str] = ()) -> dict[str, Any]:
    """The parts of a described resource that ``operation`` (an Update* call) accepts.

    Cognito's UpdateUserPool and UpdateUserPoolClient reset every setting left out of the
    request, so an update starts from what AWS describes and overlays the desired values.
    """
    accepted = set(client.meta.service_model.operation_model(operation).input_shape.members)
    return {key: value for key, value in described.items() if key in accepted and key not in set(drop)}


def overlay(current: dict[str, Any], params: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """``current`` with every option in ``keys`` the user set; a dict option merges its set suboptions."""
    desired = dict(current)
    for key in keys:
        value = params.get(key)
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(current.get(key), dict):
            desired[key] = {**current[key], **{k: v for k, v in value.items() if v is not None}}
        else:
            desired[key] = value
    return desired


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The keys whose values differ between two views."""
    return sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))


def sorted_list(values: Iterable[str] | None) -> list[str]:
    """A list option whose order AWS does not keep, in a stable order for comparison."""
    return sorted(set(values or []))


def snake_resource(resource: dict[str, Any], keep: Iterable[str] = ()) -> dict[str, Any]:
    """A described resource in snake_case; the values under ``keep`` (tags, free-form maps) as they are."""
    result = camel_dict_to_snake_dict(resource, ignore_list=list(keep))
    # camel_dict_to_snake_dict reads "OAuth" as two words.
    return {key.replace("o_auth", "oauth"): value for key, value in result.items()}
