#!/usr/bin/env bash
# Check the project's security policies (policies/*.yaml, read policies/README.md)
# with checkov's Ansible framework:
#   1. over roles/ and playbooks/: fails on any failed check;
#   2. over policies/fixtures/: fails unless every bad fixture is caught by its
#      policy and the good fixtures pass, so a policy that matches nothing shows.
# checkov pins an old boto3, so it lives in its own venv (.cache/checkov-venv,
# or CHECKOV_VENV), created on first use and reused while it holds the pinned
# version. No network at scan time: no platform mapping, no policy download,
# no update check.
#   scripts/security_policies.sh
set -euo pipefail

CHECKOV_VERSION=3.3.30
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CHECKOV_VENV:-$ROOT/.cache/checkov-venv}"
MARKER="$VENV/.checkov-$CHECKOV_VERSION"

# Built-in checks skipped, each with its reason:
#   CKV2_ANSIBLE_3 wants a `rescue` on every block. Our blocks only share a
#   `when` and `vars` between tasks (roles/*/tasks/teardown*.yml: what runs
#   once something of the layer is found); a rescue would hide the failure the
#   run must stop on.
SKIPPED_BUILTIN_CHECKS=CKV2_ANSIBLE_3

cd "$ROOT"

installed_version() {
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null || true
}

# One install at a time: two runs sharing the venv (make test beside
# make policies) would otherwise delete it under each other.
mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9
if [[ ! -f "$MARKER" || "$(installed_version)" != "$CHECKOV_VERSION" ]]; then
  echo "Installing checkov $CHECKOV_VERSION into ${VENV#"$ROOT"/} (first run only)..." >&2
  rm -rf "$VENV"
  python3 -m venv --without-pip "$VENV"
  if [[ -x "$ROOT/.venv/bin/uv" ]]; then
    # uv (pinned in requirements.txt) downloads and installs checkov's ~100
    # dependencies in parallel: about 20 s where pip took about 100 s
    # (docs/PERFORMANCE.md). It reads its own index settings (UV_DEFAULT_INDEX,
    # uv.toml), not pip.conf. The bytecode is compiled now, as pip does: with
    # PYTHONDONTWRITEBYTECODE set, every scan would compile checkov again.
    "$ROOT/.venv/bin/uv" pip install --quiet --compile-bytecode --python "$VENV/bin/python" \
      "checkov==$CHECKOV_VERSION"
  else
    # The project's venv predates uv: pip, wheels only (every dependency has one).
    "$VENV/bin/python" -m ensurepip --default-pip >/dev/null
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --only-binary=:all: "checkov==$CHECKOV_VERSION"
  fi
  touch "$MARKER"
fi
exec 9>&-

export BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true
# checkov reads these as --check / --skip-check: only this script picks checks.
unset CKV_CHECK CKV_SKIP_CHECK

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# checkov loads every YAML file under --external-checks-dir, fixtures included:
# hand it the policies alone.
mkdir "$WORK/policies"
shopt -s nullglob
policy_files=(policies/*.yaml policies/*.yml)
shopt -u nullglob
if ((${#policy_files[@]} == 0)); then
  echo "No policies in policies/*.yaml" >&2
  exit 1
fi
cp "${policy_files[@]}" "$WORK/policies/"

# report MODE JSON: summarise one checkov run; exit status 1 when the step fails.
report() {
  "$VENV/bin/python" - "$@" <<'PY'
import glob
import json
import os
import re
import sys

import yaml

mode, report_path, policy_dir = sys.argv[1:4]


def policy_ids() -> dict[str, str]:
    """Policy id -> file, from the staged copy of policies/*.yaml."""
    ids: dict[str, str] = {}
    for path in sorted(glob.glob(os.path.join(policy_dir, "*.y*ml"))):
        name = "policies/" + os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as handle:
                policy = yaml.safe_load(handle)
        except yaml.YAMLError as err:
            sys.exit(f"{name}: not valid YAML: {err}".replace(path, name))
        if not isinstance(policy, dict) or "definition" not in policy:
            sys.exit(f"{name}: not a checkov policy (needs metadata and definition)")
        policy_id = (policy.get("metadata") or {}).get("id")
        if not policy_id:
            sys.exit(f"{name}: no metadata.id")
        if policy_id in ids:
            sys.exit(f"{name}: id {policy_id} is also used by {ids[policy_id]}")
        ids[policy_id] = name
    return ids


if mode == "ids":
    print(",".join(policy_ids()))
    sys.exit(0)

try:
    with open(report_path, encoding="utf-8") as handle:
        data = json.load(handle)
except (OSError, ValueError) as err:
    sys.exit(f"checkov wrote no readable JSON report ({err}); see its messages above")
if isinstance(data, list):  # one report per framework; only ansible runs here
    data = next((d for d in data if d.get("check_type") == "ansible"), {})
results = data.get("results", {})
passed = results.get("passed_checks", [])
failed = results.get("failed_checks", [])
skipped = results.get("skipped_checks", [])
parse_errors = results.get("parsing_errors", [])


def where(result: dict) -> str:
    path = os.path.relpath(result["file_abs_path"])
    first, last = result["file_line_range"]
    return f"{path}:{first}-{last} {result['resource']}"


class AnyTagLoader(yaml.SafeLoader):
    """Reads Ansible YAML whatever its tags (!vault, !unsafe)."""


AnyTagLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def policy_modules() -> dict[str, set[str]]:
    """Module FQCN -> ids of the policies whose resource_types name it."""
    modules: dict[str, set[str]] = {}

    def walk(node: object, policy_id: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "resource_types":
                    for resource_type in [value] if isinstance(value, str) else value:
                        module = re.sub(r"^tasks\.(block\.)*", "", resource_type)
                        modules.setdefault(module, set()).add(policy_id)
                else:
                    walk(value, policy_id)
        elif isinstance(node, list):
            for item in node:
                walk(item, policy_id)

    for path in glob.glob(os.path.join(policy_dir, "*.y*ml")):
        with open(path, encoding="utf-8") as handle:
            policy = yaml.safe_load(handle)
        walk(policy["definition"], policy["metadata"]["id"])
    return modules


def unseen_tasks(files: list[str], results: list[dict]) -> list[str]:
    """Tasks using a policy's module that checkov evaluated for none of them.

    checkov reads only `block` lists and a play's `tasks`, and names a task
    after its first key that is not a task keyword (`with_items` is not one).
    """
    modules = policy_modules()
    seen = {(os.path.relpath(r["file_abs_path"]), r["check_id"], r["resource"]) for r in results}
    missing: list[str] = []

    def visit(node: object, path: str, prefix: str) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, path, prefix)
            return
        if not isinstance(node, dict):
            return
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            if isinstance(node.get(key), list):
                visit(node[key], path, prefix + "block." if key == "block" else prefix)
        # The module an action:/local_action: task calls (checkov sees neither form).
        action = next((node[key] for key in ("action", "local_action") if key in node), None)
        if isinstance(action, dict):
            action = action.get("module")
        action = action.split()[0] if isinstance(action, str) and action.split() else None
        for module, policy_ids in modules.items():
            if "." in module and module.rsplit(".", 1)[-1] in node:
                missing.append(f"{path}: task {node.get('name')!r} names {module} without its collection; write the FQCN")
            # A policy naming a module by its short name (one found through
            # ansible.cfg's library): ansible.legacy.<name> (or any prefix) runs
            # it too, unseen. The project's own modules are named by FQCN.
            if "." not in module:
                for key in node:
                    if isinstance(key, str) and key.endswith("." + module):
                        missing.append(f"{path}: task {node.get('name')!r} names {module} as {key}; write its short name")
            if action and (action == module or action.endswith("." + module.rsplit(".", 1)[-1])
                           or action == module.rsplit(".", 1)[-1]):
                missing.append(f"{path}: task {node.get('name')!r} calls {module} through action/local_action;"
                               " write the module as the task's key")
            if module in node:
                resource = f"tasks.{prefix}{module}.{node.get('name') or 'unknown'}"
                for policy_id in sorted(policy_ids):
                    if (path, policy_id, resource) not in seen:
                        missing.append(f"{path}: {policy_id} did not see {module} task {node.get('name')!r}")

    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                documents = list(yaml.load_all(handle, Loader=AnyTagLoader))
        except yaml.YAMLError:
            continue  # checkov reports it as a parsing error
        for document in documents:
            visit(document, os.path.relpath(path), "")
    return missing


if mode == "tree":
    unseen = unseen_tasks(sys.argv[4:], passed + failed + skipped)
    for line in unseen:
        print(f"UNCHECKED {line}")
    if unseen:
        print("  checkov reads only `block` lists and plays' `tasks`, and takes a task's first key that is not")
        print("  a keyword as its module: move such tasks out of rescue/always, and with_* below the module;")
        print("  name modules as the policies do, as the task's key (not through action/local_action).")
    for result in failed:
        print(f"FAILED {result['check_id']} {where(result)}")
    for check_id, result in sorted({r["check_id"]: r for r in failed}.items()):
        guide = f" (see {result['guideline']})" if result.get("guideline") else ""
        print(f"  {check_id}: {result['check_name']}{guide}")
    for result in skipped:
        reason = (result.get("check_result") or {}).get("suppress_comment", "")
        print(f"skipped {result['check_id']} {where(result)}: {reason}")
    for path in parse_errors:
        print(f"PARSE ERROR {os.path.relpath(path)}: checkov could not read it, so checked nothing in it")
    print(
        f"step 1/2 roles/ and playbooks/: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped"
        f"{f', {len(unseen)} tasks unchecked' if unseen else ''}"
        f"{f', {len(parse_errors)} unreadable files' if parse_errors else ''}"
    )
    sys.exit(1 if failed or unseen or parse_errors else 0)

# mode == "fixtures": bad fixtures are named <POLICY_ID>.<case>.yml and must be
# failed by that policy on every task it applies to, and by no other policy;
# good fixtures are named pass.<case>.yml and must fail no policy.
ids = policy_ids()
problems: list[str] = []
by_file: dict[str, dict[str, list]] = {}
for status, items in (("passed", passed), ("failed", failed), ("skipped", skipped)):
    for result in items:
        entry = by_file.setdefault(os.path.basename(result["file_abs_path"]), {})
        entry.setdefault(status, []).append(result)

fixtures = sorted(os.path.basename(p) for p in glob.glob("policies/fixtures/*.y*ml"))
caught: dict[str, int] = {policy_id: 0 for policy_id in ids}
passes_in_good: dict[str, int] = {policy_id: 0 for policy_id in ids}
good_files = 0
for fixture in fixtures:
    found = by_file.get(fixture, {})
    for result in found.get("skipped", []):
        problems.append(f"{fixture}: suppression comment on {where(result)}; fixtures must not suppress")
    match = re.fullmatch(r"(?P<expect>[^.]+)\.[^.]+\.ya?ml", fixture)
    expect = match["expect"] if match else None
    if expect == "pass":
        good_files += 1
        for result in found.get("failed", []):
            problems.append(f"{fixture} (good fixture): {result['check_id']} failed {where(result)}")
        for result in found.get("passed", []):
            passes_in_good[result["check_id"]] = passes_in_good.get(result["check_id"], 0) + 1
    elif expect in ids:
        own_failed = [r for r in found.get("failed", []) if r["check_id"] == expect]
        if not own_failed:
            problems.append(f"{fixture}: {expect} reported no violation; the policy matches nothing here")
        for result in found.get("passed", []):
            if result["check_id"] == expect:
                problems.append(f"{fixture}: {expect} passed {where(result)}, a task meant to violate it")
        for result in found.get("failed", []):
            if result["check_id"] != expect:
                problems.append(f"{fixture}: {result['check_id']} also failed {where(result)}; keep fixtures to one policy")
        caught[expect] += len(own_failed)
    else:
        problems.append(
            f"{fixture}: name it <policy id>.<case>.yml (ids: {', '.join(ids)}) or pass.<case>.yml"
        )

for policy_id, name in ids.items():
    if not any(f.startswith(policy_id + ".") for f in fixtures):
        problems.append(f"{name}: {policy_id} has no bad fixture policies/fixtures/{policy_id}.<case>.yml")
    if not passes_in_good.get(policy_id):
        problems.append(f"{name}: {policy_id} passed no task in the good fixtures (policies/fixtures/pass.*.yml)")
for path in parse_errors:
    problems.append(f"{os.path.relpath(path)}: checkov could not parse it")

for problem in problems:
    print(f"FIXTURE PROBLEM {problem}")
print(
    f"step 2/2 policies/fixtures/: {sum(caught.values())} failed as intended in {len(fixtures) - good_files}"
    f" bad fixtures ({', '.join(f'{k} {v}' for k, v in caught.items())}),"
    f" {sum(passes_in_good.values())} passed in {good_files} good, {len(problems)} problems"
)
sys.exit(1 if problems else 0)
PY
}

# The flags both runs share: our policies, no network, JSON for report().
CHECKOV=("$VENV/bin/checkov" --framework ansible --external-checks-dir "$WORK/policies"
  --skip-download --output json)
status=0

# The policies' ids, checked before any scan: a policy checkov cannot load is
# only a warning to checkov.
ids="$(report ids - "$WORK/policies")"

# Step 1: the project's Ansible code, with checkov's built-in Ansible checks.
mapfile -t tree_files < <(find roles playbooks -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
# -f per file rather than -d roles -d playbooks: checkov 3.3.30 carries the
# first directory's files into the second's report, counting them twice.
"${CHECKOV[@]}" --file "${tree_files[@]}" --skip-check "$SKIPPED_BUILTIN_CHECKS" \
  >"$WORK/tree.json" || true
report tree "$WORK/tree.json" "$WORK/policies" "${tree_files[@]}" || status=1

# Step 2: the fixtures, with the project's policies only.
"${CHECKOV[@]}" --directory policies/fixtures --check "$ids" >"$WORK/fixtures.json" || true
report fixtures "$WORK/fixtures.json" "$WORK/policies" || status=1

# IAM policy documents (CKV2_WEBSTACK_13): Jinja templates passed through
# lookup('template'), which checkov cannot read. scripts/check_iam_policies.py
# checks the ones the roles grant, then proves on policies/fixtures/*.json.j2
# that it fires. It needs only PyYAML, which checkov's venv has.
"$VENV/bin/python" scripts/check_iam_policies.py || status=1
"$VENV/bin/python" scripts/check_iam_policies.py --fixtures policies/fixtures || status=1

# The WAF in front of every internet-facing ALB: checkov cannot relate the ALB
# task to the association task. scripts/check_edge_waf.py checks roles/ and
# playbooks/, then proves on policies/fixtures/waf/ that it fires. PyYAML only.
"$VENV/bin/python" scripts/check_edge_waf.py || status=1
"$VENV/bin/python" scripts/check_edge_waf.py --fixtures policies/fixtures/waf || status=1

exit "$status"
