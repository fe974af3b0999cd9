"""The ``autowarm`` command line: parse -> config -> library call, nothing more.

Each verb lives in its own module of this package and exposes ``register(subparsers)``, which adds
its sub-parser and sets ``handler`` (a function of the parsed arguments returning an exit code).
A verb that takes free ``--key value`` pairs sets ``accepts_extra=True`` and reads ``args.extra``.
Modules import heavy dependencies (torch, matplotlib) inside their handlers, so ``autowarm --help``
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from autowarm._version import __version__

# One module per verb, in the order ``autowarm --help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "schedule",
    "simulate",
    "bench",
    "report",
    "train",
    "plan",
    "probe",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every verb's sub-parser."""
    parser = argparse.ArgumentParser(
        prog="autowarm",
        description="Loss-adaptive LR warm-up and LR-schedule tools for LLM pretraining.",
    )
    parser.add_argument("--version", action="version", version=f"autowarm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"autowarm.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if extra and not getattr(args, "accepts_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except (ValueError, FileNotFoundError) as err:
        print(f"autowarm {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early
        return 0
