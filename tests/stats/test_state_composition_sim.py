"""State composition on simulated truth labels (issue 11): the planted CD8 shift towards the
exhausted state in non-responders is found, and null cohorts keep false positives ≤ 5%.

No pipeline: the simulator's own cell types are the states (its truth), so this checks the
composition test (propeller logit shares, t-test over patients), not the annotation.
Expectations come from the planted truth (:data:`tmesig.simulate.CD8_EXHAUSTED_SHIFT`:
exhausted share of CD8 0.2 in responders, 0.45 in non-responders).
"""

import numpy as np
import pandas as pd
import pytest
from tmesig import composition, conditions, simulate
from tmesig.subsets import load_subset_markers

# simulated cell type -> the state of resources/markers/subsets.yaml it was profiled after
STATE = {
    "CD4_T": "CD4_conventional",
    "B": "B_cell",
    "plasma": "plasma_cell",
    "monocyte": "classical_monocyte",
    "mast": "mast_cell",
    "fibroblast": "CAF",
    "endothelial": "tumour_endothelium",
}
N_PATIENTS, N_CELLS = 16, 12_000  # 8 responders, 8 non-responders; ~50 CD8 cells per sample
NULL_SEEDS = range(100, 112)


def _compare(shift, seed, *, n_patients=N_PATIENTS, n_cells=N_CELLS):
    obs = simulate.design(
        n_cells, n_genes=1_000, n_patients=n_patients, programs=(shift,), seed=seed
    ).obs
    table = composition.state_composition_table(
        state=obs["cell_type"].astype(str).replace(STATE),
        lineage=obs["compartment"].astype(str),
        patient=obs["patient"].astype(str),
        condition=obs["response"].astype(str),
        hierarchy=composition.state_hierarchy(load_subset_markers()),
    )
    res = composition.compare_composition(
        table, contrast=conditions.Contrast("R", "NR"), min_cells=10
    )
    return obs, res


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_cd8_shift_found(seed):
    obs, res = _compare(simulate.CD8_EXHAUSTED_SHIFT, seed)
    row = res.set_index(["denominator", "compartment"]).loc[("CD8_T", "CD8_exhausted")]
    assert row["significant"] and row["fdr"] <= 0.05 and row["effect"] > 0
    assert row["n_ref"] == 8 and row["n_test"] == 8 and "Welch" in row["method"]
    # the reported mean shares are the planted truth's (patient means of the true labels)
    cd8 = obs[obs["cell_type"].isin(["CD8_effector_memory", "CD8_exhausted"])]
    share = cd8.groupby(["response", "patient"], observed=True)["cell_type"].apply(
        lambda c: (c == "CD8_exhausted").mean()
    )
    assert np.isclose(row["fraction_ref"], share["R"].mean())
    assert np.isclose(row["fraction_test"], share["NR"].mean())
    assert 0.1 < row["fraction_ref"] < 0.3 and 0.35 < row["fraction_test"] < 0.55
    # the shift inside CD8 does not leak into the other T/NK shares (CD8 among T_NK, CD4 and NK,
    # Treg among CD4); rows of other lineages are independent nulls, checked by the null test
    others = res[res["denominator"].isin(["T_NK", "CD4_T"])]
    assert len(others) >= 4 and not others["significant"].any()


def test_null_cohorts_keep_false_positives_below_5_percent():
    rows = pd.concat([_compare(simulate.CD8_NULL_SHIFT, s)[1] for s in NULL_SEEDS])
    tested = rows[rows["p"].notna()]
    assert len(tested) >= 8 * len(NULL_SEEDS)
    assert tested["significant"].mean() <= 0.05  # FDR-significant null rows
    # nominal p-values are calibrated: P(p < 0.05) within ~2 binomial SE of 0.05
    se = np.sqrt(0.05 * 0.95 / len(tested))
    assert (tested["p"] < 0.05).mean() <= 0.05 + 2 * se
