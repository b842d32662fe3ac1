#!/usr/bin/env python3
"""Build the host bundle: what a booting instance needs to configure itself.

    scripts/bundle.py app-wheel                          the backend's wheel and wheelhouse in app/dist/
    scripts/bundle.py build --inventory inventories/prod  the environment's bundle, its path and sha256 as JSON

A bundle (docs/HOSTS.md, "The bundle and the user data") is a gzipped tar with,
at its root:

    site.yml, configure.yml  playbooks/boot.yml and playbooks/configure.yml: the plays the controller pushes
    ansible.cfg, inventory.yml  (bundle/): this host, a local connection, the paths below
    group_vars/all/          the environment's inventory variables, as a pushed run reads them
    roles/                   common, frontend, backend, and preflight (the outputs they read)
    collections/             amazon.aws, as the controller's virtualenv has it (its plugins only)
    dist/                    the backend's wheel, and wheelhouse/ with every wheel a host installs:
                             requirements.txt (the backend's pins) and ansible.txt (ansible-core and
                             boto3 with every dependency, at the controller's versions)
    site/                    the frontend's page
    BUNDLE.json              what is inside: the versions and a checksum of each file

The same sources give the same bytes (sorted entries, fixed times, owners and
modes, gzip without a timestamp), so publishing an unchanged bundle finds the
same checksum and uploads nothing. The wheels for the hosts are downloaded once
for Debian 12 on x86_64 (CPython 3.11, glibc 2.36) into .cache/bundle/wheels/,
from PyPI or the index pip is configured with.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
# 1980-01-01, the oldest time a zip (a wheel) can hold: every file of a bundle has it.
EPOCH = 315532800
# What a host's Python is: Debian 12's (README: compute's AMI is Debian 12 on x86_64).
HOST_PYTHON = {"python_version": "3.11", "python_full_version": "3.11.2", "implementation_name": "cpython"}
HOST_PIP_TARGET = [
    "--only-binary=:all:",
    "--implementation",
    "cp",
    "--python-version",
    "3.11",
    "--abi",
    "cp311",
    "--abi",
    "abi3",
    "--abi",
    "none",
    # pip does not widen a manylinux tag to the older ones a host accepts: each is listed.
    *(arg for minor in range(36, 4, -1) for arg in ("--platform", f"manylinux_2_{minor}_x86_64")),
    *(arg for tag in ("manylinux2014", "manylinux2010", "manylinux1") for arg in ("--platform", f"{tag}_x86_64")),
]
# What configuring a host runs on: the controller's ansible-core and boto3, at its versions.
HOST_ANSIBLE = ["ansible-core", "boto3"]
# The collections the host roles call (lookups amazon.aws.ssm_parameter, secretsmanager_secret).
HOST_COLLECTIONS = ["amazon.aws"]
HOST_ROLES = ["common", "frontend", "backend", "preflight"]
COLLECTION_PARTS = ["MANIFEST.json", "FILES.json", "meta", "plugins"]
SKIP = re.compile(r"(^|/)(__pycache__|\.pytest_cache|tests)(/|$)|\.pyc$")


def cache_dir() -> Path:
    return Path(os.environ.get("BUNDLE_CACHE", ROOT / ".cache" / "bundle")).resolve()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file() and not SKIP.search(p.relative_to(path).as_posix()))


# --- the backend's wheel ---------------------------------------------------------------


def app_sources() -> list[Path]:
    app = ROOT / "app"
    return [app / "pyproject.toml", app / "requirements.txt", *files_under(app / "src")]


def app_wheel(dist: Path) -> bool:
    """Build the backend's wheel and its dependencies' wheels in dist/ when app/ changed.

    The wheel is reproducible (SOURCE_DATE_EPOCH), so rebuilding unchanged sources
    gives the same bytes. Returns whether anything was rebuilt.
    """
    digest = hashlib.sha256()
    for path in app_sources():
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    stamp = dist / ".built"
    wheels = list(dist.glob("webstack_backend-*.whl"))
    if stamp.is_file() and stamp.read_text().strip() == digest.hexdigest() and len(wheels) == 1:
        return False
    shutil.rmtree(dist / "wheelhouse", ignore_errors=True)
    for wheel in wheels:
        wheel.unlink()
    (dist / "wheelhouse").mkdir(parents=True)
    # Markers dropped, so that a host whose Python needs a conditional pin (Debian 12's
    # 3.11.2 needs async-timeout) finds its wheel.
    pins = [
        re.sub(r"\s*[;#].*", "", line).strip() for line in (ROOT / "app" / "requirements.txt").read_text().splitlines()
    ]
    (dist / "wheelhouse" / "requirements.txt").write_text("".join(f"{pin}\n" for pin in pins if pin))
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(EPOCH))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    # A build in a temporary copy: setuptools writes build/ and *.egg-info beside the sources.
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "app"
        shutil.copytree(ROOT / "app", source, ignore=shutil.ignore_patterns("dist", "build", "*.egg-info"))
        for path in source.rglob("*"):
            os.utime(path, (EPOCH, EPOCH), follow_symlinks=False)
        subprocess.run(
            [*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(source)], check=True, env=env
        )
    subprocess.run(
        [*pip, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist / "wheelhouse"), "-r",
         str(dist / "wheelhouse" / "requirements.txt")],
        check=True,
        env=env,
    )  # fmt: skip
    stamp.write_text(digest.hexdigest() + "\n")
    return True


# --- the hosts' ansible ---------------------------------------------------------------


def host_pins(roots: list[str]) -> list[str]:
    """roots and everything they need on a Debian 12 host, at the versions installed here."""
    environment = default_environment() | HOST_PYTHON | {"sys_platform": "linux", "platform_machine": "x86_64"}
    pins: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in pins:
            continue
        dist = metadata.distribution(name)
        pins[name] = dist.version
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate(environment | {"extra": ""}):
                todo.append(requirement.name)
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def wheel_of(pin: str, wheels: Path) -> Path | None:
    name, version = pin.split("==")
    for wheel in wheels.glob("*.whl"):
        parts = wheel.name.split("-")
        if canonicalize_name(parts[0]) == name and parts[1] == version:
            return wheel
    return None


def host_wheels(pins: list[str]) -> list[Path]:
    """The wheel of each pin for a Debian 12 host, downloaded once into the cache."""
    wheels = cache_dir() / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    missing = [pin for pin in pins if wheel_of(pin, wheels) is None]
    if missing:
        subprocess.run(
            [sys.executable, "-m", "pip", "--disable-pip-version-check", "download", "--quiet", "--no-deps",
             *HOST_PIP_TARGET, "--dest", str(wheels), *missing],
            check=True,
        )  # fmt: skip
    found = {pin: wheel_of(pin, wheels) for pin in pins}
    absent = [pin for pin, wheel in found.items() if wheel is None]
    if absent:
        sys.exit(f"no wheel for a Debian 12 host: {', '.join(absent)}")
    return [wheel for wheel in found.values() if wheel is not None]


def collection_dir(name: str) -> Path:
    namespace, collection = name.split(".")
    # The controller's collections, where the ansible package put them.
    import ansible_collections

    for base in ansible_collections.__path__:
        path = Path(base) / namespace / collection
        if (path / "MANIFEST.json").is_file():
            return path
    sys.exit(f"collection {name} is not installed beside ansible-core")


# --- the bundle -----------------------------------------------------------------------


def contents(inventory: Path, dist: Path) -> dict[str, Path | bytes]:
    """Every file of the bundle: its name inside, and where it comes from (or its bytes)."""
    files: dict[str, Path | bytes] = {
        "site.yml": ROOT / "playbooks" / "boot.yml",
        "configure.yml": ROOT / "playbooks" / "configure.yml",
        "ansible.cfg": ROOT / "bundle" / "ansible.cfg",
        "inventory.yml": ROOT / "bundle" / "inventory.yml",
    }
    group_vars = inventory / "group_vars" / "all"
    if not group_vars.is_dir():
        sys.exit(f"{inventory}: no group_vars/all/; expected an environment's inventory such as inventories/prod")
    for path in files_under(group_vars):
        files[f"group_vars/all/{path.relative_to(group_vars).as_posix()}"] = path
    for role in HOST_ROLES:
        for path in files_under(ROOT / "roles" / role):
            files[f"roles/{role}/{path.relative_to(ROOT / 'roles' / role).as_posix()}"] = path
    for name in HOST_COLLECTIONS:
        source = collection_dir(name)
        for part in COLLECTION_PARTS:
            paths = [source / part] if (source / part).is_file() else files_under(source / part)
            target = f"collections/ansible_collections/{name.replace('.', '/')}"
            for path in paths:
                files[f"{target}/{path.relative_to(source).as_posix()}"] = path
    for path in files_under(ROOT / "app" / "frontend" / "site"):
        files[f"site/{path.relative_to(ROOT / 'app' / 'frontend' / 'site').as_posix()}"] = path
    backend = sorted(dist.glob("webstack_backend-*.whl"))
    files[f"dist/{backend[0].name}"] = backend[0]
    for path in sorted((dist / "wheelhouse").glob("*.whl")):
        files[f"dist/wheelhouse/{path.name}"] = path
    files["dist/wheelhouse/requirements.txt"] = dist / "wheelhouse" / "requirements.txt"
    pins = host_pins(HOST_ANSIBLE)
    for wheel in host_wheels(pins):
        files.setdefault(f"dist/wheelhouse/{wheel.name}", wheel)
    files["dist/wheelhouse/ansible.txt"] = "".join(f"{pin}\n" for pin in pins).encode()
    checksums = {
        name: sha256(source if isinstance(source, bytes) else source.read_bytes()) for name, source in files.items()
    }
    manifest = {
        "format": 1,
        "ansible": pins,
        "backend": backend[0].name,
        "collections": {
            name: json.loads((collection_dir(name) / "MANIFEST.json").read_text())["collection_info"]["version"]
            for name in HOST_COLLECTIONS
        },
        "roles": HOST_ROLES,
        "files": checksums,
    }
    files["BUNDLE.json"] = (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()
    return files


def tarball(files: dict[str, Path | bytes]) -> bytes:
    """The same files give the same bytes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        directories = sorted({parent for name in files for parent in map(str, Path(name).parents) if parent != "."})
        for name in directories:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, EPOCH
            tar.addfile(info)
        for name in sorted(files):
            source = files[name]
            data = source if isinstance(source, bytes) else source.read_bytes()
            info = tarfile.TarInfo(name)
            executable = not isinstance(source, bytes) and os.access(source, os.X_OK)
            info.size, info.mode, info.mtime = len(data), 0o755 if executable else 0o644, EPOCH
            tar.addfile(info, io.BytesIO(data))
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=6, mtime=0, filename="") as out:
        out.write(raw.getvalue())
    return compressed.getvalue()


