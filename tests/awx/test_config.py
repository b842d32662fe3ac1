"""The configuration in awx/configs/ names what exists and asks only for what the playbooks take.

- Every job template's playbook is in the repository, its inventory is
  configured, and that inventory's sources are the repository's files.
- Every survey variable and fixed extra var is a declared input of what it
  feeds: an option of the argument specs (meta/argument_specs.yml) of a role the
  playbook runs, or a variable the playbook itself reads and documents in its
  comments (provision_layers, confirm_teardown, ...).
- Every survey choice is a value the inventory validation accepts, and every
  default is the inventory's own value, so that launching with the defaults
  changes nothing the inventory does not say.
- A teardown is never one click; the deploy workflow is provision, bundle, configure.
- prod and staging are configured alike (awx/apply.yml is checked on staging's).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import awx

ROOT = awx.ROOT
CONFIG = awx.config()
TEMPLATES = CONFIG["controller_templates"]
TEMPLATE_IDS = [template["name"] for template in TEMPLATES]


def env_of(name: str) -> str:
    return name.removeprefix("webstack-").split(":")[0]


@cache
def playbook_roles_and_text(playbook: str) -> tuple[frozenset[str], str]:
    """The roles a playbook runs (roles: and include_role, through import_playbook), and its text."""
    path = ROOT / playbook
    text = path.read_text()
    roles: set[str] = set()
    for play in yaml.safe_load(text) or []:
        if "ansible.builtin.import_playbook" in play:
            more, more_text = playbook_roles_and_text(
                str(Path(playbook).parent / play["ansible.builtin.import_playbook"])
            )
            roles |= more
            text += more_text
            continue
        roles |= {entry["role"] if isinstance(entry, dict) else entry for entry in play.get("roles", [])}
        for task in play.get("tasks", []):
            if "ansible.builtin.include_role" in task:
                roles.add(task["ansible.builtin.include_role"]["name"])
    return frozenset(roles), text


def declared_inputs(playbook: str) -> set[str]:
    """The argument specs' options of every entry point of every role the playbook runs."""
    roles, _ = playbook_roles_and_text(playbook)
    names: set[str] = set()
    for role in roles:
        specs = awx.load_yaml(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
        for entry in specs.values():
            names |= set((entry or {}).get("options", {}))
    return names


def documented_playbook_vars(playbook: str) -> set[str]:
    """Variables the playbook reads in its tasks and names in its comments."""
    _, text = playbook_roles_and_text(playbook)
    comments = " ".join(line.split("#", 1)[1] for line in text.splitlines() if "#" in line)
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    read = set(re.findall(r"\b([a-z][a-z0-9_]*)\s*\|\s*default", code)) | set(
        re.findall(r"\{\{\s*([a-z][a-z0-9_]*)", code)
    )
    return {name for name in read if re.search(rf"\b{name}\b", comments)}


def inventory_vars(env: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted((ROOT / "inventories" / env / "group_vars" / "all").glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


def questions() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(template, question) for template in TEMPLATES for question in awx.survey_questions(template)]


QUESTION_IDS = [f"{template['name']}:{question['variable']}" for template, question in questions()]


@pytest.mark.parametrize("template", TEMPLATES, ids=TEMPLATE_IDS)
def test_template_playbook_inventory_and_sources_exist(template: dict[str, Any]) -> None:
    assert (ROOT / template["playbook"]).is_file(), template["playbook"]
    awx.by_name(CONFIG["controller_inventories"], template["inventory"])
    awx.by_name(CONFIG["controller_projects"], template["project"])
    awx.by_name(CONFIG["controller_execution_environments"], template["execution_environment"])
    for credential in template.get("credentials", []):
        awx.by_name(CONFIG["controller_credentials"], credential)
    sources = [s for s in CONFIG["controller_inventory_sources"] if s["inventory"] == template["inventory"]]
    assert {s["source_path"] for s in sources} == {
        f"inventories/{env_of(template['name'])}",
        f"inventories/{env_of(template['name'])}/instances.aws_ec2.yml",
    }
    for source in sources:
        assert (ROOT / source["source_path"]).exists(), source["source_path"]


@pytest.mark.parametrize("template", TEMPLATES, ids=TEMPLATE_IDS)
def test_every_survey_and_extra_variable_is_a_declared_input(template: dict[str, Any]) -> None:
    playbook = template["playbook"]
    declared = declared_inputs(playbook) | documented_playbook_vars(playbook)
    asked = {question["variable"] for question in awx.survey_questions(template)} | set(template.get("extra_vars", {}))
    assert asked - declared == set(), f"{playbook} declares none of {sorted(asked - declared)}"


def test_the_playbooks_own_variables_are_found() -> None:
    """The check above is not vacuous: it finds each playbook variable the surveys use, and no made-up one."""
    assert "provision_layers" in documented_playbook_vars("playbooks/provision.yml")
    assert "provision_layers" in documented_playbook_vars("playbooks/site.yml")
    assert {"confirm_teardown", "teardown_edge", "teardown_require_confirmation"} <= documented_playbook_vars(
        "playbooks/teardown.yml"
    )
    assert "configure_serial" in documented_playbook_vars("playbooks/configure.yml")
    assert "rotate_secrets" in documented_playbook_vars("playbooks/rotate-secrets.yml")
    assert "data_rotate_redis_grace_seconds" in declared_inputs("playbooks/rotate-secrets.yml")
    assert "compute_frontend_instance_type" in declared_inputs("playbooks/provision.yml")
    assert "compute_frontend_instance_type" not in declared_inputs("playbooks/configure.yml")


def accepted(variable: str, value: Any) -> bool:
    """Whether the inventory validation accepts the value (the rule it applies, read from where it lives)."""
    if variable == "provision_layers":
        # provision.yml's check: a list of these layer names.
        allowed = re.search(r"difference\((\[[^\]]*\])\)", (ROOT / "playbooks" / "provision.yml").read_text())
        assert allowed, "provision.yml's provision_layers check"
        return isinstance(value, list) and set(value) <= set(yaml.safe_load(allowed.group(1)))
    if re.fullmatch(r"compute_(frontend|backend)_instance_type", variable):
        pattern = yaml.safe_load((ROOT / "roles" / "compute" / "vars" / "main.yml").read_text())
        return re.match(pattern["__compute_instance_type_pattern"], value) is not None
    if variable == "teardown_edge":
        return value in ("true", "false")  # teardown.yml reads it with | bool
    if variable == "configure_serial":
        return re.fullmatch(r"[1-9][0-9]*%?", value) is not None  # a play's serial
    if variable == "confirm_teardown":
        return True  # free text, compared with the prefix by teardown.yml
    if variable == "rotate_secrets":
        # rotate-secrets.yml's check: a list of these secrets.
        allowed = re.search(
            r"rotate_secrets:\s+type: list\s+elements: str\s+choices: (\[[^\]]*\])",
            (ROOT / "playbooks" / "rotate-secrets.yml").read_text(),
        )
        assert allowed, "rotate-secrets.yml's rotate_secrets check"
        return isinstance(value, list) and set(value) <= set(yaml.safe_load(allowed.group(1)))
    raise AssertionError(f"{variable}: no rule known for its values; add one here")


@pytest.mark.parametrize(("template", "question"), questions(), ids=QUESTION_IDS)
def test_every_choice_and_default_is_accepted_by_the_validation(
    template: dict[str, Any], question: dict[str, Any]
) -> None:
    variable = question["variable"]
    for choice in awx.choices(question):
        value = [choice] if question["type"] == "multiselect" else choice
        assert accepted(variable, value), f"{template['name']}: {variable} choice {choice!r} is refused"
    default = awx.survey_default(question)
    if default is not None:
        assert accepted(variable, default), f"{template['name']}: {variable} default {default!r} is refused"
        if question["type"] == "multiselect":
            assert set(default) <= set(awx.choices(question))
        elif question["type"] == "multiplechoice":
            assert default in awx.choices(question)


@pytest.mark.parametrize(("template", "question"), questions(), ids=QUESTION_IDS)
def test_a_default_is_the_inventory_value_it_overrides(template: dict[str, Any], question: dict[str, Any]) -> None:
    inventory = inventory_vars(env_of(template["name"]))
    if question["variable"] in inventory:
        assert awx.survey_default(question) == inventory[question["variable"]], (
            f"{template['name']}: the survey's default for {question['variable']} would override the inventory"
        )


@pytest.mark.parametrize("env", awx.ENVIRONMENTS)
def test_teardown_is_never_one_click(env: str) -> None:
    prefix = f"webstack-{env}"
    template = awx.by_name(TEMPLATES, f"{prefix}: teardown")
    (confirm,) = [q for q in awx.survey_questions(template) if q["variable"] == "confirm_teardown"]
    assert confirm["required"] and confirm.get("default") in (None, "")
    assert confirm["type"] == "text" and confirm["min"] == confirm["max"] == len(prefix)
    assert template["extra_vars"]["teardown_require_confirmation"] is True
    assert not template.get("ask_variables_on_launch")
    for workflow in CONFIG["controller_workflows"]:
        assert all(node["unified_job_template"]["name"] != template["name"] for node in workflow["workflow_nodes"])


@pytest.mark.parametrize("env", awx.ENVIRONMENTS)
def test_deploy_workflow_is_provision_then_bundle_then_configure(env: str) -> None:
    prefix = f"webstack-{env}"
    workflow = awx.by_name(CONFIG["controller_workflows"], f"{prefix}: deploy")
    nodes = {node["identifier"]: node for node in workflow["workflow_nodes"]}
    order, node = [], nodes["provision"]
    while True:
        order.append(awx.by_name(TEMPLATES, node["unified_job_template"]["name"])["playbook"])
        following = node.get("related", {}).get("success_nodes", [])
        if not following:
            break
        node = nodes[following[0]["identifier"]]
    assert order == ["playbooks/provision.yml", "playbooks/bundle.yml", "playbooks/configure.yml"]
    assert len(nodes) == 3


def shape(env: str) -> Any:
    """The configuration of one environment with its names taken out."""
    text = "\n".join(path.read_text() for path in sorted((awx.CONFIGS / env).glob("*.yml")))
    for word in (f"webstack-{env}", f"inventories/{env}", "Production", "Staging", "prod", "staging"):
        text = text.replace(word, "ENV")
    # The schedules differ by design: staging's rotation runs a week before production's.
    text = re.sub(r"rrule: .*\n", "rrule: X\n", text)
    return re.sub(r"default: \S+\n", "default: X\n", re.sub(r"(min|max): \d+", r"\1: N", text))


def test_prod_and_staging_are_configured_alike() -> None:
    assert shape("prod") == shape("staging")


def test_no_secret_is_written_in_the_configuration() -> None:
    for credential in CONFIG["controller_credentials"]:
        assert "inputs" not in credential, credential["name"]
    text = "\n".join(path.read_text() for path in awx.CONFIGS.rglob("*.yml"))
    assert not re.search(r"AKIA[0-9A-Z]{16}", text)


@pytest.mark.parametrize("env", awx.ENVIRONMENTS)
def test_secrets_rotate_monthly_on_a_schedule(env: str) -> None:
    template = awx.by_name(TEMPLATES, f"webstack-{env}: rotate secrets")
    assert template["playbook"] == "playbooks/rotate-secrets.yml"
    schedules = [s for s in CONFIG["controller_schedules"] if s["unified_job_template"] == template["name"]]
    assert len(schedules) == 1
    assert "RRULE:FREQ=MONTHLY" in schedules[0]["rrule"] and schedules[0]["enabled"] is True
    for schedule in CONFIG["controller_schedules"]:
        awx.by_name(TEMPLATES, schedule["unified_job_template"])
