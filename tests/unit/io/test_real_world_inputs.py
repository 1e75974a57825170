"""ingest() on real-world export shapes: unfiltered droplets, velocyto layers, stray white
space, R-mangled and genome-prefixed gene names, GEO file names (each once wrong or refused
with a misleading message)."""

import numpy as np
import pytest
import scipy.sparse as sp
from io_testdata import adata, counts, log1p_norm, write
from tmesig.io import InputError, ingest


def _deep(seed=0, n=60, g=100):
    """Counts of real cells: a few hundred per cell."""
    rng = np.random.default_rng(seed)
    return sp.csr_matrix(rng.poisson(rng.gamma(1.0, 4.0, size=(n, g))).astype(np.float32))


def test_unfiltered_droplet_matrix_refused_naming_the_filtered_one(tmp_path):
    cells = _deep()
    rng = np.random.default_rng(1)
    empty = sp.csr_matrix(rng.poisson(0.05, size=(140, 100)).astype(np.float32))
    a = adata(sp.vstack([cells, empty]).tocsr(), [f"G{i}" for i in range(100)])
    with pytest.raises(InputError) as err:
        ingest(write(tmp_path, a), dataset="d")
    msg = str(err.value)
    assert str(tmp_path / "d.h5ad") in msg and "empty droplets" in msg
    assert "filtered_feature_bc_matrix" in msg
    # the cells alone (and a shallow but uniform dataset) are accepted
    ingest(write(tmp_path, adata(cells, [f"G{i}" for i in range(100)]), "c.h5ad"), dataset="d")
    shallow = adata(counts(n=60, g=10), [f"G{i}" for i in range(10)])
    ingest(write(tmp_path, shallow, "s.h5ad"), dataset="d")


def test_counts_recovered_from_x_beat_a_partial_velocyto_layer(tmp_path):
    x = _deep(seed=2)
    a = adata(log1p_norm(x).astype(np.float32), [f"G{i}" for i in range(100)])
    a.layers["spliced"] = sp.csr_matrix(np.floor(x.toarray() * 0.7))
    a.layers["unspliced"] = sp.csr_matrix(x.toarray() - np.floor(x.toarray() * 0.7))
    out, s = ingest(write(tmp_path, a), dataset="d")
    assert s["matrix"]["source"] == "X" and s["matrix"]["recovered"] is True
    np.testing.assert_array_equal(out.X.toarray(), x.toarray())
    # without recoverable X the layer is read, and the summary says to check it
    a.X = sp.random(60, 100, density=0.3, random_state=0, format="csr") * 0.37
    out, s = ingest(write(tmp_path, a, "v.h5ad"), dataset="d")
    assert s["matrix"]["source"] == "layers/spliced"
    assert any("holds only the spliced reads" in n for n in s["notes"])


def test_labels_differing_only_by_white_space_are_one_sample(tmp_path):
    a = adata(_deep(seed=3), [f"G{i}" for i in range(100)])
    a.obs["smp"] = np.where(np.arange(60) % 2 == 0, "P1", "P2")
    a.obs.loc[a.obs_names[::3], "smp"] = a.obs["smp"][::3] + " "
    a.obs["arm"] = np.where(a.obs["smp"].str.strip() == "P1", "R", "NR ")
    out, s = ingest(write(tmp_path, a), dataset="d", sample_col="smp", condition_col="arm")
    assert sorted(out.obs["sample"].unique()) == ["P1", "P2"] and s["samples"] == 2
    assert sorted(out.obs["condition"].unique()) == ["NR", "R"]


SYMBOLS = ["CD3E", "HLA-A", "HLA-B", "MT-CO1", "MT-ND1", "B2M", "CD274", "GAPDH", "ACTB", "NKX2-1"]


def test_gene_names_with_white_space_or_r_dots_keep_their_symbols(tmp_path):
    x = _deep(seed=4, g=len(SYMBOLS))
    spaced = adata(x, [g + " " if i % 2 else " " + g for i, g in enumerate(SYMBOLS)])
    out, _ = ingest(write(tmp_path, spaced), dataset="d")
    assert list(out.var_names) == SYMBOLS
    dotted = adata(x, [g.replace("-", ".") for g in SYMBOLS])
    out, s = ingest(write(tmp_path, dotted, "r.h5ad"), dataset="d")
    assert list(out.var_names) == SYMBOLS  # MT- genes seen again by QC, HLA-A scored
    assert s["gene_ids"]["names_undotted"] == 5 and any("make.names" in n for n in s["notes"])
    np.testing.assert_array_equal(out.X.toarray(), x.toarray())


def test_genome_prefixes_removed_and_other_genomes_dropped(tmp_path):
    x = _deep(seed=5, g=2 * len(SYMBOLS))
    names = ["GRCh38_" + g for g in SYMBOLS] + ["mm10___" + g.capitalize() for g in SYMBOLS]
    out, s = ingest(write(tmp_path, adata(x, names)), dataset="d")
    assert list(out.var_names) == SYMBOLS
    np.testing.assert_array_equal(out.X.toarray(), x.toarray()[:, : len(SYMBOLS)])
    assert s["gene_ids"]["genes_other_genome"] == {"mm10": len(SYMBOLS)}
    assert any("multi-genome reference" in n for n in s["notes"])
    mouse = adata(x[:, len(SYMBOLS) :], names[len(SYMBOLS) :])
    with pytest.raises(InputError, match="every gene is of genome mm10"):
        ingest(write(tmp_path, mouse, "m.h5ad"), dataset="d")


