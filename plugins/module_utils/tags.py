# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Tags, on amazon.aws's ``tagging`` helpers: what to set and remove, what results,
and the ``ListTagsForResource`` / ``AddTagsToResource`` / ``RemoveTagsFromResource``
calls on a resource ARN that RDS and ElastiCache share. Services with their own tag
calls (ACM, ELBv2, Cognito) read and write them in their modules, through ``core.call``,
and compute the change here."""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)
from ansible_collections.webstack.aws.plugins.module_utils.core import AWS_ERRORS, call


def tag_changes(
    current: dict[str, str], wanted: dict[str, Any] | None, purge: bool
) -> tuple[dict[str, str], list[str]]:
    """The tags to set and the tag keys to remove; nothing when ``wanted`` is None (tags not managed)."""
    if wanted is None:
        return {}, []
    to_set, to_remove = compare_aws_tags(current, wanted, purge_tags=purge)
    return {key: str(value) for key, value in to_set.items()}, sorted(to_remove)


def tags_after(current: dict[str, str], to_set: dict[str, str], to_remove: list[str]) -> dict[str, str]:
    """The tags a resource carries once ``to_set`` and ``to_remove`` are applied."""
    tags = {key: value for key, value in current.items() if key not in to_remove}
    tags.update(to_set)
    return tags


def desired_tags(current: dict[str, str], wanted: dict[str, Any] | None, purge: bool) -> dict[str, str]:
    """The full set of tags a resource should carry; ``current`` when tags are not managed."""
    return tags_after(current, *tag_changes(current, wanted, purge))


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags as the API's list of Key/Value pairs, in key order."""
    return ansible_dict_to_boto3_tag_list(dict(sorted(tags.items())))


def resource_tags(module: Any, client: Any, arn: str, missing: list[str] | None = None) -> dict[str, str]:
    """Tags of an RDS or ElastiCache resource; {} on the error codes in ``missing`` (not taggable yet)."""
    try:
        response = client.list_tags_for_resource(ResourceName=arn, aws_retry=True)
    except is_boto3_error_code(missing or ["__none__"]):
        return {}
    except AWS_ERRORS as e:  # pylint: disable=duplicate-except
        module.fail_json_aws(e, msg=f"Failed to list the tags of {arn}")
    return boto3_tag_list_to_ansible_dict(response.get("TagList", []))


def apply_resource_tags(module: Any, client: Any, arn: str, to_set: dict[str, str], to_remove: list[str]) -> None:
    """Add and remove tags on an RDS or ElastiCache ``arn`` (callers skip this in check mode)."""
    msg = f"Failed to update the tags of {arn}"
    if to_remove:
        call(module, client.remove_tags_from_resource, msg, ResourceName=arn, TagKeys=to_remove)
    if to_set:
        call(module, client.add_tags_to_resource, msg, ResourceName=arn, Tags=tag_list(to_set))
