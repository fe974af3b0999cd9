"""Write the synthetic inputs of the README's `autowarm plan refine` / `plan predict` examples.

- ``grad_norms.txt``: 5000 noisy gradient norms that fall early (as in pretraining);
- ``constant.csv``, ``cosine.csv``: two 4000-step runs (peak LR 3e-4, 200 warm-up steps) whose
  loss follows a multi-power law plus noise of 0.003, measured every 50 steps.

    python examples/make_plan_inputs.py [OUT_DIR]
"""

import sys
from pathlib import Path

import numpy as np

from autowarm.schedules import from_spec, sample
from autowarm.theory import predict_loss

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(0)
g = (1 + 4 * np.exp(-np.arange(5000) / 400)) * (1 + 0.1 * rng.standard_normal(5000))
np.savetxt(out / "grad_norms.txt", g)
mpl = dict(L0=2.375, A=0.654, alpha=0.429, B=523.0, C=2.03, beta=0.594, gamma=0.635)
for name in ("constant", "cosine"):
    lrs = 3e-4 * sample(from_spec(f"{name}:warmup_steps=200", 4000), 4000)
    loss = predict_loss("mpl", mpl, lrs) + 0.003 * rng.standard_normal(4000)
    with open(out / f"{name}.csv", "w") as f:
        f.write("step,lr,loss\n")
        for k in range(4000):
            cell = f"{loss[k]:.5f}" if (k + 1) % 50 == 0 else ""
            f.write(f"{k + 1},{lrs[k]:.8g},{cell}\n")
print(f"wrote grad_norms.txt, constant.csv, cosine.csv to {out}")
