"""``autowarm schedule NAME --total-steps N [--key value ...]``: print or plot a named schedule."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``schedule`` verb."""
    p = sub.add_parser(
        "schedule",
        help="print or plot the multipliers of a named schedule",
        description=(
            "Print the LR multiplier of every optimizer update (step 0 = the first update) of a "
            "named schedule. NAME may carry arguments ('wsd:cooldown_frac=0.2') and further "
            "--key value pairs are passed to the schedule (e.g. --warmup-steps 100)."
        ),
    )
    p.add_argument("name", nargs="?", help="schedule name or spec; see --list")
    p.add_argument("--total-steps", type=int, help="optimizer updates in the run")
    p.add_argument("--json", action="store_true", help="print a JSON list of multipliers")
    p.add_argument("--every", type=int, default=1, help="print every k-th step (default 1)")
    p.add_argument("--plot", metavar="FILE.png", help="also plot the schedule to this file")
    p.add_argument("--list", action="store_true", help="list schedules and their arguments")
    p.set_defaults(handler=run, accepts_extra=True)


def run(args: argparse.Namespace) -> int:
    """Build the schedule, then print and/or plot it."""
    from autowarm.cli._args import key_values
    from autowarm.schedules import from_spec, sample
    from autowarm.schedules.registry import aliases, describe

    if args.list:
        # An argument with a documented alias is listed as "alias or canonical".
        for name, params in describe().items():
            spelled = {c: f"{a} or {c}" for a, c in aliases(name).items()}
            print(f"{name}: {', '.join(spelled.get(p, p) for p in params)}")
        return 0
    if not args.name or args.total_steps is None:
        raise ValueError("give a schedule NAME and --total-steps N (or --list)")
    if args.total_steps < 1:
        raise ValueError(f"--total-steps must be an integer >= 1; got {args.total_steps}")
    if args.every < 1:
        raise ValueError(f"--every must be >= 1; got {args.every}")
    schedule = from_spec(args.name, args.total_steps, **key_values(args.extra))
    values = sample(schedule, args.total_steps)
    if args.json:
        print(json.dumps([float(x) for x in values[:: args.every]]))
    else:
        print("step\tmultiplier")
        for k in range(0, args.total_steps, args.every):
            print(f"{k}\t{values[k]:.6g}")
    if args.plot:
        from autowarm.theory.plots import plot_multipliers

        plot_multipliers({args.name: values}, args.plot)
    return 0
