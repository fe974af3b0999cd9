"""The bench runner's SIGINT gate: a Ctrl-C while a worker starts is held and acted on, not lost.

Before the gate, the parent ignored SIGINT while it spawned a worker (so the worker inherited the
ignore), and a Ctrl-C in that window vanished: the benchmark ran on. Real signals, real threads
and real child processes throughout.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from autowarm.bench.runner import _SigintGate

pytestmark = pytest.mark.skipif(
    sys.platform == "win32" or not hasattr(signal, "pthread_sigmask"), reason="POSIX signals"
)


@pytest.fixture(autouse=True)
def default_sigint():
    """The handler an interactive run has (a shell's `cmd &` starts Python with SIGINT ignored)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def _ctrl_c():
    """A Ctrl-C to this process, then time for Python to run the handler in the main thread."""
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(20):
        time.sleep(0.01)


def _blocked() -> bool:
    return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set())


@pytest.mark.parametrize("other_thread", [False, True], ids=["main-thread", "other-thread"])
def test_a_ctrl_c_during_a_start_is_held_then_raised_by_deliver_held(other_thread):
    # With another thread alive (as torch's are in the bench), the kernel hands it the signal
    # while the main thread blocks SIGINT; without one it stays pending until the unblock.
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, daemon=True)
    if other_thread:
        helper.start()
    try:
        with _SigintGate() as gate:
            try:
                with gate.starting():
                    _ctrl_c()  # no KeyboardInterrupt inside the window...
                time.sleep(0.05)  # ...nor at its end
            except KeyboardInterrupt:
                pytest.fail("the Ctrl-C was acted on during the start, not held")
            with pytest.raises(KeyboardInterrupt):
                gate.deliver_held()
            gate.deliver_held()  # acted on once
    finally:
        stop.set()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert not _blocked()


def test_outside_a_start_a_ctrl_c_raises_at_once():
    with _SigintGate(), pytest.raises(KeyboardInterrupt):
        _ctrl_c()
        pytest.fail("the Ctrl-C did not interrupt")


def test_no_ctrl_c_nothing_raised_and_handler_and_mask_restored():
    with _SigintGate() as gate:
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        with gate.starting():
            assert _blocked()
        assert not _blocked()
        gate.deliver_held()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_users_own_handler_is_called_instead_of_raising():
    seen = []
    signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    with _SigintGate() as gate:
        with gate.starting():
            _ctrl_c()
        assert seen == []
        gate.deliver_held()
        assert seen == [signal.SIGINT]
        _ctrl_c()
        assert seen == [signal.SIGINT, signal.SIGINT]


def test_an_ignored_sigint_stays_ignored():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under `cmd &`
    with _SigintGate() as gate:
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        with gate.starting():
            _ctrl_c()
        gate.deliver_held()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_process_started_inside_a_start_has_sigint_blocked_and_outside_not():
    probe = "import signal; print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set()))"
    with _SigintGate() as gate:
        with gate.starting():
            inside = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        outside = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert inside.stdout.strip() == "True", inside.stderr
    assert outside.stdout.strip() == "False", outside.stderr


def test_off_the_main_thread_the_gate_does_nothing():
    errors = []

    def body():
        try:
            with _SigintGate() as gate, gate.starting():
                assert not _blocked()
            gate.deliver_held()
        except BaseException as e:  # reported to the main thread
            errors.append(e)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    assert errors == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
