"""tmesig.genes_view / gene_groups: per-gene tables by lineage and state, counted by hand."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from tmesig import genes_view
from tmesig.figures.gene_dots import dotplot_levels, level_labels
from tmesig.gene_groups import cell_groups, gene_matrix
from tmesig.signatures import GeneSet

GENES = ["NT5E", "ENTPD1", "CD38", "LAG3", "B2M"] + [f"F{i}" for i in range(5)]
#        NT5E ENTPD1 CD38 LAG3 B2M (then five fillers, zero)
ROWS = [
    [2, 0, 0, 0, 5],  # c0 epithelial malignant          p1
    [2, 0, 0, 0, 5],  # c1 epithelial malignant          p1
    [0, 0, 0, 0, 5],  # c2 epithelial normal_epithelium  p2
    [1, 0, 0, 0, 5],  # c3 epithelial normal_epithelium  p2
    [0, 1, 3, 1, 4],  # c4 T_NK CD8_exhausted            p1
    [0, 2, 0, 1, 4],  # c5 T_NK CD8_exhausted            p1
    [0, 0, 0, 1, 4],  # c6 T_NK CD8_exhausted            p2
    [0, 1, 0, 0, 4],  # c7 T_NK unassigned state         p2
]
STATES = ["malignant"] * 2 + ["normal_epithelium"] * 2 + ["CD8_exhausted"] * 3 + ["unassigned"]


def _set(name, genes, card=False):
    return GeneSet(
        name=name,
        title=name,
        genes=tuple(genes),
        direction="up",
        compartments=("any",),
        mechanism="m",
        card=card,
        provenance={"seed": "x", "section": "y"},
    )


LIBRARY = [
    _set("nt5e_adenosine", ["NT5E", "ENTPD1", "CD38"], card=True),
    _set("lag3_fgl1", ["LAG3", "FGL1"], card=True),
    _set("cd274_pdl1", ["CD274", "PDCD1LG2"], card=True),
    _set("two_tnk", ["ENTPD1", "LAG3", "F0"]),
    _set("programme", ["NT5E", "ENTPD1"] + [f"P{i}" for i in range(20)]),
]
COVERAGE = pd.DataFrame(
    {
        "set": ["nt5e_adenosine", "lag3_fgl1", "cd274_pdl1", "two_tnk", "programme"],
        "scored": [True, False, False, True, False],
        "reason": [
            "",
            "1 of 2 genes found < min_genes 3",
            "0 of 2 genes found < min_genes 3; coverage 0.00 < min_coverage 0.50",
            "",
            "coverage 0.09 < min_coverage 0.50",
        ],
    }
)


def _data(with_state=True):
    x = np.zeros((8, len(GENES)), dtype=np.float32)
    x[:, :5] = ROWS
    cells = [f"c{i}" for i in range(8)]
    obs = pd.DataFrame({"patient": ["p1", "p1", "p2", "p2", "p1", "p1", "p2", "p2"]}, index=cells)
    adata = ad.AnnData(X=sp.csr_matrix(x), obs=obs, var=pd.DataFrame(index=GENES))
    ann = pd.DataFrame({"compartment": ["epithelial"] * 4 + ["T_NK"] * 4}, index=cells)
    ann.index.name = "cell"
    if with_state:
        ann["state"] = STATES
        ann["parent"] = ann["compartment"]
    return adata, ann


def _row(t, level, comp, gene):
    hit = t[(t["level"] == level) & (t["compartment"] == comp) & (t["gene"] == gene)]
    assert len(hit) == 1, (level, comp, gene)
    return hit.iloc[0]


def test_means_fractions_and_patient_spread_by_hand():
    adata, ann = _data()
    opts = genes_view.GeneViewOptions(min_cells=2, chunk_size=3)
    t = genes_view.gene_table(adata, LIBRARY, annotation=ann, coverage=COVERAGE, options=opts)
    assert list(t.columns) == list(genes_view.COLUMNS)
    r = _row(t, "lineage", "epithelial", "NT5E")  # 2, 2, 0, 1
    assert (r["n_cells"], r["mean"], r["fraction_expressing"]) == (4, 1.25, 0.75)
    # patient means: p1 (2+2)/2 = 2, p2 (0+1)/2 = 0.5
    assert r["n_patients"] == 2 and r["mean_of_patient_means"] == pytest.approx(1.25)
    assert r["sd_of_patient_means"] == pytest.approx(np.std([2, 0.5], ddof=1))
    r = _row(t, "lineage", "T_NK", "CD38")  # 3, 0, 0, 0
    assert (r["mean"], r["fraction_expressing"]) == (0.75, 0.25)
    # T_NK: p1 has c4, c5 (2 cells), p2 has c6, c7; LAG3 p1 mean 1, p2 mean 0.5
    r = _row(t, "lineage", "T_NK", "LAG3")
    assert r["mean_of_patient_means"] == pytest.approx(0.75) and r["n_patients"] == 2
    # state level: CD8_exhausted is c4-c6 (the unassigned c7 is no state row)
    r = _row(t, "state", "CD8_exhausted", "LAG3")
    assert (r["parent"], r["n_cells"], r["mean"], r["fraction_expressing"]) == ("T_NK", 3, 1, 1)
    assert r["n_patients"] == 1  # p2 has one CD8_exhausted cell < min_cells 2
    r = _row(t, "state", "malignant", "NT5E")
    assert (r["parent"], r["mean"], r["fraction_expressing"]) == ("epithelial", 2, 1)
    assert "unassigned" not in set(t["compartment"])
    assert list(dict.fromkeys(t["level"])) == ["lineage", "state"]
    # lineage rows: the lineage is its own parent
    lin = t[t["level"] == "lineage"]
    assert (lin["compartment"] == lin["parent"]).all()


def test_which_genes_and_why():
    adata, ann = _data()
    t = genes_view.gene_table(adata, LIBRARY, annotation=ann, coverage=COVERAGE)
    why = t.drop_duplicates("gene").set_index("gene")["shown_for"]
    # card genes first (CD274, NT5E, LAG3 in card order), then the others sorted
    assert list(why.index[:3]) == ["CD274", "NT5E", "LAG3"]
    # NT5E lives on epithelial cells, ENTPD1 on T_NK: nt5e_adenosine spans lineages
    assert why["NT5E"] == "card gene; set spans lineages: nt5e_adenosine"
    assert why["ENTPD1"] == "set spans lineages: nt5e_adenosine"
    # lag3_fgl1 not scored for too few genes: its genes are shown, FGL1 as not measured
    assert why["LAG3"] == "card gene; set not scored (too few genes): lag3_fgl1"
    assert why["FGL1"] == "set not scored (too few genes): lag3_fgl1"
    # two_tnk's genes all live on T_NK; programme is too large to split; B2M is in no set shown
    assert {"F0", "B2M", "P0"}.isdisjoint(why.index)
    homes = t.drop_duplicates("gene").set_index("gene")["home_lineage"]
    assert (homes["NT5E"], homes["ENTPD1"], homes["CD38"]) == ("epithelial", "T_NK", "T_NK")
    sets = t.drop_duplicates("gene").set_index("gene")["sets"]
    assert sets["ENTPD1"] == "nt5e_adenosine,programme,two_tnk"


def test_unmeasured_genes_are_not_zero():
    """A panel without CD274 or FGL1: listed as not measured in every compartment, no value."""
    adata, ann = _data()
    t = genes_view.gene_table(adata, LIBRARY, annotation=ann, coverage=COVERAGE)
    comps = t[["level", "compartment"]].drop_duplicates()
    assert len(comps) == 2 + 3  # epithelial, T_NK; malignant, normal_epithelium, CD8_exhausted
    for gene in ("CD274", "FGL1"):
        rows = t[t["gene"] == gene]
        assert len(rows) == len(comps) and not rows["measured"].any()
        assert rows[["mean", "fraction_expressing", "n_cells"]].isna().all().all()
        assert rows["note"].str.startswith("not measured").all()
    assert t.loc[t["measured"], "note"].eq("").all()
    assert t.loc[t["measured"], "mean"].notna().all()


def test_backed_equals_in_memory_and_no_state_column(tmp_path):
    adata, ann = _data()
    adata.write_h5ad(tmp_path / "x.h5ad")
    backed = ad.read_h5ad(tmp_path / "x.h5ad", backed="r")
    opts = genes_view.GeneViewOptions(chunk_size=2)
    a = genes_view.gene_table(adata, LIBRARY, annotation=ann, coverage=COVERAGE)
    b = genes_view.gene_table(backed, LIBRARY, annotation=ann, coverage=COVERAGE, options=opts)
    pd.testing.assert_frame_equal(a, b)
    _, plain = _data(with_state=False)
    c = genes_view.gene_table(adata, LIBRARY, annotation=plain, coverage=COVERAGE)
    assert set(c["level"]) == {"lineage"}
    pd.testing.assert_frame_equal(c, a[a["level"] == "lineage"].reset_index(drop=True))
    m = gene_matrix(backed, ["LAG3", "CD274", "NT5E"], chunk_size=3)
    assert list(m.var_names) == ["LAG3", "NT5E"]
    np.testing.assert_array_equal(m.X.toarray(), np.asarray(ROWS)[:, [3, 0]])


def test_spanning_needs_both_genes_apart():
    rows = pd.DataFrame(
        {
            "compartment": ["A", "B", "A", "B", "A", "B"],
            "gene": ["g1", "g1", "g2", "g2", "g3", "g3"],
            "mean": [1.0, 0.1, 0.2, 1.0, 0.5, 0.6],
            "fraction_expressing": [0.5, 0.1, 0.1, 0.5, 0.5, 0.5],
        }
    )
    sets = [_set("apart", ["g1", "g2"]), _set("close", ["g1", "g3"]), _set("big", ["g1", "g2"])]
    homes, span = genes_view.spanning_sets(rows, sets[:2], min_fraction=0.1, max_set_genes=5)
    assert homes == {"g1": "A", "g2": "B", "g3": "B"} and span == ["apart"]
    # g3 is B's but only 0.6/0.5 = 1.2-fold; a threshold of 5-fold drops "apart" (10 and 5)
    _, strict = genes_view.spanning_sets(
        rows, sets[:2], min_fraction=0.1, max_set_genes=5, min_fold=5.1
    )
    assert strict == []
    _, small = genes_view.spanning_sets(rows, sets, min_fraction=0.1, max_set_genes=1)
    assert small == []


def test_dotplot_rows_are_lineages_then_states():
    adata, ann = _data()
    groups = cell_groups(adata, ann)
    lineage, state, order = level_labels(groups)
    assert order == [
        "T_NK",
        "epithelial",
        "CD8_exhausted (T_NK)",
        "malignant (epithelial)",
        "normal_epithelium (epithelial)",
    ]
    assert state["c7"] == "" and lineage["c7"] == "T_NK"
    fig = dotplot_levels(gene_matrix(adata, ["NT5E", "LAG3"]), ["CD274", "NT5E", "LAG3"],
                         groups=groups)  # fmt: skip
    texts = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert set(order) <= set(texts)
    titles = [ax.get_title() for ax in fig.axes]
    assert "not measured in this dataset (no value, not zero): CD274" in titles
