"""What AWX does with awx/configs/, reproduced for the tests (docs/AWX.md).

- The configuration, read as awx/apply.yml reads it: configs/all/ and then each
  environment's files, the lists of each object kind joined.
- An inventory update: ``ansible-inventory --list --export`` of each source in
  the project's folder, the way AWX runs it, the sources merged into one
  inventory, handed to a job as an executable script (``inventory/hosts``).
- A job launch: the private data directory ansible-runner runs, with the project,
  that inventory, extra vars = the template's extra_vars, the survey's defaults
  and the answers given, and the credential's environment from its type's
  injectors rendered with the credential's inputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2.sandbox
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "awx" / "configs"
ENVIRONMENTS = ("prod", "staging")
BIN = Path(sys.executable).parent


class ConfigLoader(yaml.SafeLoader):
    """YAML as Ansible reads the configuration: ``!unsafe`` marks a string Ansible does not render."""


ConfigLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def config(environments: tuple[str, ...] = ENVIRONMENTS) -> dict[str, list[dict[str, Any]]]:
    """configs/all/ then each environment's files, each kind's lists joined (awx/apply.yml's combine)."""
    merged: dict[str, list[dict[str, Any]]] = {}
    for folder in ("all", *environments):
        for path in sorted((CONFIGS / folder).glob("*.yml")):
            for kind, objects in (load_yaml(path) or {}).items():
                merged.setdefault(kind, []).extend(objects)
    return merged


def by_name(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [obj for obj in objects if obj["name"] == name]
    assert len(found) == 1, f"{name}: {len(found)} objects of that name"
    return found[0]


def survey_questions(template: dict[str, Any]) -> list[dict[str, Any]]:
    if not template.get("survey_enabled"):
        return []
    return list(template["survey_spec"]["spec"])


def choices(question: dict[str, Any]) -> list[str]:
    raw = question.get("choices", [])
    return raw.split("\n") if isinstance(raw, str) else [str(choice) for choice in raw]


def survey_default(question: dict[str, Any]) -> Any:
    """The value AWX passes for an unanswered question (a multiselect's is a list)."""
    default = question.get("default")
    if question["type"] == "multiselect" and isinstance(default, str):
        return [line for line in default.split("\n") if line]
    return default


def extra_vars(template: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The template's extra_vars, then each survey question's answer or default."""
    variables = dict(template.get("extra_vars") or {})
    for question in survey_questions(template):
        name = question["variable"]
        if name in answers:
            variables[name] = answers[name]
        elif question.get("default") not in (None, ""):
            variables[name] = survey_default(question)
    unknown = set(answers) - {question["variable"] for question in survey_questions(template)}
    assert not unknown, f"{template['name']}: no survey question for {sorted(unknown)}"
    return variables


def credential_env(credential_type: dict[str, Any], inputs: dict[str, str]) -> dict[str, str]:
    """The credential type's env injectors rendered as AWX renders them (a missing input is empty)."""
    sandbox = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.Undefined)
    return {
        name: sandbox.from_string(template).render(**inputs)
        for name, template in credential_type["injectors"]["env"].items()
    }


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without AWS or Ansible settings of its own, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def import_source(source: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """One inventory update of an SCM source: ansible-inventory in the project folder, as AWX runs it."""
    path = ROOT / source["source_path"]
    process = subprocess.run(
        [
            BIN / "ansible-inventory",
            "-i",
            str(path),
            "--list",
            "--export",
            "--playbook-dir",
            str(path if path.is_dir() else path.parent),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


def merge_inventories(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The sources of one AWX inventory as one: groups' hosts and children joined, variables updated."""
    merged: dict[str, Any] = {"_meta": {"hostvars": {}}}
    for part in parts:
        for name, group in part.items():
            if name == "_meta":
                for host, hostvars in group.get("hostvars", {}).items():
                    merged["_meta"]["hostvars"].setdefault(host, {}).update(hostvars)
                continue
            target = merged.setdefault(name, {})
            for key in ("hosts", "children"):
                if key in group:
                    target[key] = sorted(set(target.get(key, [])) | set(group[key]))
            if "vars" in group:
                target.setdefault("vars", {}).update(group["vars"])
    return merged


@dataclass
class Job:
    """One job template's launch, as a private data directory for ansible-runner."""

    template: dict[str, Any]
    extra_vars: dict[str, Any]
    env: dict[str, str]
    inventory: dict[str, Any]

    def prepare(self, private_data_dir: Path) -> Path:
        private_data_dir.mkdir(parents=True)
        # AWX checks the project out as project/; the working tree stands in for the checkout.
        (private_data_dir / "project").symlink_to(ROOT, target_is_directory=True)
        (private_data_dir / "inventory").mkdir()
        script = private_data_dir / "inventory" / "hosts"
        # AWX's script prints the inventory it stores, whatever the arguments (--list).
        script.write_text(f"#! /usr/bin/env python3\nimport sys\nsys.stdout.write({json.dumps(self.inventory)!r})\n")
        script.chmod(0o700)
        (private_data_dir / "env").mkdir()
        (private_data_dir / "env" / "extravars").write_text(yaml.safe_dump(self.extra_vars))
        (private_data_dir / "env" / "envvars").write_text(yaml.safe_dump(self.env))
        return private_data_dir
