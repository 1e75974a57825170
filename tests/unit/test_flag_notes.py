"""Why a flag row has no test: one compartment has nothing to contrast with; too few cells
inside or outside says so (the reason matches the data, counted by hand)."""

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp
from tmesig import flag, score
from tmesig.constants import UNASSIGNED
from tmesig.signatures import GeneSet

ONE = "the only compartment with assigned cells"


def _set(name, genes):
    return GeneSet(
        name=name,
        title=name,
        genes=tuple(genes),
        direction="up",
        compartments=("any",),
        mechanism="m",
        card=False,
        provenance={"seed": "x", "section": "y"},
    )


def _data(comps_per_sample, seed=0, n_genes=200):
    """Log-normalised cells; ``comps_per_sample``: sample -> {compartment: n cells}."""
    rng = np.random.default_rng(seed)
    comps, samples = [], []
    for s, counts in comps_per_sample.items():
        for c, n in counts.items():
            comps += [c] * n
            samples += [s] * n
    x = rng.poisson(rng.gamma(1.0, 1.0, n_genes), size=(len(comps), n_genes)).astype(np.float32)
    x[:, 0] += 1
    a = ad.AnnData(X=sp.csr_matrix(x), var=pd.DataFrame(index=[f"G{i}" for i in range(n_genes)]))
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    idx = a.obs_names
    return a, pd.Series(comps, index=idx), pd.Series(samples, index=idx)


SETS = [_set("A", [f"G{i}" for i in range(1, 11)]), _set("B", [f"G{i}" for i in range(20, 30)])]


def test_one_compartment_says_there_is_nothing_to_contrast():
    # four samples with 40 fibroblasts each (plus unassigned cells, which never count)
    design = {f"s{i}": {"fibroblast": 40, UNASSIGNED: 15} for i in range(4)}
    a, comp, smp = _data(design)
    scores, _ = score.score_cells(a, SETS)
    table, flags = flag.flag_dataset(
        a, scores, SETS, compartment=comp, unit=smp, options=flag.FlagOptions(n_null=20)
    )
    assert set(flags["compartment"]) == {"fibroblast"} and len(flags) == 2
    assert (flags["note"].str.startswith(ONE)).all(), flags["note"].tolist()
    assert flags["note"].str.contains("nothing to contrast").all()
    assert (flags["n_samples"] == 0).all() and flags["p"].isna().all() and not flags.flagged.any()
    assert "no sample has" not in " ".join(flags["note"])
    assert set(table["compartment"]) == {"fibroblast", UNASSIGNED}


def test_too_few_cells_outside_is_the_stated_reason():
    # two compartments, but in every sample one side has fewer than min_cells (10)
    design = {f"s{i}": {"T_NK": 30, "myeloid": 5} for i in range(4)}
    a, comp, smp = _data(design, seed=1)
    scores, _ = score.score_cells(a, SETS)
    f = flag.flag_compartments(scores, SETS, compartment=comp, unit=smp, min_cells=10)
    assert set(f["compartment"]) == {"T_NK", "myeloid"}
    assert (f["n_samples"] == 0).all()
    assert (
        f["note"]
        .eq("no sample has >= 10 cells both in this compartment and in the other compartments")
        .all()
    )


def test_enough_cells_keep_the_test():
    design = {f"s{i}": {"T_NK": 30, "myeloid": 30} for i in range(4)}
    a, comp, smp = _data(design, seed=2)
    scores, _ = score.score_cells(a, SETS)
    f = flag.flag_compartments(scores, SETS, compartment=comp, unit=smp)
    assert (f["n_samples"] == 4).all() and f["p"].notna().all() and (f["note"] == "").all()
