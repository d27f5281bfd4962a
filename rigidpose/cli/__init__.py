"""The ``rigidpose`` command.

Each subcommand lives in its own module of this package with two functions:
``register(subparsers)`` adds its parser and ``run(args) -> int`` does the work.
Modules import nothing heavy at module level, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rigidpose import __version__
from rigidpose.errors import RigidposeError

#: Subcommand modules, in the order they appear in ``--help``.
COMMANDS = (
    "rigidpose.cli.model_info",
    "rigidpose.cli.eval_cmd",
    "rigidpose.cli.demo",
    "rigidpose.cli.calibrate",
    "rigidpose.cli.synth",
    "rigidpose.cli.train",
    "rigidpose.cli.predict",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rigidpose",
        description="6-DoF pose estimation of rigid objects from CAD models.",
    )
    parser.add_argument("--version", action="version", version=f"rigidpose {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except RigidposeError as exc:
        print(f"rigidpose {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"rigidpose {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
