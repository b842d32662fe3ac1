#!/usr/bin/env python3
"""Check that a WAF web ACL of the same role protects every internet-facing ALB the Ansible code serves.

    scripts/check_edge_waf.py [DIR ...]          the project (default: roles playbooks)
    scripts/check_edge_waf.py --fixtures DIR     DIR/pass*/ must pass; every other DIR/<case>/ must fail
                                                 with the problem its `# expect: <text>` comment names

checkov looks at one task at a time and cannot relate the ALB task to the
task that puts a web ACL in front of it; this script reads the task files of
every DIR (all *.yml and *.yaml; tasks of plays and blocks, rescue, always
and handlers included) with PyYAML and does. The rule, kept simple on purpose:

- A *public ALB task* is an elb_application_lb task (amazon.aws, the old
  community.aws name, the short name or any other prefix) whose `state` is not
  literally `absent`, whose `scheme` is not literally `internal` (left out, the
  module's default is internet-facing; a templated scheme counts as
  internet-facing), and that declares `listeners` (anything but an empty
  list: a template counts). A task without listeners opens no port (lifting deletion
  protection, changing tags); the task that declares them is the one checked.
- Its *unit* is the role holding the file (the directory `roles/<name>/`), or
  the playbook file itself when the file is not in a role.
- It must `register` its result. The names that *refer to* it are that
  variable and, repeatedly, every fact a set_fact task of the unit assigns from
  an expression that mentions one of them (`__edge_alb` -> `__edge_alb_arn`).
  To mention a name is to use it as a variable inside `{{ }}` or `{% %}`.
- The unit must have a `community.aws.wafv2_web_acl` task with `state: present`,
  and a `wafv2_web_acl_association` task (the project's module, any prefix)
  whose `state` is `present` or left out, whose `resource_arn` mentions a name
  that refers to the ALB, and whose `web_acl_arn` mentions a name that refers
  to one of those web ACL tasks (their register, or facts assigned from it).
  Web ACL, association and set_fact tasks under `rescue`, `always` or
  `handlers` do not count: they run only on a failure or a notification.

Not evaluated: `when` conditions, loops, `args:`, `module_defaults`, variables
set elsewhere (`vars:`, include parameters, inventories), a WAF attached to the
ALB outside this code, and community.aws.wafv2_resources (the project uses its
own association module, which works against the emulator). A public ALB task
written through `action:` / `local_action:` cannot be read and fails.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIRS = ("roles", "playbooks")
CHECK = "WAF"

ALB_MODULE = "elb_application_lb"
ASSOCIATION_MODULE = "wafv2_web_acl_association"
WEB_ACL_MODULE = "community.aws.wafv2_web_acl"
SET_FACT_MODULE = "set_fact"
# Keys whose value is a list of tasks (a play's, a block's).
TASK_LISTS = ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers")
# Tasks there run only on a failure or a notification: they protect nothing.
CONDITIONAL_TASK_LISTS = ("rescue", "always", "handlers")
# Jinja expressions and statements, where a variable can be used.
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
EXPECT = re.compile(r"#\s*expect:\s*(.+?)\s*$", re.MULTILINE)


class LineDict(dict):
    """A YAML mapping that remembers the line it starts on."""

    line: int = 0


class TaskLoader(yaml.SafeLoader):
    """Reads Ansible YAML whatever its tags (!vault, !unsafe), keeping line numbers."""


def _construct_mapping(loader: TaskLoader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict()
    data.line = node.start_mark.line + 1
    yield data
    data.update(loader.construct_mapping(node))


TaskLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
TaskLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@dataclass(frozen=True)
class Task:
    path: Path
    line: int
    name: str
    module: str
    args: Any
    register: str | None
    # False under rescue, always or handlers: it runs only on a failure or a notification.
    always_runs: bool = True

    def where(self) -> str:
        return f"{display(self.path)}:{self.line} task {self.name!r}"


@dataclass
class Unit:
    """A role, or a playbook outside roles: the tasks that may refer to each other's results."""

    key: Path
    tasks: list[Task] = field(default_factory=list)


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def is_module(key: str, module: str) -> bool:
    """`key` calls `module` (a short name: any prefix; a FQCN: exactly)."""
    if "." in module:
        return key == module
    return key == module or key.endswith("." + module)


def task_module(task: dict[str, Any]) -> tuple[str, Any] | None:
    """The module among those this check knows, and its arguments."""
    for key, value in task.items():
        if not isinstance(key, str):
            continue
        for module in (ALB_MODULE, ASSOCIATION_MODULE, WEB_ACL_MODULE, SET_FACT_MODULE):
            if is_module(key, module):
                return module, value
    for key in ("action", "local_action"):
        action = task.get(key)
        if isinstance(action, dict):
            action = action.get("module")
        if isinstance(action, str) and action.split() and is_module(action.split()[0], ALB_MODULE):
            return f"{ALB_MODULE} through {key}", None
    return None


