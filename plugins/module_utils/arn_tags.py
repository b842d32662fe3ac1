# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Code the project's RDS and ElastiCache modules share: tags set through the
AddTagsToResource / RemoveTagsFromResource calls both services have on a
resource ARN, and the result with its before/after diff."""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    compare_aws_tags,
)

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports the missing SDK


def tag_changes(
    current: dict[str, str], wanted: dict[str, Any] | None, purge: bool
) -> tuple[dict[str, str], list[str]]:
    """The tags to set and the tag keys to remove; nothing when ``wanted`` is None (tags not managed)."""
    if wanted is None:
        return {}, []
    to_set, to_remove = compare_aws_tags(current, wanted, purge_tags=purge)
    return {key: str(value) for key, value in to_set.items()}, sorted(to_remove)


def apply_tags(module: Any, client: Any, arn: str, to_set: dict[str, str], to_remove: list[str]) -> None:
    """Add and remove tags on ``arn`` (callers skip this in check mode)."""
    try:
        if to_remove:
            client.remove_tags_from_resource(ResourceName=arn, TagKeys=to_remove, aws_retry=True)
        if to_set:
            client.add_tags_to_resource(ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(to_set), aws_retry=True)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to update the tags of {arn}")


def tags_after(current: dict[str, str], to_set: dict[str, str], to_remove: list[str]) -> dict[str, str]:
    """The tags a resource carries once ``to_set`` and ``to_remove`` are applied."""
    tags = {key: value for key, value in current.items() if key not in to_remove}
    tags.update(to_set)
    return tags


def exit_with_result(module: Any, changed: bool, before: dict[str, Any], after: dict[str, Any], **result: Any) -> None:
    """Exit with ``changed``, the resource and, under --diff, the before/after views."""
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(changed=changed, **result)
