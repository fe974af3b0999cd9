"""autowarm.theory is pure numpy: no torch, no autowarm package but the torch-free leaf helpers."""

import ast
import subprocess
import sys
from pathlib import Path

import autowarm.theory

SRC = Path(autowarm.theory.__file__).parent
# matplotlib set-up, the optional-extra helper, the run-log format and the argument checks import
# no torch
LEAVES = (
    "autowarm.theory",
    "autowarm._plot",
    "autowarm._extras",
    "autowarm.runlog",
    "autowarm.schedules._validate",
)


def test_sources_import_only_numpy_stdlib_and_theory():
    for path in SRC.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in ("torch", "scipy", "matplotlib"), (path.name, name)
                if top == "autowarm":
                    assert name.startswith(LEAVES), (path.name, name)


def test_import_does_not_load_torch():
    code = "import sys, autowarm.theory; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
