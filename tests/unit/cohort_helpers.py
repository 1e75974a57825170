"""A small planted cohort for the condition and composition tests (imported by them)."""

import numpy as np
import pandas as pd
from tmesig.signatures import GeneSet


def gene_set(name, direction):
    """A one-gene set that applies to every compartment."""
    return GeneSet(
        name=name,
        title=name,
        genes=("G",),
        direction=direction,
        compartments=("any",),
        mechanism="m",
        card=False,
        provenance={"seed": "s", "section": "x"},
    )


def planted_cells(seed=0, n_patients=5, n=20):
    """Non-responders' T cells carry more exhaustion; their myeloid share is doubled."""
    rng = np.random.default_rng(seed)
    rows = []
    for resp in ("R", "NR"):
        for p in range(n_patients):
            pat = f"{resp}{p}"
            offset = rng.normal(0, 0.2)
            n_my = (2 * n if resp == "NR" else n) + int(rng.integers(-5, 6))
            for comp, k in (("T_NK", n), ("myeloid", n_my), ("epithelial", 2 * n)):
                for _ in range(k):
                    exh = (
                        rng.normal(0, 0.5)
                        + offset
                        + (1.0 if (comp == "T_NK" and resp == "NR") else 0)
                    )
                    rows.append((pat, resp, comp, exh, rng.normal(0, 0.5)))
    df = pd.DataFrame(rows, columns=["patient", "condition", "compartment", "exhaustion", "null"])
    df.index = [f"c{i}" for i in range(len(df))]
    return df
