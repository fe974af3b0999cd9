"""A griffe extension for the API pages: show doctest sessions in docstrings as code blocks.

autowarm's docstrings carry runnable examples as bare ``>>>`` sessions (pytest runs them with
``--doctest-modules``). Markdown would read a session's output line such as ``[0.5, 1.0]`` as a
link reference, so before the docstrings are parsed this extension fences every session (its
``>>>``/``...`` lines and the output lines up to the next blank line) as a ``pycon`` code block.
The sources stay as they are; only the rendered pages change.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

_PROMPT = re.compile(r"^(\s*)>>>( |$)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def fence_doctests(text: str) -> str:
    """Wrap each ``>>>`` session of ``text`` in a fenced ``pycon`` block at its own indent.

    A session is a prompt line and every line after it up to the next blank line; text already
    inside a fenced block is left alone (tests/test_docs.py checks both).
    """
    lines = text.split("\n")
    out: list[str] = []
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _PROMPT.match(line)
        if match is None:
            out.append(line)
            i += 1
            continue
        indent = match.group(1)
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestBlocks(Extension):
    """Fence the doctest sessions of every docstring griffe loads."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring text (called once per loaded object)."""
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
