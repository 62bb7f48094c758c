"""The ``kmrecon`` command: one subcommand per pipeline stage.

Each stage owns its subcommand in ``<stage>/cli.py`` with two functions,
``add_arguments(parser)`` and ``run(args) -> int``; this module only dispatches,
importing a stage lazily so that ``kmrecon reconstruct`` never loads Qt or OpenCV.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from kmrecon import __version__
from kmrecon.errors import KMReconError

#: subcommand -> (module holding add_arguments/run, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "reconstruct": ("reconstruct.cli", "digitized curve (+ risk table) -> individual patient data"),
    "extract": ("digitize.cli", "KM figure image/PDF -> curves, censor marks and IPD"),
    "pool": ("pooling.cli", "pool survival and medians across studies"),
    "gui": ("gui.cli", "open the desktop application"),
    "batch": ("review.batch_cli", "many KM figures -> zero-click extraction, summary.csv to review"),
    "agree": ("review.agree_cli", "compare two extractions of the same figure (two reviewers)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmrecon",
        description="Digitize Kaplan-Meier figures, reconstruct IPD, pool survival across studies.",
    )
    parser.add_argument("--version", action="version", version=f"kmrecon {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:  # a stage whose optional parts are missing
            p.set_defaults(_unavailable=f"'kmrecon {name}' is unavailable: {exc}")
            continue
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "_unavailable", None):
        print(f"kmrecon: error: {args._unavailable}", file=sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except KMReconError as exc:
        print(f"kmrecon {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
