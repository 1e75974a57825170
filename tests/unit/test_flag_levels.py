"""Flags at two levels: lineage rows unchanged, state rows, primary families per level."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
import scipy.sparse as sp
from statsmodels.stats.multitest import multipletests
from tmesig import flag, score, signatures
from tmesig.signatures import GeneSet

#: (lineage, state) of the 40 cells of each block: 20 + 20 per lineage and sample
BLOCKS = [
    ("T_NK", "CD8_exhausted"),
    ("T_NK", "CD4_conventional"),
    ("myeloid", "macrophage"),
    ("myeloid", "unassigned"),
    ("epithelial", "malignant"),
    ("epithelial", "normal_epithelium"),
]
PARENT = {"unassigned": None, "malignant": "epithelial", "normal_epithelium": "epithelial"}


def _gs(name, genes, comps):
    return GeneSet(
        name=name,
        title=name,
        genes=tuple(genes),
        direction="up",
        compartments=comps,
        mechanism="m",
        card=False,
        provenance={"seed": "x", "section": "y"},
    )


def _planted(seed=0):
    """4 samples; genes G0-G9 high in myeloid (all of it), G10-G19 high in CD8_exhausted."""
    rng = np.random.default_rng(seed)
    n_genes, rows, cells = 400, [], []
    base = rng.gamma(1.0, 1.0, n_genes)
    for s in range(4):
        for lineage, state in BLOCKS:
            lam = np.tile(base, (20, 1)) * rng.uniform(0.8, 1.2, size=(20, 1))
            if lineage == "myeloid":
                lam[:, :10] *= 6
            if state == "CD8_exhausted":
                lam[:, 10:20] *= 6
            rows.append(rng.poisson(lam))
            parent = PARENT.get(state, lineage) or lineage
            cells += [(lineage, state, parent, f"s{s}")] * 20
    a = ad.AnnData(
        X=sp.csr_matrix(np.vstack(rows).astype(np.float32)),
        var=pd.DataFrame(index=[f"G{i}" for i in range(n_genes)]),
    )
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    ann = pd.DataFrame(
        cells, columns=["compartment", "state", "parent", "sample"], index=a.obs_names
    )
    return a, ann


SETS = [
    _gs("MYELO", [f"G{i}" for i in range(10)], ("myeloid",)),
    _gs("EXH", [f"G{i}" for i in range(10, 20)], ("CD8_exhausted",)),
    _gs("HOUSE", [f"G{i}" for i in range(300, 310)], ("any",)),
]


@pytest.fixture(scope="module")
def run():
    a, ann = _planted()
    scores, _ = score.score_cells(a, SETS)
    kw = dict(
        compartment=ann["compartment"],
        unit=ann["sample"],
        options=flag.FlagOptions(n_null=99),
        score_options=score.ScoreOptions(seed=4),
    )
    both = flag.flag_dataset(a, scores, SETS, states=ann[["state", "parent"]], **kw)
    lineage_only = flag.flag_dataset(a, scores, SETS, **kw)
    return both, lineage_only


def test_state_rows_flagged_where_planted_and_primary(run):
    (table, flags), _ = run
    hits = set(flags.loc[flags.flagged, ["level", "compartment", "set"]].itertuples(index=False))
    assert hits == {
        ("lineage", "myeloid", "MYELO"),
        ("state", "macrophage", "MYELO"),  # names myeloid, no myeloid state: every state
        ("state", "CD8_exhausted", "EXH"),
    }
    fam = flags.set_index(["level", "compartment", "set"])["family"]
    assert fam[("lineage", "T_NK", "EXH")] == "exploratory"  # names a state, not T_NK
    assert fam[("state", "CD4_conventional", "EXH")] == "exploratory"
    assert fam[("state", "malignant", "HOUSE")] == "primary"  # any
    states = flags.loc[flags.level == "state"]
    assert set(states["compartment"]) == {s for _, s in BLOCKS} - {"unassigned"}
    par = states.drop_duplicates("compartment").set_index("compartment")["parent"]
    assert par["CD8_exhausted"] == "T_NK" and par["malignant"] == "epithelial"
    assert set(table.loc[table.level == "state", "compartment"]) == set(states["compartment"])
    assert (table.loc[table.level == "state", "n_cells"] == 20).all()


def test_fdr_within_level_and_family(run):
    (_, flags), _ = run
    for _, grp in flags.dropna(subset=["p"]).groupby(["level", "family"]):
        expected = multipletests(grp["p"], method="fdr_bh")[1]
        np.testing.assert_allclose(grp["fdr"], expected)


def test_lineage_rows_unchanged_by_the_state_level(run):
    (table, flags), (table1, flags1) = run
    key = ["compartment", "set"]
    lin = flags[flags.level == "lineage"].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(lin, flags1.sort_values(key).reset_index(drop=True))
    pd.testing.assert_frame_equal(table[table.level == "lineage"], table1)


def test_state_contrast_is_against_every_other_cell_of_the_sample(run):
    """Hand computation: mean_in / mean_out of CD8_exhausted vs all other cells (the
    state-unassigned myeloid cells included) of each sample, averaged over samples."""
    a, ann = _planted()
    scores, _ = score.score_cells(a, SETS)
    (_, flags), _ = run
    row = flags.set_index(["level", "compartment", "set"]).loc[("state", "CD8_exhausted", "EXH")]
    inside = ann["state"] == "CD8_exhausted"
    per = [
        (scores.loc[inside & m, "EXH"].mean(), scores.loc[~inside & m, "EXH"].mean())
        for m in (ann["sample"] == s for s in sorted(set(ann["sample"])))
    ]
    assert row["mean_in"] == pytest.approx(np.mean([i for i, _ in per]))
    assert row["mean_out"] == pytest.approx(np.mean([o for _, o in per]))
    assert row["n_samples"] == 4


@pytest.mark.parametrize(
    ("comps", "compartment", "level", "parent", "expected"),
    [
        (("T_NK",), "T_NK", "lineage", "T_NK", True),
        (("CD8_exhausted",), "T_NK", "lineage", "T_NK", False),
        (("T_NK",), "CD8_exhausted", "state", "T_NK", True),
        (("T_NK", "CD8_exhausted"), "CD8_exhausted", "state", "T_NK", True),
        (("T_NK", "CD8_exhausted"), "Treg", "state", "T_NK", False),
        (("T_NK", "CD8_exhausted"), "macrophage", "state", "myeloid", False),
        (("malignant",), "epithelial", "lineage", "epithelial", False),
        (("malignant",), "malignant", "state", "epithelial", True),
        (("malignant",), "normal_epithelium", "state", "epithelial", False),
        (("epithelial",), "malignant", "state", "epithelial", True),
        (("epithelial", "malignant"), "normal_epithelium", "state", "epithelial", False),
        (("any",), "Treg", "state", "T_NK", True),
        (("any",), "mast", "lineage", "mast", True),
    ],
)
def test_primary_in_by_hand(comps, compartment, level, parent, expected):
    gs = _gs("S", ["G1"], comps)
    assert signatures.primary_in(gs, compartment, level=level, parent=parent) is expected


def test_no_scored_set_gives_cell_counts_and_no_test():
    """A panel that scores no set: the compartments table still counts the cells (40 per
    lineage and sample: 20 per state), and flags.tsv has its columns and no row."""
    a, ann = _planted()
    table, flags = flag.flag_dataset(
        a,
        pd.DataFrame(index=a.obs_names),
        [],
        compartment=ann["compartment"],
        unit=ann["sample"],
        states=ann[["state", "parent"]],
    )
    assert flags.empty and {"level", "parent", "set", "p", "fdr", "flagged"} <= set(flags)
    lineage = table[table["level"] == "lineage"]
    assert (lineage["n_cells"] == 40).all() and len(lineage) == 3 * 4
    states = table[table["level"] == "state"]
    assert set(states["compartment"]) == {
        "CD8_exhausted",
        "CD4_conventional",
        "macrophage",
        "malignant",
        "normal_epithelium",
    }
    assert (states["n_cells"] == 20).all()
