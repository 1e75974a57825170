"""Panel markers: the candidate resource, expressed markers, markers found, and F1 on a panel."""

import importlib.util
import sys

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import DEMO, QIAN_MAP
from sklearn.metrics import f1_score
from tmesig import annotate, cluster, qc
from tmesig.constants import LINEAGES
from tmesig.input_mode import store_input_mode
from tmesig.io.expression import normalise_in_place
from tmesig.paths import MARKERS_DIR


def _builder():
    spec = importlib.util.spec_from_file_location(
        "build_panel_markers", MARKERS_DIR / "build_panel_markers.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_panel_markers"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_panel_resource_is_rebuilt_exactly_and_loads():
    mod = _builder()
    assert mod.render(mod.build()) == annotate.PANEL_MARKERS.read_text()
    panel = annotate.load_markers(annotate.PANEL_MARKERS)  # one lineage per gene, names valid
    core = annotate.load_markers()
    assert list(panel) == list(LINEAGES)
    for lin in LINEAGES:
        assert len(panel[lin]) >= len(core[lin]) - 1 and len(panel[lin]) >= 9
        assert not set(panel[lin]) & set(mod.EXCLUDED)
        # the lineage's own whole-transcriptome markers come first (less the excluded ones)
        assert panel[lin][:3] == [g for g in core[lin] if g not in mod.EXCLUDED][:3]
    assert "KRT8" in panel["epithelial"]
    # plasma cells: the immunoglobulin constant genes a panel carries, ambient-prone but kept
    # (the panel caller's contrast and two-marker support guard them); haemoglobin is not
    assert {"IGKC", "IGHG1", "IGHA1"} <= set(panel["B_plasma"])
    assert not {"HBB", "S100A8"} & {g for genes in panel.values() for g in genes}
    assert {"SFTPC", "NAPSA", "KRT5"} <= set(panel["epithelial"])  # lung epithelium


def test_merge_markers_keeps_the_primary_owner():
    merged = annotate.merge_markers(
        {"T_NK": ["CD3E", "X"], "myeloid": ["CD68"]},
        {"T_NK": ["CD3E", "CD2", "CD68"], "myeloid": ["X", "LYZ"], "mast": ["KIT"]},
    )
    assert merged == {"T_NK": ["CD3E", "X", "CD2"], "myeloid": ["CD68", "LYZ"], "mast": ["KIT"]}


def test_expressed_markers_by_hand():
    # two clusters of 10 cells; A detected in 3/10 of cluster 1, B in 2/10 of each, C nowhere
    x = np.zeros((20, 4), dtype=np.float32)
    x[10:13, 0] = 1.0
    x[[0, 1, 10, 11], 1] = 2.0
    x[:, 3] = 1.0
    a = ad.AnnData(X=sp.csr_matrix(x), var=pd.DataFrame(index=["A", "B", "C", "D"]))
    a.obs["leiden"] = pd.Categorical(["0"] * 10 + ["1"] * 10)
    got = annotate.expressed_markers(a, {"T_NK": ["A", "B", "C", "Z"], "mast": ["D"]})
    assert got == {"T_NK": ["A"], "mast": ["D"]}
    low = annotate.expressed_markers(a, {"T_NK": ["A", "B"]}, min_fraction=0.2)
    assert low == {"T_NK": ["A", "B"]}


def test_markers_found_counts_and_notes():
    candidates = {"T_NK": ["CD3E", "CD2", "NKG7"], "mast": ["KIT", "CPA3"], "myeloid": ["CD68"]}
    used = {"T_NK": ["CD3E", "CD2"], "myeloid": ["CD68"]}
    calls = pd.Series(["T_NK"] * 5 + ["unassigned"] * 2)
    table = annotate.markers_found(
        candidates, used, calls, var_names=["CD3E", "CD2", "CD68", "KIT"], min_markers=2
    ).set_index("lineage")
    assert list(table.index) == list(LINEAGES)
    assert table.loc["T_NK", ["markers_listed", "markers_measured", "markers_used"]].tolist() == [
        3,
        2,
        2,
    ]
    assert table.loc["T_NK", "cells_called"] == 5 and bool(table.loc["T_NK", "callable"])
    assert table.loc["T_NK", "note"] == ""
    assert table.loc["mast", "markers_measured"] == 1 and not table.loc["mast", "callable"]
    assert table.loc["mast", "note"].startswith("mast cannot be called: 0 of its markers")
    assert "label_col" in table.loc["mast", "note"]
    assert not table.loc["myeloid", "callable"] and table.loc["epithelial", "markers_listed"] == 0


@pytest.fixture(scope="module")
def demo():
    return ad.read_h5ad(DEMO)


def _panel(var_names, seed: int, size: int = 400) -> list[str]:
    """Half the panel from lineage markers of the pegasus files and the whole-transcriptome
    list, at most ONE per lineage of the latter (the 479-gene MERFISH case: KRT8 only), the
    rest random genes."""
    rng = np.random.default_rng(seed)
    mod = _builder()
    core = annotate.load_markers()
    pegasus = {g for genes in mod._pegasus_genes().values() for g in genes}
    var = set(var_names)
    keep_core = {rng.choice(sorted(set(g) & var)) for g in core.values() if set(g) & var}
    pool = sorted((pegasus & var) - {g for g in core.values() for g in g})
    genes = list(rng.choice(pool, size // 2 - len(keep_core), replace=False)) + sorted(keep_core)
    rest = sorted(var - set(genes))
    return sorted(genes + list(rng.choice(rest, size - len(genes), replace=False)))


def _clustered_panel(demo, panel) -> ad.AnnData:
    a = demo[:, panel].copy()
    a.layers["counts"] = sp.csr_matrix(a.X, dtype=np.float32)
    kept, _, _ = qc.run_qc(a, options=qc.QcOptions(input_mode="panel"))
    assert kept.n_obs == demo.n_obs  # no cell lost on the panel
    store_input_mode(kept, "panel")
    normalise_in_place(kept, mode="panel")
    cluster.cluster(kept, seed=0)
    return kept


def _f1(kept, calls) -> float:
    truth = kept.obs["cell_type"].astype(str).map(QIAN_MAP)
    return f1_score(truth, calls, labels=sorted(set(truth)), average="macro")


def test_panel_markers_beat_the_core_list_on_a_sparse_panel(demo):
    """Macro-F1 against the authors' labels, 4,000 cells, a 400-gene panel keeping one
    whole-transcriptome marker per lineage. Measured: 0.745 with the panel candidates and
    the whole-transcriptome caller, 0.745 with the cluster-level panel caller (B cells have
    no usable marker on this panel: 5/6 is the most it can reach), and with the
    whole-transcriptome list every lineage has under 2 markers (all unassigned); 0.65 leaves
    room for numerical differences between scanpy/igraph versions."""
    kept = _clustered_panel(demo, _panel(demo.var_names, seed=3))
    panel_markers = annotate.load_markers(annotate.PANEL_MARKERS)
    expressed = {k: v for k, v in annotate.expressed_markers(kept, panel_markers).items() if v}
    f1_panel = _f1(kept, annotate.annotate(kept, expressed)[0]["compartment"])
    f1_calls = _f1(kept, annotate.annotate_panel(kept, panel_markers)[0]["compartment"])
    with pytest.warns(UserWarning, match="fewer than 2 marker genes"):
        f1_core = _f1(kept, annotate.annotate(kept, annotate.load_markers())[0]["compartment"])
    assert f1_panel >= 0.65 and f1_calls >= 0.65 and f1_core <= 0.3


def test_markers_found_notes_a_lineage_called_from_few_markers():
    calls = pd.Series(["epithelial"] * 4 + ["T_NK"] * 3)
    used = {"epithelial": ["KRT8"], "T_NK": ["CD3E", "CD2", "TRAC"]}
    table = annotate.markers_found(
        used, used, calls, var_names=["KRT8", "CD3E", "CD2", "TRAC"], min_markers=1, few=3
    ).set_index("lineage")
    assert (
        bool(table.loc["epithelial", "callable"]) and table.loc["epithelial", "cells_called"] == 4
    )
    assert table.loc["epithelial", "note"].startswith(
        "epithelial called from 1 marker(s) only (KRT8)"
    )
    assert table.loc["T_NK", "note"] == ""  # three markers: no note