def build(inventory: Path, out: Path, dist: Path) -> dict[str, object]:
    rebuilt_wheel = app_wheel(dist)
    data = tarball(contents(inventory, dist))
    digest = sha256(data)
    changed = not out.is_file() or sha256(out.read_bytes()) != digest
    if changed:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".partial")
        partial.write_bytes(data)
        partial.replace(out)
    return {
        "path": str(out),
        "sha256": digest,
        "size": len(data),
        "changed": changed,
        "backend_wheel_rebuilt": rebuilt_wheel,
    }


@contextlib.contextmanager
def locked() -> object:
    """One build at a time on this machine: two runs (two environments, or tests on two
    workers) would otherwise rebuild app/dist/ under each other's feet."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    wheel = commands.add_parser("app-wheel", help="the backend's wheel and wheelhouse, rebuilt when app/ changed")
    wheel.add_argument("--dist", type=Path, default=ROOT / "app" / "dist")
    bundle = commands.add_parser("build", help="an environment's bundle; prints its path, sha256 and size as JSON")
    bundle.add_argument("--inventory", type=Path, required=True, help="the environment's inventory folder")
    bundle.add_argument("--out", type=Path, help="default: .cache/bundle/<inventory folder name>/bundle.tar.gz")
    bundle.add_argument("--dist", type=Path, default=ROOT / "app" / "dist")
    args = parser.parse_args(argv)
    if args.command == "app-wheel":
        with locked():
            rebuilt = app_wheel(args.dist.resolve())
        wheels = sorted(p.name for p in (args.dist / "wheelhouse").glob("*.whl"))
        print(f"{'built' if rebuilt else 'unchanged'}: {args.dist}, {len(wheels)} dependency wheels")
        return 0
    inventory = args.inventory.resolve()
    out = (args.out or cache_dir() / inventory.name / "bundle.tar.gz").resolve()
    with locked():
        print(json.dumps(build(inventory, out, args.dist.resolve())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