def iter_tasks(node: Any, path: Path, always_runs: bool = True) -> Iterator[Task]:
    if isinstance(node, list):
        for item in node:
            yield from iter_tasks(item, path, always_runs)
        return
    if not isinstance(node, dict):
        return
    nested = [key for key in TASK_LISTS if isinstance(node.get(key), list)]
    for key in nested:
        yield from iter_tasks(node[key], path, always_runs and key not in CONDITIONAL_TASK_LISTS)
    if nested:
        return
    found = task_module(node)
    if found is None:
        return
    module, args = found
    register = node.get("register")
    yield Task(
        path=path,
        line=getattr(node, "line", 0),
        name=str(node.get("name") or "unnamed"),
        module=module,
        args=args,
        register=register if isinstance(register, str) else None,
        always_runs=always_runs,
    )


def unit_key(path: Path) -> Path:
    """roles/<name>/ for a file in a role, the file itself otherwise."""
    parts = path.parts
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] == "roles" and index + 2 < len(parts):
            return Path(*parts[: index + 2])
    return path


def load_units(directories: Iterable[Path]) -> tuple[list[Unit], list[str]]:
    units: dict[Path, Unit] = {}
    problems: list[str] = []
    files = sorted(
        {path for directory in directories for pattern in ("*.yml", "*.yaml") for path in directory.rglob(pattern)}
    )
    for path in files:
        try:
            with path.open(encoding="utf-8") as handle:
                documents = list(yaml.load_all(handle, Loader=TaskLoader))
        except yaml.YAMLError as err:
            problems.append(f"{display(path)}: not readable YAML ({err}), so nothing in it was checked")
            continue
        key = unit_key(path)
        unit = units.setdefault(key, Unit(key))
        for document in documents:
            unit.tasks.extend(iter_tasks(document, path))
    return list(units.values()), problems


def jinja_mentions(value: Any, names: set[str]) -> bool:
    """A string in `value` uses one of `names` as a variable inside {{ }} or {% %}."""
    if isinstance(value, dict):
        return any(jinja_mentions(item, names) for item in value.values())
    if isinstance(value, list):
        return any(jinja_mentions(item, names) for item in value)
    if not isinstance(value, str) or not names:
        return False
    pattern = re.compile(r"(?<![\w.])(?:" + "|".join(map(re.escape, sorted(names))) + r")(?!\w)")
    return any(pattern.search(expression) for expression in JINJA.findall(value))


def facts(unit: Unit) -> list[tuple[str, Any]]:
    assigned: list[tuple[str, Any]] = []
    for task in unit.tasks:
        if task.module == SET_FACT_MODULE and task.always_runs and isinstance(task.args, dict):
            assigned.extend((str(name), value) for name, value in task.args.items() if name != "cacheable")
    return assigned


def referring_names(seeds: set[str], assigned: list[tuple[str, Any]]) -> set[str]:
    """The seeds and every fact assigned, directly or through other facts, from them."""
    names = set(seeds)
    grown = True
    while grown:
        grown = False
        for name, value in assigned:
            if name not in names and jinja_mentions(value, names):
                names.add(name)
                grown = True
    return names


def arg(task: Task, name: str) -> Any:
    return task.args.get(name) if isinstance(task.args, dict) else None


def is_public_alb(task: Task) -> bool:
    if not task.module.startswith(ALB_MODULE):
        return False
    if task.module != ALB_MODULE:  # through action/local_action: unreadable, fail closed
        return True
    return (
        arg(task, "state") != "absent"
        and arg(task, "scheme") != "internal"
        and arg(task, "listeners") not in (None, [])
    )


