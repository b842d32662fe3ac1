"""Command line of the architecture document (python -m scripts.archdoc --help)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from . import __doc__ as DESCRIPTION
from . import sources

ROOT = Path(__file__).resolve().parents[2]
INVENTORIES = ["inventories/prod", "inventories/staging"]
BUILD = Path("docs/architecture/build")
LOG = logging.getLogger("archdoc")


def load(inventories: list[str]) -> list:
    from .inventory import from_inventory

    return [from_inventory(ROOT / inventory) for inventory in inventories]


def draw_all(environments: list, output: Path, title: str) -> list[Path]:
    """One diagram per environment (named after it) and all of them behind the shared edge ("both")."""
    from .draw import draw

    written = []
    for env in environments:
        written += draw([env], f"{env.env} ({env.environment}): {title}", output / env.env)
    written += draw(environments, f"all environments behind the shared edge: {title}", output / "both")
    return written


def command_draw(args: argparse.Namespace) -> int:
    started = time.monotonic()
    written = draw_all(load(args.inventory), ROOT / args.output, "from the inventories")
    LOG.info("drew %d files in %.1f s", len(written), time.monotonic() - started)
    return 0


def command_as_built(args: argparse.Namespace) -> int:
    """Draw what is deployed and list what differs from each inventory; 2 when anything differs."""
    from . import asbuilt
    from .model import differences

    expected = load(args.inventory)
    found, report = [], {}
    for env in expected:
        project = env.prefix.removesuffix(f"-{env.env}")
        try:
            deployed = asbuilt.read(project, env.environment, env.region)
        except asbuilt.NotDeployed as error:
            report[env.env] = {"deployed": False, "error": str(error), "differences": []}
            continue
        found.append(deployed)
        report[env.env] = {
            "deployed": True,
            "differences": [
                {"field": d.field, "inventory": d.expected, "deployed": d.found} for d in differences(env, deployed)
            ],
        }
    if found and not args.no_draw:
        draw_all(found, ROOT / args.output, "as built")
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        for name, result in report.items():
            if not result["deployed"]:
                print(f"{name}: not deployed ({result['error']})")
            elif not result["differences"]:
                print(f"{name}: as built = inventory")
            for item in result["differences"]:
                print(f"{name}: {item['field']}: inventory {item['inventory']!r}, deployed {item['deployed']!r}")
    drift = any(not r["deployed"] or r["differences"] for r in report.values())
    return 2 if drift else 0


def command_pdf(args: argparse.Namespace) -> int:
    from .pdf import build

    started = time.monotonic()
    environments = load(args.inventory)
    output = ROOT / args.output
    draw_all(environments, output, "from the inventories")
    drawn = time.monotonic()
    texts = sorted((ROOT / "docs" / "architecture").glob("*.md"))
    digest = sources.combined(sources.hashes(ROOT))
    build(texts, output, environments, ROOT / sources.PDF, digest)
    sources.record(ROOT)
    LOG.info(
        "drew in %.1f s, wrote %s (%d bytes) in %.1f s",
        drawn - started,
        sources.PDF,
        (ROOT / sources.PDF).stat().st_size,
        time.monotonic() - drawn,
    )
    return 0


def command_check(args: argparse.Namespace) -> int:
    result = sources.check(ROOT)
    if result.fresh:
        print(f"{sources.PDF} is up to date with its sources")
        return 0
    print(f"{sources.PDF} is older than its sources; run `make docs` and commit the result:", file=sys.stderr)
    for problem in result.problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.archdoc", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, function, help_text in (
        ("draw", command_draw, "the diagrams from the inventories"),
        ("as-built", command_as_built, "the diagrams from the account (AWS_ENDPOINT_URL honoured) and the differences"),
        ("pdf", command_pdf, "the diagrams, then docs/architecture.pdf and docs/architecture.sources.json"),
        ("check", command_check, "exit 1 when docs/architecture.pdf is older than its sources"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.set_defaults(function=function)
        if name != "check":
            sub.add_argument("--inventory", action="append", help=f"an inventory folder (default: {INVENTORIES})")
            default = BUILD / "as-built" if name == "as-built" else BUILD
            sub.add_argument("--output", type=Path, default=default, help=f"where diagrams go (default {default})")
        if name == "as-built":
            sub.add_argument("--json", action="store_true", help="the differences as JSON")
            sub.add_argument("--no-draw", action="store_true", help="only compare")
    args = parser.parse_args(argv)
    if getattr(args, "inventory", None) is None:
        args.inventory = INVENTORIES
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    return args.function(args)


if __name__ == "__main__":
    sys.exit(main())
