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


def test_main_job_is_a_valid_quick_benchmark(tmp_path):
    # The main job itself takes minutes (tests/bench/test_bench_cli.py runs the same code on the
    # tiny preset); here its command line must parse and plan the runs it promises.
    from autowarm.bench import plan, preset
    from autowarm.cli import build_parser

    main_job = _blocks("bash")[0].strip()
    commands = [c.strip() for c in main_job.split("&&")]
    autowarm_cmds = [c for c in commands if c.startswith("autowarm ")]
    assert len(autowarm_cmds) == 1, "the main job runs one autowarm command"
    args = build_parser().parse_args(shlex.split(autowarm_cmds[0])[1:])
    assert args.command == "bench" and args.quick
    specs = plan(preset(args.preset), tmp_path, quick=True)
    assert {s.optimizer for s in specs} == {"adamw", "lion"}
    assert {s.arm for s in specs} == {"grid", "adaptive-auto"}  # the default arm against the grid


def _console_sessions() -> list[tuple[str, str]]:
    """(command, expected output) pairs of the README's ``console`` blocks."""
    pairs = []
    for block in _blocks("console"):
        cmd, out = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if cmd is not None:
                    pairs.append((cmd, "\n".join(out)))
                cmd, out = line[2:], []
            else:
                out.append(line)
        if cmd is not None:
            pairs.append((cmd, "\n".join(out)))
    return pairs


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("readme")
    script = ROOT / "examples" / "make_plan_inputs.py"
    subprocess.run([sys.executable, str(script), str(d)], check=True, capture_output=True)
    return d


@pytest.mark.parametrize("index", range(len(_console_sessions())))
def test_console_example_output_is_exact(index, example_dir):
    cmd, expected = _console_sessions()[index]
    argv = [sys.executable, "-m", "autowarm", *shlex.split(cmd)[1:]]
    res = subprocess.run(argv, cwd=example_dir, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.rstrip("\n") == expected.rstrip("\n")


def _excerpts() -> list[tuple[str, str]]:
    """(example path, code) of the README blocks marked ``<!-- excerpt: PATH -->``."""
    return re.findall(r"<!-- excerpt: (\S+) -->\n```py\n(.*?)```", README, flags=re.S)


def test_every_py_block_is_a_marked_excerpt():
    assert len(_blocks("py")) == len(_excerpts()) >= 4


@pytest.mark.parametrize(("path", "code"), _excerpts(), ids=[p for p, _ in _excerpts()])
def test_excerpt_lines_are_lines_of_a_runnable_example(path, code):
    # The scripts themselves run in tests/integrations/test_integration_examples.py.
    lines = {line.strip() for line in (ROOT / path).read_text().splitlines()}
    missing = [x for x in code.splitlines() if x.strip() and x.strip() not in lines]
    assert not missing, f"README lines not in {path}: {missing}"
