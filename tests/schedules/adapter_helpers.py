"""Shared by the tests that drive the torch adapter ``AdaptiveWarmup`` over a loss list."""

import torch

from autowarm import AdaptiveWarmup


def fresh(**options):
    """A one-parameter SGD optimizer at lr 0.1 and an ``AdaptiveWarmup`` with ``options``."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(3))], lr=0.1)
    return opt, AdaptiveWarmup(opt, **options)


def drive(opt, sched, losses):
    """Take one update per loss (``sched.step(loss)`` after it); the LR each update ran with."""
    lrs = []
    for loss in losses:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(loss)
    return lrs
