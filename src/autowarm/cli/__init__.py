"""The ``autowarm`` command line: parse -> config -> library call, nothing more.

Each verb lives in its own module of this package and exposes ``register(subparsers)``, which adds
its sub-parser and sets ``handler`` (a function of the parsed arguments returning an exit code).
A verb that takes free ``--key value`` pairs sets ``accepts_extra=True`` and reads ``args.extra``.
Modules import heavy dependencies (torch, matplotlib) inside their handlers, so ``autowarm --help``
stays fast.

User errors end in one line on stderr, ``autowarm <verb>: error: <message>``, and exit code 2, with
no traceback: bad flags (argparse), and from a handler ``ValueError`` / ``TypeError`` (validation),
``FileNotFoundError`` / ``NotADirectoryError`` / ``IsADirectoryError`` / ``PermissionError`` (paths)
and :class:`autowarm.MissingExtraError` (an optional dependency that is not installed). Set
``AUTOWARM_DEBUG=1`` to get the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from autowarm._extras import MissingExtraError
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


# The exceptions that mean "the user asked for something invalid", not "autowarm has a bug".
USER_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    MissingExtraError,
)


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (``<prog>: error: <message>``), exit code 2.

    Sub-parsers inherit the class (``add_subparsers`` uses the parent's type).
    """

    def error(self, message: str):  # type: ignore[override]
        if _debug():
            self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


def _debug() -> bool:
    return os.environ.get("AUTOWARM_DEBUG", "").strip() not in ("", "0")


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every verb's sub-parser."""
    parser = OneLineParser(
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
    except BrokenPipeError:  # output piped into `head` and closed early
        return 0
    except USER_ERRORS as err:
        if _debug():
            raise
        verb = " ".join(filter(None, (args.command, getattr(args, "plan_command", None))))
        print(f"autowarm {verb}: error: {_one_line(err) or type(err).__name__}", file=sys.stderr)
        return 2
