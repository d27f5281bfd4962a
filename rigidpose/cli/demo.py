"""``rigidpose demo``: the end-to-end demo (synth → train → estimate → eval)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the end-to-end demo (not yet available)",
        description="Generate a small synthetic dataset of a bundled part, train, estimate and "
        "evaluate. Not yet available: it lands with the estimation issue.",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(
        "rigidpose demo: not yet available. The end-to-end demo (synth, train, estimate) lands "
        "with the estimation work; today `rigidpose model-info` and `rigidpose eval` work."
    )
    return 0
