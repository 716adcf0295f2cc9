"""`python -m apm_tui.analysis.fitworker`: fit anomaly models, in a process of its own.

Reads an .npz on stdin (`count`, then `x0`, `seed0`, `x1`, …), writes the fitted models as an
.npz on stdout (see `forest.models_to_npz`). The dashboard runs it so that scikit-learn's memory
belongs to a process that exits; nothing but arrays crosses the pipe, in either direction.
"""

from __future__ import annotations

import io
import sys

import numpy as np

from apm_tui.analysis.forest import fit, models_to_npz


def main() -> int:
    with np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False) as z:
        jobs = [(z[f"x{i}"], int(z[f"seed{i}"])) for i in range(int(z["count"]))]
    models = [fit(x, [f"f{i}" for i in range(x.shape[1])], seed) for x, seed in jobs]
    sys.stdout.buffer.write(models_to_npz(models))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
