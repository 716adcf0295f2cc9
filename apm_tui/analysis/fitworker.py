"""`python -m apm_tui.analysis.fitworker`: fit one anomaly model, in a process of its own.

Reads an .npz on stdin (`x`, `seed`), writes the fitted model as an .npz on
stdout (see `streaming.model_to_npz`). The dashboard runs it so that scikit-learn's memory
belongs to a process that exits; nothing but arrays crosses the pipe, in either direction.
"""

from __future__ import annotations

import io
import sys

import numpy as np

from apm_tui.analysis.streaming import fit, model_to_npz


def main() -> int:
    with np.load(io.BytesIO(sys.stdin.buffer.read()), allow_pickle=False) as z:
        x, seed = z["x"], int(z["seed"])
    names = [f"f{i}" for i in range(x.shape[1])]
    sys.stdout.buffer.write(model_to_npz(fit(x, names, seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
