"""Write scikit-learn's 8x8 digits as SequenceExample records, one row of 8 pixels per step.

Rows at the top and bottom with less ink than one full pixel are left out, so sequences run
from 5 to 8 steps; the class is the context feature ``label``. The split is
``petri.datasets.digits``'s (1,437 train / 360 eval).

Run:  python examples/sequences/digit_rows.py --data-dir petri_data/digit_rows
Then: petri run examples/sequences/bilstm_digit_rows.yaml
"""

from __future__ import annotations

import argparse

import numpy as np

from petri.data import write_sequence_records
from petri.datasets import digits


def rows_of(image: np.ndarray, min_ink: float = 1.0) -> np.ndarray:
    """The rows of one ``[1, 8, 8]`` image in [0, 1], without faint top and bottom rows."""
    rows = image[0]
    inked = np.flatnonzero(rows.sum(axis=1) >= min_ink)
    return rows[inked[0] : inked[-1] + 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="petri_data/digit_rows")
    args = parser.parse_args()
    for split in digits.SPLITS:
        images, labels = digits.load_split(split)
        write_sequence_records(
            {"rows": [rows_of(image) for image in images]},
            args.data_dir,
            f"digit_rows_{split}",
            num_shards=2,
            context={"label": labels},
        )
    print(args.data_dir)


if __name__ == "__main__":
    main()
