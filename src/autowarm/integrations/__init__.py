"""Drop-in glue for the training stacks people use: HF ``Trainer``, Lightning, accelerate, optax.

Each integration is a small module with its own optional extra, imported only when used:

- :mod:`autowarm.integrations.transformers` (``pip install 'autowarm[hf]'``): the
  ``(optimizer, scheduler)`` pair for ``Trainer(optimizers=...)`` and a ``TrainerCallback`` that
  feeds the training loss to :class:`autowarm.AdaptiveWarmup`.
- :mod:`autowarm.integrations.lightning` (``pip install 'autowarm[lightning]'``): a ``Callback``
  that feeds each optimizer step's mean loss and keeps checkpoints exact.
- :mod:`autowarm.integrations.optax` (``pip install 'autowarm[jax]'``): every fixed schedule as an
  optax schedule and the adaptive warm-up as a stateful ``GradientTransformationExtraArgs``.

accelerate needs no module: ``accelerator.prepare(scheduler)`` works with
:class:`autowarm.AdaptiveWarmup` as it is (each optimizer update is counted once).

Importing this package imports none of those libraries.
"""

__all__: list[str] = []
