"""tmesig.de.pseudobulk: sums and means per level x compartment x patient x condition."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from tmesig import de


def _data(seed=0, n=90, g=7):
    rng = np.random.default_rng(seed)
    x = rng.poisson(2.0, size=(n, g)).astype(np.float32)
    obs = pd.DataFrame(
        {
            "patient": rng.choice(["P1", "P2", "P3"], n),
            "condition": rng.choice(["pre", "post"], n),
            "lineage": rng.choice(["T_NK", "myeloid", "unassigned"], n),
            "state": rng.choice(["CD8_exhausted", "Treg", "unassigned"], n),
        },
        index=[f"c{i}" for i in range(n)],
    )
    a = ad.AnnData(X=sp.csr_matrix(np.log1p(x)), obs=obs)
    a.var_names = [f"G{i}" for i in range(g)]
    a.layers["counts"] = sp.csr_matrix(x)
    return a, x


def _hand(a, x, level_col, stat):
    """Hand aggregation with a plain Python loop over cells."""
    out = {}
    for i, (p, c, lab) in enumerate(a.obs[["patient", "condition", level_col]].itertuples(False)):
        if lab == "unassigned":
            continue
        out.setdefault((lab, p, c), []).append(x[i])
    return {k: (np.sum(v, axis=0) if stat == "sum" else np.mean(v, axis=0)) for k, v in out.items()}


@pytest.mark.parametrize("stat", ["sum", "mean"])
def test_pseudobulk_equals_hand_aggregation(stat, tmp_path):
    a, x = _data()
    groups = {"lineage": a.obs["lineage"], "state": a.obs["state"]}
    layer = "counts" if stat == "sum" else None
    src = x if stat == "sum" else np.log1p(x)
    path = tmp_path / "d.h5ad"
    a.write_h5ad(path)
    for source, chunk in ((a, 1000), (path, 7)):  # in memory; streamed from the file in chunks
        meta, vals = de.pseudobulk(
            source,
            groups,
            patient=a.obs["patient"],
            condition=a.obs["condition"],
            layer=layer,
            statistic=stat,
            chunk_size=chunk,
        )
        expected = {**{("lineage", *k): v for k, v in _hand(a, src, "lineage", stat).items()}}
        expected |= {("state", *k): v for k, v in _hand(a, src, "state", stat).items()}
        got = {
            tuple(r): vals[i]
            for i, r in enumerate(
                meta[["level", "compartment", "patient", "condition"]].itertuples(False)
            )
        }
        assert set(got) == set(expected)
        for k, v in expected.items():
            np.testing.assert_allclose(got[k], v, rtol=1e-5)
        cells = a.obs.groupby(["lineage", "patient", "condition"], observed=True).size()
        lin = meta[meta["level"] == "lineage"].set_index(["compartment", "patient", "condition"])
        for k, n in lin["n_cells"].items():
            assert cells[k] == n
    assert "unassigned" not in set(meta["compartment"])


def test_pseudobulk_rejects_unknown_statistic():
    a, _ = _data()
    with pytest.raises(ValueError, match="statistic"):
        de.pseudobulk(
            a,
            {"lineage": a.obs["lineage"]},
            patient=a.obs["patient"],
            condition=a.obs["condition"],
            statistic="median",
        )


def test_read_obs_reads_no_matrix(tmp_path):
    a, _ = _data()
    a.uns["tmesig_input_mode"] = "counts"
    a.write_h5ad(tmp_path / "d.h5ad")
    obs, genes, uns = de.read_obs(tmp_path / "d.h5ad")
    assert list(obs.index) == list(a.obs_names) and list(genes) == list(a.var_names)
    assert uns["tmesig_input_mode"] == "counts"


def _panel_file(tmp_path):
    """A panel clustered.h5ad as the cluster stage writes it (stored counts, size factors to
    the median total) and the log values an in-memory read gives."""
    from tmesig.io.expression import EXPRESSION_KEY, normalise_in_place

    a, x = _data(seed=4, n=120, g=9)
    stored = ad.AnnData(X=sp.csr_matrix(x), obs=a.obs.copy(), var=a.var.copy())
    normalise_in_place(stored, mode="panel")
    logged = stored.X.toarray()
    stored.X = sp.csr_matrix(x)
    stored.uns[EXPRESSION_KEY] = {**stored.uns[EXPRESSION_KEY], "x": "stored"}
    stored.uns["tmesig_input_mode"] = "panel"
    path = tmp_path / "clustered.h5ad"
    stored.write_h5ad(path)
    return path, stored.obs, logged


def test_pseudobulk_of_a_backed_panel_file_equals_the_in_memory_read(tmp_path):
    from tmesig.io.expression import read_expression

    path, obs, logged = _panel_file(tmp_path)
    groups = {"lineage": obs["lineage"], "state": obs["state"]}
    kw = {"patient": obs["patient"], "condition": obs["condition"], "layer": None}
    mem_meta, mem = de.pseudobulk(read_expression(path), groups, statistic="mean", **kw)
    backed = read_expression(path, backed=True)
    meta, got = de.pseudobulk(backed, groups, statistic="mean", chunk_size=7, **kw)
    backed.file.close()
    pd.testing.assert_frame_equal(meta, mem_meta)
    np.testing.assert_array_equal(got, mem)  # same float32 values, same chunked sums
    hand = _hand(ad.AnnData(obs=obs), logged, "lineage", "mean")
    for i, row in meta[meta["level"] == "lineage"].iterrows():
        key = (row["compartment"], row["patient"], row["condition"])
        np.testing.assert_allclose(got[i], hand[key], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.float64])
def test_pseudobulk_sums_in_float64_whatever_the_stored_dtype(dtype, tmp_path):
    # 2**24 + 1 is not a float32: a float32 sum of the group would lose the 1
    x = np.array([[2**24, 3], [1, 4], [5, 6]], dtype=dtype)
    obs = pd.DataFrame(
        {"patient": ["P1", "P1", "P2"], "condition": ["pre"] * 3, "lineage": ["T_NK"] * 3},
        index=["a", "b", "c"],
    )
    path = tmp_path / "x.h5ad"
    ad.AnnData(X=sp.csr_matrix(x), obs=obs).write_h5ad(path)
    meta, vals = de.pseudobulk(
        path,
        {"lineage": obs["lineage"]},
        patient=obs["patient"],
        condition=obs["condition"],
        layer=None,
    )
    assert vals.dtype == np.float64
    np.testing.assert_array_equal(vals, [[2**24 + 1, 7], [5, 6]])
    assert meta["n_cells"].tolist() == [2, 1]