def test_spreadsheet_dates_noted(tmp_path):
    x = _deep(seed=6, g=len(SYMBOLS) + 2)
    _, s = ingest(write(tmp_path, adata(x, [*SYMBOLS, "1-Mar", "Sep-09"])), dataset="d")
    assert s["gene_ids"]["names_like_dates"] == 2
    assert any("dates by a spreadsheet" in n for n in s["notes"])


def test_raw_of_every_gene_beats_a_counts_layer_of_the_variable_genes(tmp_path):
    """scanpy: layers['counts'] = X; normalise, log1p; raw = adata; keep 20 HVGs; scale."""
    x = _deep(seed=7)
    genes = [f"G{i}" for i in range(100)]
    full = adata(log1p_norm(x).astype(np.float32), genes)
    a = full[:, :20].copy()
    a.raw = full
    a.layers["counts"] = x[:, :20]
    a.X = (a.X.toarray() - 1.0).astype(np.float32)  # scaled: negative values
    out, s = ingest(write(tmp_path, a), dataset="d")
    assert s["matrix"]["source"] == "raw" and out.n_vars == 100
    np.testing.assert_array_equal(out.X.toarray(), x.toarray())
    # .raw without recoverable counts: the layer's 20 genes, and the summary says so
    full.X = full.X * 1.5  # no longer log1p of one total per cell
    a.raw = full
    out, s = ingest(write(tmp_path, a, "b.h5ad"), dataset="d")
    assert s["matrix"]["source"] == "layers/counts" and out.n_vars == 20
    assert any(".raw holds 100 genes" in n for n in s["notes"])


def test_transposed_matrix_refused_naming_the_fix(tmp_path):
    x = _deep(seed=8, g=len(SYMBOLS))
    t = adata(sp.csr_matrix(x.T), [f"AAACCTG{i:04d}-1" for i in range(60)])
    t.obs_names = SYMBOLS
    p = write(tmp_path, t)
    with pytest.raises(InputError) as err:
        ingest(p, dataset="d")
    msg = str(err.value)
    assert str(p) in msg and "transposed" in msg and "adata.T" in msg


def test_float16_counts_above_2048_noted_as_rounded(tmp_path):
    x = _deep(seed=9).toarray()
    x[0, 0] = 4097  # float16 keeps 4096
    out, s = ingest(
        write(tmp_path, adata(x.astype(np.float16), [f"G{i}" for i in range(100)])), dataset="d"
    )
    assert out.X[0, 0] == 4096
    assert any("float16" in n and "4096" in n for n in s["notes"])
    _, s = ingest(
        write(tmp_path, adata(x.astype(np.float32), [f"G{i}" for i in range(100)]), "f.h5ad"),
        dataset="d",
    )
    assert not any("float16" in n for n in s["notes"])


@pytest.mark.parametrize("log", ["log1p", "log2", "log2_size_factors"])
def test_counts_recovered_from_log_of_unnormalised_counts(tmp_path, log):
    """GEO uploads of log1p(counts), log2(counts + 1) or scran's log2(counts / sf + 1)."""
    x = _deep(seed=10)
    y = sp.csr_matrix(x, dtype=np.float64)
    if log == "log2_size_factors":
        sf = np.random.default_rng(0).uniform(0.5, 2.0, size=60)
        y = sp.csr_matrix(sp.diags(1 / sf) @ y)
    y.data = np.log1p(y.data) if log == "log1p" else np.log2(y.data + 1)
    out, s = ingest(write(tmp_path, adata(y, [f"G{i}" for i in range(100)])), dataset="d")
    assert s["matrix"]["recovered"] is True and s["input_mode"] != "normalised"
    np.testing.assert_array_equal(out.X.toarray(), x.toarray())


def test_one_sample_label_in_two_files_is_noted(tmp_path):
    genes = [f"G{i}" for i in range(100)]
    paths = []
    for i, name in enumerate(["GSM1_P1", "GSM2_P2"]):
        a = adata(_deep(seed=11 + i), genes)
        a.obs["smp"] = "tumour"
        paths.append(write(tmp_path, a, f"{name}.h5ad"))
    out, s = ingest(paths, dataset="d", sample_col="smp")
    assert s["samples"] == 1
    assert any("'tumour': GSM1_P1, GSM2_P2" in n and "sample_col empty" in n for n in s["notes"])
    _, s = ingest(paths, dataset="d")  # no sample column: each file is a sample
    assert s["samples"] == 2 and not any("several files" in n for n in s["notes"])


def test_cp10k_of_a_gene_subset_recovered_in_cells_without_a_gene_seen_once(tmp_path):
    """CP10k of every gene, then 40 genes kept: three cells' smallest value is 2 counts.
    They made the matrix pass as 'corrected counts' (CP10k values analysed as counts)."""
    x = _deep(seed=12).toarray()
    sub = x[:, :40].copy()
    sub[:3][sub[:3] == 1] = 2  # three cells without a gene seen once
    y = sub / x.sum(1, keepdims=True) * 1e4
    out, s = ingest(
        write(tmp_path, adata(sp.csr_matrix(y), [f"G{i}" for i in range(40)])), dataset="d"
    )
    assert s["matrix"]["state"] == "normalized" and s["matrix"]["recovered"] is True
    np.testing.assert_array_equal(out.X.toarray(), sub)


def test_lower_case_symbols_refused_naming_the_case(tmp_path):
    p = write(tmp_path, adata(_deep(seed=13, g=len(SYMBOLS)), [g.lower() for g in SYMBOLS]))
    with pytest.raises(InputError) as err:
        ingest(p, dataset="d", signature_genes={"CD3E", "HLA-A", "B2M", "CD274"})
    msg = str(err.value)
    assert str(p) in msg and "lower-case" in msg and "upper-cased, 4 are" in msg
