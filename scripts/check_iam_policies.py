#!/usr/bin/env python3
"""Check the IAM policy documents the roles grant, which checkov cannot read.

    scripts/check_iam_policies.py                      the project (roles/, playbooks/)
    scripts/check_iam_policies.py --fixtures DIR       DIR/CKV2_WEBSTACK_13.*.json.j2 must fail,
                                                       DIR/pass.*.json.j2 must pass

The documents are Jinja templates handed to amazon.aws.iam_managed_policy
(`policy`) or amazon.aws.iam_policy (`policy_json`) through
lookup('template', ...). The project mode finds every such task under roles/
and playbooks/ (old community.aws names and short names included, deletions
skipped), reads the templates they name, and adds every
roles/*/templates/instance_policy*.json.j2 even if no task names it.

A template is read without rendering it: comments and {% %} tags are
dropped (the body of a loop or a branch stays, once), each {{ }} expression
becomes a placeholder (a string of its own outside JSON strings), and
trailing commas left by dropped tags go. Then, in every Allow statement:

- no NotAction and no NotResource;
- every Action written literally, without `*` or `?`;
- a Resource, and Resource "*" only when every action of the statement is in
  RESOURCE_STAR_ACTIONS (actions AWS authorises only on "*").

Deny statements are not checked: they cannot grant anything. A document
this script cannot read (a policy given as a variable, a template it cannot
find, text that is not JSON once the placeholders are in) is a failure: the
check fails closed. Values of variables are not checked: a templated
Resource may still be "*" at run time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
POLICY_ID = "CKV2_WEBSTACK_13"
PLACEHOLDER = "@@jinja@@"

# Module -> the argument holding the policy document.
POLICY_ARGUMENTS = {
    "amazon.aws.iam_managed_policy": "policy",
    "community.aws.iam_managed_policy": "policy",
    "iam_managed_policy": "policy",
    "amazon.aws.iam_policy": "policy_json",
    "community.aws.iam_policy": "policy_json",
    "iam_policy": "policy_json",
}

# Actions that have no resource-level permissions: AWS authorises them only on
# "*". They are what the CloudWatch agent needs besides its log groups.
RESOURCE_STAR_ACTIONS = (
    "cloudwatch:PutMetricData",
    "ec2:DescribeInstances",
    "ec2:DescribeTags",
    "ec2:DescribeVolumes",
    "logs:DescribeLogGroups",
)
# IAM compares action names without regard to case.
RESOURCE_STAR_KEYS = frozenset(action.lower() for action in RESOURCE_STAR_ACTIONS)
EXPECT = re.compile(r"\{#.*?expect:\s*(.*?)\s*-?#\}", re.DOTALL)

TEMPLATE_LOOKUP = re.compile(r"""lookup\(\s*['"](?:ansible\.builtin\.)?template['"]\s*,\s*['"]([^'"]+)['"]""")
TASK_LISTS = ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers")


@dataclass
class Document:
    """A policy document to check: where it comes from, and its text or parsed value."""

    source: str
    text: str | None = None
    value: Any = None
    problem: str | None = None


class AnyTagLoader(yaml.SafeLoader):
    """Reads Ansible YAML whatever its tags (!vault, !unsafe)."""


AnyTagLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


# --- reading templates ---------------------------------------------------------------------


def without_jinja(text: str) -> str:
    """The template as JSON text: comments and tags dropped, expressions replaced by placeholders."""
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.DOTALL)
    text = re.sub(r"\{%.*?%\}", "", text, flags=re.DOTALL)
    out: list[str] = []
    in_string = False
    index = 0
    while index < len(text):
        if text.startswith("{{", index):
            end = text.find("}}", index + 2)
            end = len(text) if end < 0 else end + 2
            out.append(PLACEHOLDER if in_string else f'"{PLACEHOLDER}"')
            index = end
            continue
        char = text[index]
        if in_string and char == "\\":
            out.append(text[index : index + 2])
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        index += 1
    return re.sub(r",(\s*[\]}])", r"\1", "".join(out))


def parse_document(document: Document) -> Any:
    if document.value is not None or document.text is None:
        return document.value
    try:
        return json.loads(without_jinja(document.text))
    except json.JSONDecodeError as err:
        document.problem = (
            f"not JSON once comments, tags and expressions are replaced ({err.msg}, line {err.lineno}); "
            "keep the template plain JSON with {{ }} values"
        )
        return None


# --- checking ------------------------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement_problems(statement: Any) -> list[str]:
    if not isinstance(statement, dict):
        return [f"is not an object: {statement!r}"]
    effect = statement.get("Effect")
    if effect == "Deny":
        return []
    if effect != "Allow":
        return [f"Effect must be written as Allow or Deny, found {effect!r}"]
    problems = [
        f"uses {key}: allowing everything but a list grants too much"
        for key in ("NotAction", "NotResource")
        if key in statement
    ]
    actions = as_list(statement.get("Action", []))
    if not actions:
        problems.append("has no Action")
    for action in actions:
        if not isinstance(action, str) or PLACEHOLDER in action:
            problems.append(f"Action {action!r} is templated; write actions literally")
        elif "*" in action or "?" in action:
            problems.append(f"Action {action!r} has a wildcard; list the actions")
    if "Resource" not in statement:
        if "NotResource" not in statement:
            problems.append("has no Resource")
        return problems
    if "*" in as_list(statement["Resource"]):
        others = sorted(str(a) for a in actions if not (isinstance(a, str) and a.lower() in RESOURCE_STAR_KEYS))
        if others:
            problems.append(
                f'Resource "*" for {", ".join(others)}; only {", ".join(RESOURCE_STAR_ACTIONS)} may have it '
                "(scope the others to ARNs)"
            )
    return problems


def document_problems(document: Document) -> list[str]:
    policy = parse_document(document)
    if document.problem:
        return [document.problem]
    if not isinstance(policy, dict) or "Statement" not in policy:
        return ["is not a policy document (no Statement)"]
    problems = []
    for index, statement in enumerate(as_list(policy["Statement"])):
        name = statement.get("Sid", index) if isinstance(statement, dict) else index
        problems.extend(f"statement {name}: {problem}" for problem in statement_problems(statement))
    return problems


# --- finding the documents -----------------------------------------------------------------


def tasks(node: Any) -> Iterator[dict[str, Any]]:
    """Every task in a task file or playbook, inside blocks, rescue, always and play sections too."""
    if isinstance(node, list):
        for item in node:
            yield from tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in TASK_LISTS:
            if isinstance(node.get(key), list):
                yield from tasks(node[key])


def templates_dirs(task_file: Path) -> list[Path]:
    """Where lookup('template') looks for a task file: its role's templates/, or beside the playbook."""
    parts = task_file.relative_to(ROOT).parts
    if parts[0] == "roles" and len(parts) > 2:
        return [ROOT / "roles" / parts[1] / "templates"]
    return [task_file.parent / "templates", task_file.parent]


def task_documents(task_file: Path, task: dict[str, Any]) -> list[Document]:
    module = next((key for key in task if key in POLICY_ARGUMENTS), None)
    if module is None or not isinstance(task[module], dict):
        return []
    args = task[module]
    if args.get("state") == "absent":
        return []
    where = f"{task_file.relative_to(ROOT)}: task {task.get('name')!r}"
    policy = args.get(POLICY_ARGUMENTS[module])
    if policy is None:
        return []
    if isinstance(policy, (dict, list)):
        return [Document(where, text=json.dumps(policy))]
    names = TEMPLATE_LOOKUP.findall(str(policy))
    if names:
        documents = []
        for name in names:
            found = next((d / name for d in templates_dirs(task_file) if (d / name).is_file()), None)
            if found is None:
                documents.append(Document(where, problem=f"template {name} not found"))
            else:
                documents.append(Document(str(found.relative_to(ROOT)), text=found.read_text(encoding="utf-8")))
        return documents
    if "{{" not in str(policy):
        return [Document(where, text=str(policy))]
    return [
        Document(
            where,
            problem=f"{POLICY_ARGUMENTS[module]} is an expression this check cannot read ({policy!r}); "
            "write the document in a template file and pass lookup('ansible.builtin.template', FILE)",
        )
    ]


def project_documents() -> list[Document]:
    files = sorted(
        path
        for pattern in ("roles/*/tasks/**/*.y*ml", "roles/*/handlers/**/*.y*ml", "playbooks/**/*.y*ml")
        for path in ROOT.glob(pattern)
    )
    documents: dict[str, Document] = {}
    for path in files:
        try:
            content = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=AnyTagLoader))
        except yaml.YAMLError as err:
            documents[str(path)] = Document(str(path.relative_to(ROOT)), problem=f"not valid YAML: {err}")
            continue
        for task in tasks(content):
            for document in task_documents(path, task):
                # A template named by several tasks (or one looping task) is checked once.
                documents.setdefault(f"{document.source}: {document.problem or ''}", document)
    for path in sorted(ROOT.glob("roles/*/templates/instance_policy*.json.j2")):
        source = str(path.relative_to(ROOT))
        documents.setdefault(f"{source}: ", Document(source, text=path.read_text(encoding="utf-8")))
    return list(documents.values())


