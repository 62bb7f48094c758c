"""The ``kmrecon`` command: one subcommand per pipeline stage.

Each stage owns its subcommand in ``<stage>/cli.py`` with two functions,
``add_arguments(parser)`` and ``run(args) -> int``; this module only dispatches,
importing a stage lazily so that ``kmrecon reconstruct`` never loads Qt or OpenCV.
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
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


#: options whose value may start with '-' (a pixel or axis value: ``--x1 -10,482=0``)
_SIGNED_VALUE_OPTIONS = ("--x1", "--x2", "--y1", "--y2", "--plot-area")
_SIGNED_VALUE = re.compile(r"^-[0-9.]")


def _join_signed_values(argv: list[str]) -> list[str]:
    """``--x1 -10,482=0`` -> ``--x1=-10,482=0``: argparse takes a value starting with '-' for an
    option unless it is a plain negative number, so pixel points left of or above the image
    origin would otherwise be refused ("expected one argument")."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _SIGNED_VALUE_OPTIONS and i + 1 < len(argv) and _SIGNED_VALUE.match(argv[i + 1]):
            out.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def _quiet_broken_pipe() -> int:
    """stdout's reader went away (``kmrecon pool ... | head``): stop quietly, as cat does."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, the shell's status for a writer cut off by its reader


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = _join_signed_values(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "_unavailable", None):
        print(f"kmrecon: error: {args._unavailable}", file=sys.stderr)
        return 2
    try:
        status = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except KMReconError as exc:
        print(f"kmrecon {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except RecursionError:
        print(f"kmrecon {args.command}: error: an input is nested too deeply to read; "
              "check that it is the file you meant", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"kmrecon {args.command}: error: out of memory; use a smaller figure or fewer "
              "rows", file=sys.stderr)
        return 2
    except OSError as exc:  # reading or writing a file the stage did not wrap itself
        name = f" {exc.filename}" if exc.filename else ""
        print(f"kmrecon {args.command}: error: cannot access{name}: {exc.strerror or exc}; "
              "check the path and its permissions", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
