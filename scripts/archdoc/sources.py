"""What docs/architecture.pdf is built from, and whether the committed PDF is older than it.

The sources are the document's text (docs/architecture/*.md), the code that draws and
assembles it (scripts/archdoc/*.py), and the variables it draws (the inventories'
group_vars and the defaults of the roles that read them). YAML counts by its data, so a
comment changed in an inventory does not make the PDF stale; everything else by its bytes.

``docs/architecture.sources.json`` records the hash of every source and of the PDF when
the PDF is built; ``check`` recomputes them (no Ansible, no Graphviz: a fraction of a second).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import yaml

PDF = Path("docs/architecture.pdf")
RECORD = Path("docs/architecture.sources.json")
PATTERNS = (
    "docs/architecture/*.md",
    "scripts/archdoc/*.py",
    "inventories/prod/group_vars/all/*.yml",
    "inventories/staging/group_vars/all/*.yml",
    "roles/shared_edge/defaults/main.yml",
    "roles/network/defaults/main.yml",
    "roles/data/defaults/main.yml",
    "roles/identity/defaults/main.yml",
    "roles/edge/defaults/main.yml",
    "roles/compute/defaults/main.yml",
)


def digest(path: Path) -> str:
    if path.suffix in (".yml", ".yaml"):
        data = yaml.safe_load(path.read_text())
        content = json.dumps(data, sort_keys=True, default=str).encode()
    else:
        content = path.read_bytes()
    return hashlib.sha256(content).hexdigest()


def source_files(root: Path) -> list[Path]:
    return sorted({path.relative_to(root) for pattern in PATTERNS for path in root.glob(pattern)})


def hashes(root: Path) -> dict[str, str]:
    """Every source's hash, by its path relative to ``root``."""
    return {str(path): digest(root / path) for path in source_files(root)}


def combined(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def record(root: Path) -> dict[str, object]:
    """Write the sidecar for the PDF just built; returns it."""
    files = hashes(root)
    content = {
        "sources_sha256": combined(files),
        "pdf_sha256": hashlib.sha256((root / PDF).read_bytes()).hexdigest(),
        "files": files,
    }
    (root / RECORD).write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")
    return content


@dataclass
class Staleness:
    problems: list[str]

    @property
    def fresh(self) -> bool:
        return not self.problems


def check(root: Path) -> Staleness:
    """What makes the committed PDF older than its sources (nothing: it is up to date)."""
    if not (root / PDF).exists() or not (root / RECORD).exists():
        return Staleness([f"{PDF} or {RECORD} is missing"])
    recorded = json.loads((root / RECORD).read_text())
    problems = []
    if hashlib.sha256((root / PDF).read_bytes()).hexdigest() != recorded.get("pdf_sha256"):
        problems.append(f"{PDF} is not the PDF {RECORD} was written for")
    current, before = hashes(root), recorded.get("files", {})
    for path in sorted(current.keys() | before.keys()):
        if path not in before:
            problems.append(f"new source {path}")
        elif path not in current:
            problems.append(f"source {path} is gone")
        elif current[path] != before[path]:
            problems.append(f"source {path} changed")
    return Staleness(problems)
