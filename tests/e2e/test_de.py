"""End-to-end: rule ``de`` on a small simulated cohort with responders and non-responders.

The simulation (``tmesig.simulate``) plants an exhaustion programme (x4) in the CD8 T cells
of non-responders: at lineage level, T_NK pseudobulks of non-responders carry it, so
pydeseq2 must find those genes up and prerank the library's exhaustion set up there.
"""

import time

import numpy as np
import pandas as pd
import pytest
import yaml
from test_workflow import _snakemake
from tmesig import signatures, simulate
from tmesig.workflow_paths import WorkflowPaths

pytestmark = pytest.mark.slow

PATHS = WorkflowPaths(datasets=("sim",), subsets=False, conditioned=("sim",))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("de")
    adata = simulate.simulate(5000, n_genes=2500, n_patients=6, seed=0)
    adata.write_h5ad(tmp / "sim.h5ad")
    pd.DataFrame(
        {
            "dataset": ["sim"],
            "path": [str(tmp / "sim.h5ad")],
            "sha256": [""],
            "sample_col": ["sample"],
            "patient_col": ["patient"],
            "condition_col": ["response"],
        }
    ).to_csv(tmp / "samples.tsv", sep="\t", index=False)
    cfg = {
        "samples": str(tmp / "samples.tsv"),
        "qc": {"doublets": False},
        "cluster": {"n_pcs": 15},
        "subsets": {"enabled": False},
        "conditions": {"reference": "R", "test": "NR"},
        "enrichment": {"permutation_num": 100},
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(cfg))
    targets = [
        PATHS.de_conditions.format(dataset="sim"),
        PATHS.enrichment_conditions.format(dataset="sim"),
    ]
    t0 = time.perf_counter()
    res = _snakemake(tmp, "--cores", "2", *targets)
    assert res.returncode == 0, res.stderr[-4000:]
    print(f"de e2e: {time.perf_counter() - t0:.0f} s")
    return tmp


def test_de_finds_planted_exhaustion_in_t_cells(run):
    de = pd.read_csv(run / PATHS.de_conditions.format(dataset="sim"), sep="\t")
    assert (de["method"] == "pydeseq2").all() and (de["reference"] == "R").all()
    t = de[(de["level"] == "lineage") & (de["compartment"] == "T_NK")].set_index("gene")
    assert (t["design"] == "~condition").all() and (t["n_ref"] == 3).all()
    exhaustion = [
        g
        for gs in signatures.load_library()
        if gs.name == "tcell_exhaustion"
        for g in gs.genes
        if g in t.index
    ]
    hits = t.loc[exhaustion]
    assert ((hits["fdr"] < 0.05) & (hits["effect"] > 0)).sum() >= len(exhaustion) // 2
    # compartments without a planted programme: few discoveries (FDR 0.05)
    other = de[(de["compartment"].isin(["endothelial", "fibroblast", "B_plasma"]))]
    assert (other["fdr"] < 0.05).mean() <= 0.05
    enr = pd.read_csv(run / PATHS.enrichment_conditions.format(dataset="sim"), sep="\t")
    row = enr[(enr["compartment"] == "T_NK") & (enr["gene_set"] == "tcell_exhaustion")]
    assert len(row) == 1 and row["nes"].iloc[0] > 0 and row["fdr"].iloc[0] < 0.05
    assert set(enr["source"]) == {"library", "hallmark"}
    assert np.isfinite(enr["nes"]).all()