# --- modes ---------------------------------------------------------------------------------


def check_project() -> int:
    documents = project_documents()
    failures = 0
    for document in documents:
        for problem in document_problems(document):
            failures += 1
            print(f"FAILED {POLICY_ID} {document.source}: {problem}")
    sources = ", ".join(document.source for document in documents) or "none found"
    print(f"iam 1/2 policy documents in roles/ and playbooks/: {len(documents)} ({sources}), {failures} problems")
    return 1 if failures else 0


def check_fixtures(directory: Path) -> int:
    """Every bad fixture must fail for the reason its comment expects, every good one pass, and there must be both.

    A bad fixture says in a Jinja comment `expect: <text>`; one of the problems
    found must contain that text, so a fixture cannot pass by failing for
    another reason (unreadable, say).
    """
    problems: list[str] = []
    bad = sorted(directory.glob(f"{POLICY_ID}.*.json.j2"))
    good = sorted(directory.glob("pass.*.json.j2"))
    caught = 0
    for path in bad:
        text = path.read_text(encoding="utf-8")
        expected = EXPECT.search(text)
        found = document_problems(Document(path.name, text=text))
        if expected is None:
            problems.append(f"{path.name}: no `expect: <text>` in a Jinja comment saying which problem it shows")
        elif any(expected.group(1) in problem for problem in found):
            caught += 1
        else:
            problems.append(f"{path.name}: expected a problem with {expected.group(1)!r}, found {found or 'none'}")
    for path in good:
        for problem in document_problems(Document(path.name, text=path.read_text(encoding="utf-8"))):
            problems.append(f"{path.name} (good fixture): {problem}")
    if not bad:
        problems.append(f"no bad fixture {directory}/{POLICY_ID}.<case>.json.j2")
    if not good:
        problems.append(f"no good fixture {directory}/pass.<case>.json.j2")
    for problem in problems:
        print(f"FIXTURE PROBLEM {problem}")
    print(
        f"iam 2/2 {directory}/*.json.j2: {caught} of {len(bad)} bad fixtures failed as intended, "
        f"{len(good)} good, {len(problems)} problems"
    )
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", type=Path, help="check the fixture templates in this folder instead")
    args = parser.parse_args(argv)
    return check_fixtures(args.fixtures) if args.fixtures else check_project()


if __name__ == "__main__":
    sys.exit(main())
