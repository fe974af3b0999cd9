"""Test-session settings shared by the tests and the doctests.

Tests run torch on one intra-op thread: the models under test are tiny, results are then the same
on any core count, and a loaded 2-core machine does not stall in OpenMP spin-waits (a 0.3 s
example took 50 s with 2 threads while another process used the cores). Subprocesses started by
tests choose their own thread count.
"""

import torch

torch.set_num_threads(1)
