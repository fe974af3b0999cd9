"""Robustness of autowarm.integrations: a missing extra gives a one-line error naming it, and
importing the package itself needs none of the integrated libraries."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from autowarm import MissingExtraError

CASES = [
    ("autowarm.integrations.optax", "optax", "jax"),
    ("autowarm.integrations.optax", "jax", "jax"),
    ("autowarm.integrations.transformers", "transformers", "hf"),
    ("autowarm.integrations.lightning", "lightning", "lightning"),
]


@pytest.mark.parametrize("module, missing, extra", CASES)
def test_missing_library_names_the_extra(monkeypatch, module, missing, extra):
    for name in list(sys.modules):
        if name == missing or name.startswith(missing + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import missing` fail
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(MissingExtraError) as err:
        importlib.import_module(module)
    msg = str(err.value)
    assert "\n" not in msg
    assert f"pip install 'autowarm[{extra}]'" in msg and missing in msg
    assert isinstance(err.value, ImportError)


def test_the_package_imports_no_integrated_library():
    code = (
        "import sys, autowarm.integrations\n"
        "bad = [m for m in ('jax', 'optax', 'transformers', 'lightning', 'accelerate')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