def alb_problems(alb: Task, unit: Unit) -> list[str]:
    where = display(unit.key)
    if alb.module != ALB_MODULE:
        return [f"calls {alb.module}, which this check cannot read; write the module as the task's key"]
    if alb.register is None:
        return ["serves an internet-facing ALB but registers nothing, so no WAF association can refer to it"]
    assigned = facts(unit)
    alb_names = referring_names({alb.register}, assigned)
    shown = ", ".join(sorted(alb_names))
    problems: list[str] = []
    web_acls = [
        task
        for task in unit.tasks
        if task.module == WEB_ACL_MODULE and task.always_runs and arg(task, "state") == "present"
    ]
    if not web_acls:
        problems.append(f"no {WEB_ACL_MODULE} task with state: present in {where}")
    acl_names = referring_names({task.register for task in web_acls if task.register}, assigned)
    associations = [task for task in unit.tasks if task.module == ASSOCIATION_MODULE and task.always_runs]
    if not associations:
        problems.append(f"no {ASSOCIATION_MODULE} task in {where} puts a web ACL in front of it (refer to {shown})")
        return problems
    rejected: list[str] = []
    for association in associations:
        reasons: list[str] = []
        if arg(association, "state") not in (None, "present"):
            reasons.append(f"state is {arg(association, 'state')}")
        if not jinja_mentions(arg(association, "resource_arn"), alb_names):
            reasons.append(f"resource_arn does not refer to it ({shown})")
        if not jinja_mentions(arg(association, "web_acl_arn"), acl_names):
            reasons.append(f"web_acl_arn does not refer to a present {WEB_ACL_MODULE} task of {where}")
        if not reasons:
            return problems
        rejected.append(f"line {association.line} ({display(association.path)}): {', '.join(reasons)}")
    problems.append(f"no {ASSOCIATION_MODULE} task in {where} protects it: {'; '.join(rejected)}")
    return problems


def check(directories: Iterable[Path]) -> tuple[list[Task], list[str]]:
    """The public ALB tasks found, and one line per problem."""
    units, problems = load_units(directories)
    albs: list[Task] = []
    for unit in units:
        for task in unit.tasks:
            if is_public_alb(task):
                albs.append(task)
                problems.extend(f"{task.where()}: {problem}" for problem in alb_problems(task, unit))
    return albs, problems


# --- modes ---------------------------------------------------------------------------------


def check_tree(directories: list[Path]) -> int:
    missing = [directory for directory in directories if not directory.is_dir()]
    if missing:
        print(f"FAILED {CHECK}: not a directory: {', '.join(map(str, missing))}")
        return 1
    albs, problems = check(directories)
    for problem in problems:
        print(f"FAILED {CHECK} {problem}")
    found = ", ".join(alb.where() for alb in albs) or "none found"
    tasks = "task" if len(albs) == 1 else "tasks"
    print(
        f"waf 1/2 {' '.join(map(display, directories))}: {len(albs)} internet-facing ALB {tasks} ({found}),"
        f" {len(problems)} problems"
    )
    return 1 if problems else 0


def expected_problem(case: Path) -> str | None:
    for path in sorted(case.rglob("*.y*ml")):
        match = EXPECT.search(path.read_text(encoding="utf-8"))
        if match:
            return match.group(1)
    return None


def check_fixtures(directory: Path) -> int:
    """Each subdirectory is a case: pass* must pass (and contain a public ALB), the others fail as they expect.

    A bad case says in a YAML comment `# expect: <text>`; one of the problems
    found must contain that text, so a case cannot pass by failing for another
    reason.
    """
    problems: list[str] = []
    cases = sorted(path for path in directory.iterdir() if path.is_dir()) if directory.is_dir() else []
    good = [case for case in cases if case.name.startswith("pass")]
    bad = [case for case in cases if not case.name.startswith("pass")]
    caught = 0
    for case in good:
        albs, found = check([case])
        problems.extend(f"{case.name} (good fixture): {problem}" for problem in found)
        if not albs:
            problems.append(f"{case.name} (good fixture): no internet-facing ALB task, so it proves nothing")
    for case in bad:
        expected = expected_problem(case)
        _, found = check([case])
        if expected is None:
            problems.append(f"{case.name}: no `# expect: <text>` comment saying which problem it shows")
        elif any(expected in problem for problem in found):
            caught += 1
        else:
            problems.append(f"{case.name}: expected a problem with {expected!r}, found {found or 'none'}")
    if not bad:
        problems.append(f"no bad fixture {directory}/<case>/")
    if not good:
        problems.append(f"no good fixture {directory}/pass<case>/")
    for problem in problems:
        print(f"FIXTURE PROBLEM {problem}")
    print(
        f"waf 2/2 {directory}/: {caught} of {len(bad)} bad fixtures failed as intended, {len(good)} good,"
        f" {len(problems)} problems"
    )
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directories", nargs="*", type=Path, help="folders to scan (default: roles playbooks)")
    parser.add_argument("--fixtures", type=Path, help="check the fixture cases in this folder instead")
    args = parser.parse_args(argv)
    if args.fixtures:
        return check_fixtures(args.fixtures)
    return check_tree(args.directories or [ROOT / name for name in DEFAULT_DIRS])


if __name__ == "__main__":
    sys.exit(main())
