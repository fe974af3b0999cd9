"""A Ctrl-C that arrives while the bench starts a worker is held and raised, not lost.

The parent ignores SIGINT while it spawns a worker (so the worker inherits the ignore). A Ctrl-C
in that window used to vanish and the benchmark ran on to the end (seen in CI as
``test_ctrl_c_saves_finished_runs_starts_no_more_and_says_how_to_resume`` returning 0).
"""

import os
import signal
import sys

import pytest

from autowarm.bench.runner import _sigint_held, _sigint_ignored


@pytest.fixture(autouse=True)
def default_sigint():
    """The handler an interactive run has (a shell's `cmd &` starts Python with SIGINT ignored)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


posix_only = pytest.mark.skipif(
    not hasattr(signal, "pthread_sigmask") or sys.platform == "win32", reason="POSIX signals"
)


@posix_only
def test_a_ctrl_c_inside_a_held_block_is_raised_when_it_ends():
    reached_end_of_block = False
    with pytest.raises(KeyboardInterrupt), _sigint_held():
        os.kill(os.getpid(), signal.SIGINT)
        reached_end_of_block = True  # not raised inside the block
    assert reached_end_of_block
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())


@posix_only
def test_without_hold_a_ctrl_c_inside_the_block_is_dropped():
    with _sigint_ignored():
        os.kill(os.getpid(), signal.SIGINT)
    # nothing pending: a later check of signals raises nothing
    assert signal.SIGINT not in signal.sigpending()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@posix_only
def test_no_ctrl_c_no_exception_and_the_handler_is_restored():
    with _sigint_held():
        assert signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())


@posix_only
def test_a_process_started_inside_the_block_starts_with_sigint_blocked():
    import subprocess

    probe = "import signal; print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set()))"
    with _sigint_held():
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.stdout.strip() == "True", out.stderr


@posix_only
def test_an_ignored_sigint_stays_ignored():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with _sigint_held():
        os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
