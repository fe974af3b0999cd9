"""Optional dependencies: one exception and one import helper for every extra.

autowarm's core needs only torch and numpy. Plotting, rich output, tokenizers, streamed datasets and
framework integrations are *extras* (``pip install 'autowarm[plot]'``, ...). Code that needs one
imports it through :func:`require`, which either returns the module or raises
:class:`MissingExtraError` with a one-line message naming the extra to install. The CLI reports a
``MissingExtraError`` as a user error (one line on stderr, exit code 2), like a bad argument.

>>> require("math", "core", "arithmetic").sqrt(4.0)
2.0
>>> require("no_such_module_xyz", "plot", "plotting")
Traceback (most recent call last):
...
autowarm._extras.MissingExtraError: no_such_module_xyz is needed for plotting: pip install 'autowarm[plot]'
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra that provides it.

    A subclass of ``ImportError``, so ``except ImportError`` keeps catching it.
    """


def require(module: str, extra: str, what: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``autowarm[extra]``.

    Args:
        module: dotted module name to import, e.g. ``"matplotlib"`` or ``"datasets"``.
        extra: the autowarm extra that installs it (``plot``, ``cli``, ``bpe``, ``gpt2``, ``hub``,
            or an integration's extra).
        what: what the module is needed for, for the message (default: ``"this feature"``).

    Returns:
        The imported module.

    Raises:
        MissingExtraError: ``"<module> is needed for <what>: pip install 'autowarm[<extra>]'"``
            when ``module`` (or a module it imports) is not installed. Other import-time errors of
            an installed module propagate unchanged.

    >>> require("json", "core").dumps([1])
    '[1]'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        top = module.split(".")[0]
        if err.name is not None and err.name.split(".")[0] != top and err.name != module:
            # The module is installed but one of *its* dependencies is not: name that one.
            missing = err.name
        else:
            missing = module
        raise MissingExtraError(
            f"{missing} is needed for {what or 'this feature'}: pip install 'autowarm[{extra}]'"
        ) from err


__all__ = ["MissingExtraError", "require"]
