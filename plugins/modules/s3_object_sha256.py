#!/usr/bin/python
# Copyright: contributors to this project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# ruff: noqa: E402 -- ansible-doc and the sanity tests want DOCUMENTATION, EXAMPLES and RETURN before the imports

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_object_sha256
short_description: Upload a file to S3 only when its SHA-256 differs from the object's, and report the version
description:
  - Ensure an S3 object holds the content of a local file. The module reads the object's metadata with
    one C(HeadObject) and uploads with C(PutObject) only when the SHA-256 recorded there (user metadata
    C(sha256), written by this module) differs from the file's, so that an unchanged file adds no version
    to a versioned bucket, whatever its size.
  - Why not C(amazon.aws.s3_object) with O(ignore:overwrite=different) - it compares MD5 ETags, and for an
    object uploaded in parts (its transfer splits files above 8 MB) it recomputes the ETag with one
    C(HeadObject) per part; a SHA-256 of the content held in the object's metadata is one read and does
    not depend on how the object was uploaded. It also returns no C(VersionId).
  - The upload sends C(Content-MD5), so S3 refuses a body damaged on the way.
author:
  - webstack maintainers (!UNKNOWN)
options:
  bucket:
    description: The bucket's name.
    type: str
    required: true
  key:
    description: The object's key.
    type: str
    required: true
  src:
    description: The local file to upload.
    type: path
    required: true
  sha256:
    description:
      - The file's SHA-256 in hex, when the caller already knows it; the module computes it otherwise.
      - A value that is not the file's fails the task before any upload.
    type: str
  metadata:
    description: More user metadata for the object (C(sha256) is set by the module). Compared too.
    type: dict
    default: {}
  content_type:
    description: The object's C(Content-Type).
    type: str
    default: application/octet-stream
attributes:
  action_group:
    description: Use C(group/webstack.aws.aws) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - webstack.aws.aws
  check_mode:
    description: Reads the object's metadata and reports whether the file would be uploaded, without uploading.
    support: full
  diff_mode:
    description: Shows the object's SHA-256 and version before and after.
    support: full
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the bootstrap bucket holds the frontend's bundle
  webstack.aws.s3_object_sha256:
    bucket: webstack-prod-bootstrap-123456789012
    key: bundles/frontend/bundle.tar.gz
    src: .cache/bundle/prod/bundle.tar.gz
    metadata:
      built-by: webstack
"""

RETURN = r"""
sha256:
  description: The SHA-256 of the content the object holds once the module is done (in check mode, would hold).
  returned: always
  type: str
  sample: c790eacde881cbe2bb741ba742890f572385514bc7db6f23ad61d8b297ed54f0
version_id:
  description:
    - The object's version once the module is done; the new one after an upload, the current one
      otherwise. Empty in a bucket without versioning, and in check mode when an upload would happen.
  returned: always
  type: str
  sample: 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY
previous_version_id:
  description: The object's version before the module ran; empty when there was no object (or no versioning).
  returned: always
  type: str
  sample: 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY
size:
  description: The size of the file in bytes.
  returned: always
  type: int
  sample: 32350562
"""

import base64
import hashlib
import os
import re

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.webstack.aws.plugins.module_utils.core import aws_client, call, exit_with_result

SHA256 = re.compile(r"^[0-9a-f]{64}$")


def digests(path: str) -> tuple[str, str]:
    """The file's SHA-256 (hex) and MD5 (base64, for Content-MD5), in one read."""
    sha256, md5 = hashlib.sha256(), hashlib.md5()  # noqa: S324 -- Content-MD5 is what S3 checks a body against
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha256.update(block)
            md5.update(block)
    return sha256.hexdigest(), base64.b64encode(md5.digest()).decode()


def main() -> None:
    argument_spec = dict(
        bucket=dict(type="str", required=True),
        key=dict(type="str", required=True, no_log=False),
        src=dict(type="path", required=True),
        sha256=dict(type="str"),
        metadata=dict(type="dict", default={}),
        content_type=dict(type="str", default="application/octet-stream"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    bucket, key, src = module.params["bucket"], module.params["key"], module.params["src"]
    if not os.path.isfile(src):
        module.fail_json(msg=f"src {src}: no such file")
    given = module.params["sha256"]
    if given is not None and not SHA256.match(given):
        module.fail_json(msg=f"sha256 {given!r} is not a SHA-256 in hex (64 characters 0-9a-f)")
    sha256, md5 = digests(src)
    if given is not None and given != sha256:
        module.fail_json(msg=f"sha256 {given} is not the SHA-256 of {src} ({sha256}); the file changed?")
    wanted = {str(name).lower(): str(value) for name, value in module.params["metadata"].items()}
    wanted["sha256"] = sha256

    client = aws_client(module, "s3")
    head = call(
        module, client.head_object, f"Failed to read s3://{bucket}/{key}", ["404", "NoSuchKey"], Bucket=bucket, Key=key
    )
    current = head.get("Metadata", {}) if head else None
    previous_version = (head or {}).get("VersionId") or ""
    if previous_version == "null":
        previous_version = ""
    before = {"sha256": current.get("sha256", "") if current is not None else "", "version_id": previous_version}
    size = os.path.getsize(src)
    if current == wanted and head.get("ContentType") == module.params["content_type"]:
        exit_with_result(module, False, before, before, sha256=sha256, version_id=previous_version,
                         previous_version_id=previous_version, size=size)  # fmt: skip

    version = ""
    if not module.check_mode:
        with open(src, "rb") as body:
            response = call(
                module,
                client.put_object,
                f"Failed to upload {src} to s3://{bucket}/{key}",
                Bucket=bucket,
                Key=key,
                Body=body,
                ContentMD5=md5,
                ContentType=module.params["content_type"],
                Metadata=wanted,
            )
        version = response.get("VersionId") or ""
        if version == "null":
            version = ""
    after = {"sha256": sha256, "version_id": version}
    exit_with_result(module, True, before, after, sha256=sha256, version_id=version,
                     previous_version_id=previous_version, size=size)  # fmt: skip


if __name__ == "__main__":
    main()
