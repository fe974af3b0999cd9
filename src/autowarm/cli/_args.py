"""Small argument helpers shared by the CLI verbs (free ``--key value`` pairs)."""

from __future__ import annotations

from autowarm.schedules.registry import parse_value


def key_values(tokens: list[str]) -> dict[str, object]:
    """Parse ``--key value`` / ``--key=value`` pairs (dashes in keys become underscores).

    Values are parsed like schedule-spec values (int, float, true/false, none, else the string),
    so the callee's validation names a bad one (``--warmup-steps abc`` reaches the schedule as
    ``'abc'``). A key given twice is an error.

    >>> key_values(["--cooldown-frac", "0.2", "--cooldown=linear"])
    {'cooldown_frac': 0.2, 'cooldown': 'linear'}
    """
    out: dict[str, object] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not tok.startswith("--") or len(tok) < 3:
            raise ValueError(f"expected --key value pairs; got {tok!r}")
        key, eq, val = tok[2:].partition("=")
        if not eq:
            if i + 1 >= len(tokens):
                raise ValueError(f"--{key} needs a value")
            val = tokens[i + 1]
            i += 1
        name = key.replace("-", "_")
        if name in out:
            raise ValueError(f"--{key} is given twice")
        out[name] = parse_value(val)
        i += 1
    return out
