"""tmesig.de._inference: the fast first-mean fit gives pydeseq2's own numbers bit for bit, and
the pseudobulk test gives the same table as pydeseq2's DefaultInference on any number of
processes; gseapy prerank gives the same table on one or two threads."""

import warnings

import numpy as np
import pandas as pd
import pytest
from pydeseq2 import utils
from pydeseq2.dds import DeseqDataSet
from pydeseq2.default_inference import DefaultInference
from pydeseq2.ds import DeseqStats
from tmesig import de, enrichment
from tmesig.de._inference import lin_mu


def _counts(seed=0, n_units=8, n_genes=120):
    rng = np.random.default_rng(seed)
    mean = rng.lognormal(4.0, 1.5, n_genes) * rng.uniform(0.5, 2.0, (n_units, 1))
    counts = rng.negative_binomial(20, 20 / (20 + mean))
    counts[:, :3] = 0  # all-zero genes, as pydeseq2 meets them
    counts[0, 3] = 5000  # an outlier for the Cook's-distance refit
    units = pd.DataFrame(
        {"patient": [f"P{i // 2}" for i in range(n_units)], "is_test": np.arange(n_units) % 2 == 1}
    )
    genes = [f"G{i:03d}" for i in range(n_genes)]
    return pd.DataFrame(counts, columns=genes), units


@pytest.mark.parametrize("paired", [False, True])
def test_lin_mu_is_pydeseq2_fit_lin_mu_bit_for_bit(paired):
    counts, units = _counts()
    x = counts.to_numpy(float)
    sf = np.random.default_rng(1).uniform(0.5, 2.0, len(x))
    cond = units["is_test"].to_numpy(float)
    cols = [np.ones(len(x)), cond]
    if paired:  # patient indicators as pydeseq2's design has them
        cols += [(units["patient"] == p).to_numpy(float) for p in sorted(units["patient"])[1::2]]
    design = np.column_stack(cols)
    ref = np.column_stack(
        [utils.fit_lin_mu(x[:, i], sf, design, min_mu=0.5) for i in range(x.shape[1])]
    )
    got = lin_mu(x, sf, design, min_mu=0.5)
    assert np.array_equal(got, ref)  # the same floats, not merely close


def _reference(counts, units, paired):
    """pydeseq2 with its own DefaultInference on one core: what tmesig used to run."""
    ids = [f"u{i}" for i in range(len(units))]
    meta = pd.DataFrame(
        {
            "condition": np.where(units["is_test"], "test", "ref"),
            "patient": [f"p{k}" for k in pd.factorize(units["patient"], sort=True)[0]],
        },
        index=ids,
    )
    inference = DefaultInference(n_cpus=1)
    design = "~patient + condition" if paired else "~condition"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dds = DeseqDataSet(
            counts=counts.set_axis(ids),
            metadata=meta,
            design=design,
            inference=inference,
            quiet=True,
        )
        dds.deseq2()
        res = DeseqStats(
            dds, contrast=["condition", "test", "ref"], inference=inference, quiet=True
        )
        res.summary()
    return res.results_df


def test_deseq_genes_equals_default_inference_on_one_and_two_processes():
    paired = False  # one group per coefficient: the design where lin_mu is used
    counts, units = _counts(seed=2, n_genes=60)
    ref = _reference(counts, units, paired)
    one = de.deseq_genes(counts, units, paired=paired, n_cpus=1)
    two = de.deseq_genes(counts, units, paired=paired, n_cpus=2)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    for col, name in (
        ("stat", "stat"),
        ("p", "pvalue"),
        ("fdr", "padj"),
        ("effect", "log2FoldChange"),
    ):
        np.testing.assert_array_equal(one[col].to_numpy(), ref[name].to_numpy(float))
    assert one["stat"].notna().sum() > 50  # genes were really tested


def test_prerank_threads_do_not_change_the_table():
    rng = np.random.default_rng(3)
    genes = [f"G{i:03d}" for i in range(400)]
    rnk = pd.Series(rng.normal(size=400), index=genes).sort_values(ascending=False)
    sets = {f"S{k}": list(rng.choice(genes, 15, replace=False)) for k in range(12)}
    kw = {"permutation_num": 200, "seed": 7}
    one = enrichment.prerank({"a": rnk}, {"lib": sets}, threads=1, **kw)
    two = enrichment.prerank({"a": rnk}, {"lib": sets}, threads=2, **kw)
    assert len(one) == 12
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_compartment_with_its_lineage_pseudobulks_is_tested_once(monkeypatch):
    """A state holding all its lineage's cells reuses the lineage's test; others do not."""
    import tmesig.de._compare as compare
    from tmesig.conditions import Contrast

    rng = np.random.default_rng(4)
    genes = pd.Index([f"G{i}" for i in range(30)])
    lineage = rng.gamma(2.0, 1.0, (8, 30))  # 4 patients x 2 conditions
    other = lineage + rng.normal(1.0, 0.3, (8, 30))
    values = np.vstack([lineage, lineage, other])  # L, S (= L's cells), T
    units = [(f"P{p}", c) for p in range(4) for c in ("a", "b")]
    meta = pd.DataFrame(
        [
            (lv, comp, p, c, 50)
            for lv, comp in (("lineage", "L"), ("state", "S"), ("state", "T"))
            for p, c in units
        ],
        columns=["level", "compartment", "patient", "condition", "n_cells"],
    )
    calls = []
    real = compare.lognormal_genes

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(compare, "lognormal_genes", counted)
    out = de.compare_genes(meta, values, genes, contrast=Contrast("a", "b", ""), counts=False)
    assert len(calls) == 2  # L and T; S reuses L's table
    cols = ["gene", "effect", "stat", "p", "fdr"]
    by = {c: out[out["compartment"] == c][cols].reset_index(drop=True) for c in "LST"}
    pd.testing.assert_frame_equal(by["L"], by["S"], check_exact=True)
    ref = real(  # the paired t-test on S's own pseudobulks
        pd.DataFrame(lineage, columns=genes),
        pd.DataFrame({"patient": [p for p, _ in units], "is_test": [c == "b" for _, c in units]}),
        paired=True,
    )
    got = by["S"].set_index("gene").loc[ref.index]
    np.testing.assert_array_equal(got["stat"].to_numpy(), ref["stat"].to_numpy())
    assert not np.array_equal(by["T"]["stat"].to_numpy(), by["L"]["stat"].to_numpy())
