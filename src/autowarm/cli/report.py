"""``autowarm report DIR``: render a benchmark's results as markdown with plots."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` verb."""
    p = sub.add_parser(
        "report",
        help="render a benchmark's results (DIR/report.md and plots)",
        description="Write DIR/report.md and its PNG plots from the result files in DIR/results.",
    )
    p.add_argument("dir", help="a results directory written by `autowarm bench`")
    p.add_argument("--no-plots", action="store_true", help="tables only")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handler of ``autowarm report``."""
    from autowarm.bench import report

    path = report(args.dir, plots=not args.no_plots)
    print(path.read_text())
    print(f"written: {path}")
    return 0
