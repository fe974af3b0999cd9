"""The README stays true: its Python examples print what they say, its commands run."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("index", range(len(_blocks("python"))))
def test_python_example_prints_what_it_claims(index):
    code = _blocks("python")[index]
    expected = [m.strip() for m in re.findall(r"# -> (.*)$", code, flags=re.M)]
    assert expected, "every README example states its output with '# -> ...'"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README-block-{index}", "exec"), {"__name__": "__readme__"})
    assert out.getvalue().strip().splitlines() == expected


def test_test_command_is_what_ci_runs():
    bash = _blocks("bash")
    assert len(bash) == 2, "README has exactly two set-up commands"
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert bash[1].strip() == ci


def test_main_job_commands_run():
    main_job = _blocks("bash")[0].strip()
    commands = [c.strip() for c in main_job.split("&&")]
    autowarm_cmds = [c for c in commands if c.startswith("autowarm ")]
    assert autowarm_cmds, "the main job runs autowarm"
    for cmd in autowarm_cmds:
        argv = [sys.executable, "-m", "autowarm", *shlex.split(cmd)[1:]]
        res = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stderr
        assert res.stdout.strip()
