"""Reference purification and clone calls of tmesig.cnv (planted copy-number truth)."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from conftest import planted_cnv
from tmesig.cnv import CnvOptions, call_malignant
from tmesig.cnv._clones import find_clones
from tmesig.cnv._signal import Signal

#: Cells per group: a larger fibroblast reference and tumour than test_cnv.py's.
GROUPS = {"T_NK": 150, "myeloid": 150, "fibroblast": 200, "normal_epi": 80, "tumour": 220}


def _planted(seed: int = 0) -> tuple[ad.AnnData, np.ndarray]:
    """Reference lineages, normal epithelium and a tumour clone (chr1 block x2, chr3 block
    x0.5); Poisson counts, log-normalised (test_cnv.py's planted data, other group sizes)."""
    return planted_cnv(seed, groups=GROUPS)


@pytest.fixture(scope="module")
def contaminated():
    """70 of the 220 tumour cells annotated fibroblast: they enter the reference."""
    adata, truth = _planted()
    lineage = adata.obs["lineage"].astype(str).copy()
    planted = np.flatnonzero(truth)[:70]
    lineage.iloc[planted] = "fibroblast"
    calls = call_malignant(adata, lineage=lineage, options=CnvOptions(seed=0))
    mis = np.zeros(adata.n_obs, dtype=bool)
    mis[planted] = True
    return adata, truth, lineage, mis, calls


def test_contaminating_tumour_cells_leave_the_reference(contaminated) -> None:
    _, truth, lineage, mis, calls = contaminated
    removed = calls["removed_from_reference"].to_numpy()
    # the planted tumour cells leave the reference, (almost) no true normal cell does
    assert removed[mis].mean() >= 0.95
    normal_ref = ~truth & lineage.isin(["T_NK", "myeloid", "fibroblast"]).to_numpy()
    assert removed[normal_ref].mean() <= 0.02
    assert not (calls["is_reference"].to_numpy() & removed).any()
    # removed cells get their own call: malignant, and counted as another lineage's
    called = calls["cnv_call"].astype(str).to_numpy() == "malignant"
    assert called[mis].mean() >= 0.95
    assert calls.attrs["n_malignant_other_lineage"] == int((called & mis).sum())
    assert calls.loc[mis, "note"].str.startswith("removed from the reference").mean() >= 0.95


def test_no_reference_cell_above_both_and_calls(contaminated) -> None:
    _, truth, lineage, _, calls = contaminated
    a = calls.attrs
    ref = calls["is_reference"].to_numpy()
    above = (calls["cnv_score"] > a["score_threshold"]) & (calls["cnv_corr"] > a["corr_threshold"])
    assert not (above.to_numpy() & ref).any()
    assert a["converged"] and 2 <= a["iterations"] <= CnvOptions().max_iterations
    called = calls["cnv_call"].astype(str).to_numpy() == "malignant"
    assert called[truth].mean() >= 0.95  # whole tumour, contaminants included
    assert called[~truth].mean() <= 0.01  # normal epithelium and reference
    assert not called[ref].any()


def test_purified_calls_are_deterministic(contaminated) -> None:
    adata, _, lineage, _, calls = contaminated
    again = call_malignant(adata.copy(), lineage=lineage, options=CnvOptions(seed=0))
    pd.testing.assert_frame_equal(calls, again)


def test_one_round_leaves_contaminants_flagged_not_converged() -> None:
    adata, truth = _planted(seed=1)
    lineage = adata.obs["lineage"].astype(str).copy()
    planted = np.flatnonzero(truth)[:70]
    lineage.iloc[planted] = "fibroblast"
    calls = call_malignant(adata, lineage=lineage, options=CnvOptions(seed=0, max_iterations=1))
    assert calls.attrs["iterations"] == 1
    # the cells the only round found are removed and called even without a second run
    assert calls["removed_from_reference"].iloc[planted].mean() >= 0.8
    assert calls.attrs["converged"] is False


def test_find_clones_hand_built() -> None:
    """Two reference groups (noise), one clone (+1 on half the windows), one normal-like
    non-reference cluster: only the clone is a clone, and only its correlated members pass."""
    rng = np.random.default_rng(0)
    w = 40
    pattern = np.r_[np.ones(w // 2), np.zeros(w // 2)]
    ref_a = rng.normal(0, 0.1, (60, w))
    ref_b = rng.normal(0, 0.1, (60, w))
    clone = pattern + rng.normal(0, 0.1, (30, w))
    clone[:3] = rng.normal(0, 0.1, (3, w))  # three members without the pattern
    normal = rng.normal(0, 0.1, (30, w))
    x = np.vstack([ref_a, ref_b, clone, normal])
    codes = np.repeat([0, 1, 2, 3], [60, 60, 30, 30])
    from tmesig.cnv._signal import loo_cluster_corr

    sig = Signal(x=x, codes=codes, score=np.abs(x).mean(1), corr=loo_cluster_corr(x, codes))
    ref = codes < 2
    heldout = ref & (np.arange(codes.size) % 2 == 0)
    groups = np.where(codes == 0, "a", np.where(codes == 1, "b", "q"))
    clones = find_clones(sig, ref=ref, heldout=heldout, groups=groups, options=CnvOptions())
    assert clones.table["clone"].tolist() == [False, False, True, False]
    members = codes == 2
    assert (clones.member == members).all()
    expected_ok = members & (np.arange(codes.size) >= 123)  # the 27 members with the pattern
    assert (clones.corr_ok == expected_ok).all()


def test_epithelial_like_and_note() -> None:
    from tmesig.cnv import epithelial_like, note_epithelial_like

    annotation = pd.DataFrame(
        {
            "cell_compartment": ["fibroblast", "epithelial", "T_NK", "fibroblast", "epithelial"],
            "author_label": ["Epithelial", "Fibroblast", "T_cell", "Tumour", "Epithelial"],
        },
        index=list("abcde"),
    )
    assert epithelial_like(annotation).tolist() == [True, True, False, False, True]
    mapped = epithelial_like(annotation, label_mapping={"Tumour": "epithelial"})
    assert mapped.tolist() == [True, True, False, True, True]
    calls = pd.DataFrame(
        {
            "is_reference": [False, True, True, True, False],
            "removed_from_reference": [True, False, False, False, False],
            "cnv_call": [
                "malignant",
                "non-malignant",
                "non-malignant",
                "non-malignant",
                "uncertain",
            ],
            "note": ["removed", "reference cell (baseline)", "", "", ""],
        },
        index=list("abcde"),
    )
    out, line = note_epithelial_like(calls, mapped)
    # a, b, d were in the initial reference and look epithelial; e was never reference
    assert out["note"].str.contains("epithelial-like").tolist() == [True, True, False, True, False]
    assert line.startswith("3 epithelial-like cells in the CNV reference (1 removed")
    assert "1 malignant); 1 reference cells removed in all, 1 of them malignant" in line


def test_normal_cells_only_are_never_called_malignant() -> None:
    """No tumour at all (T/NK, myeloid and fibroblast cells): purification may drop the tail of
    the reference above both thresholds, but without a clone or strong evidence none of those
    cells is called malignant (they stay uncertain)."""
    adata, truth = _planted(seed=3)
    normal = ~truth & ~adata.obs["lineage"].eq("epithelial").to_numpy()
    adata = adata[normal].copy()
    calls = call_malignant(adata, lineage=adata.obs["lineage"].astype(str), options=CnvOptions())
    assert (calls["cnv_call"].astype(str) == "malignant").sum() == 0
    removed = calls["removed_from_reference"].to_numpy()
    assert removed.sum() >= 1  # seed 3: one normal cell in the tail above both thresholds
    assert (calls.loc[removed, "cnv_call"].astype(str) == "uncertain").all()
    assert calls.loc[removed, "note"].str.contains("shares no clone").all()
    assert calls.attrs["n_malignant_other_lineage"] == 0
