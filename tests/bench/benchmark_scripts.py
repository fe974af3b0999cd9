"""Load a script of ``benchmarks/`` as a module in a test (the directory is not a package)."""

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str):
    """Execute ``benchmarks/<name>.py`` as the module ``name`` and return it.

    ``benchmarks/`` is on ``sys.path`` while it runs (scripts import their siblings), and the
    module is registered in ``sys.modules`` first (dataclasses look their module up there).
    """
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, mod)
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(BENCH))
    return mod
