"""Resource requests (tmesig.resources_model) against measured peaks, and matrix headers.

The model is checked against the benchmark figures stored in
``benchmarks/data/resources/measurements.tsv`` (whole-pipeline runs, see
``benchmarks/fit_resources.py``): at 100,000 cells every rule asks for between 1× and 2× its
measured peak memory, at every stored size between 1× and 2.5×, and at least its measured
wall time. Header reading is checked on small files of each format against the matrix
written into them.
"""

import gzip
import importlib.util
import json
import math

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse as sp
from tmesig import resources_model as rm
from tmesig.paths import REPO_ROOT

MEASUREMENTS = REPO_ROOT / "benchmarks" / "data" / "resources" / "measurements.tsv"
FIT_SCRIPT = REPO_ROOT / "benchmarks" / "fit_resources.py"


def _fit_module():
    spec = importlib.util.spec_from_file_location("fit_resources", FIT_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def measured() -> pd.DataFrame:
    return pd.read_csv(MEASUREMENTS, sep="\t")


def _size(row) -> rm.MatrixSize:
    return rm.MatrixSize(int(row.n_obs), int(row.n_vars), int(row.nnz))


def _largest(measured: pd.DataFrame) -> pd.DataFrame:
    return measured[measured["size"] == measured.groupby("rule")["size"].transform("max")]


def test_measurements_cover_the_heavy_rules(measured):
    heavy = {"ingest", "qc", "cluster", "annotate", "subsets", "score", "flag", "enrichment"}
    assert heavy <= set(measured["rule"])
    assert set(measured["rule"]) <= set(rm.load_costs())  # every measured rule has its cost


def _bad_requests(rows: pd.DataFrame, most: float) -> list[str]:
    bad = []
    for row in rows.itertuples():
        req = rm.request(row.rule, _size(row))
        ratio = req.mem_mb / row.max_rss
        if not 1.0 <= ratio <= most:
            bad.append(f"{row.rule}: {req.mem_mb} MB for a peak of {row.max_rss:.0f} MB")
        if req.runtime * 60 < row.s:
            bad.append(f"{row.rule}: {req.runtime} min for a wall of {row.s:.0f} s")
    return bad


def test_request_between_one_and_two_peaks_at_100000_cells(measured):
    at_100k = measured[measured["size"] == 100_000]
    assert len(at_100k) >= 10
    assert not _bad_requests(at_100k, 2.0)


def test_request_between_one_and_two_and_a_half_peaks_at_every_size(measured):
    """A rule without an input matrix at any size (a local rule reading tables) asks for
    its fixed part whatever the dataset: only the lower bound applies to it."""
    matrixless = measured.groupby("rule")["nnz"].transform("max") == 0
    assert not _bad_requests(measured[~matrixless], 2.5)
    assert not _bad_requests(measured[matrixless], math.inf)


def test_every_measurement_is_covered(measured):
    """At every stored size (not only the largest) no request is below the measurement."""
    for row in measured.itertuples():
        req = rm.request(row.rule, _size(row))
        assert req.mem_mb >= row.max_rss and req.runtime * 60 >= row.s, row


def test_the_old_file_size_rule_fails_the_same_check(measured):
    """The check can fail: requests of factor × input MB (the old mem_for) break it."""
    row = _largest(measured).query("rule == 'subsets'").iloc[0]
    input_mb = row.nnz * 8 / 1e6  # a CSR float32 matrix with int32 indices
    assert 120 * input_mb / row.max_rss > 2.0


def test_shipped_costs_are_the_fit_of_the_stored_measurements(measured):
    fit = _fit_module()
    refit = {c.rule: c for c in fit.fit(measured)}
    shipped = rm.load_costs()
    for rule, cost in refit.items():
        for name, value in cost.__dict__.items():
            if name != "rule":
                assert getattr(shipped[rule], name) == pytest.approx(value, rel=1e-3, abs=1e-3)


def test_more_at_each_attempt(measured):
    for row in measured.itertuples():
        first, second, third = (rm.request(row.rule, _size(row), attempt=a) for a in (1, 2, 3))
        assert second.mem_mb > first.mem_mb and third.mem_mb > second.mem_mb
        assert second.runtime > first.runtime
        assert second.mem_mb >= 1.45 * first.mem_mb  # an OOM kill needs a real step up


def test_requests_grow_with_the_matrix():
    small = rm.MatrixSize(10_000, 20_000, 20_000_000)
    big = rm.MatrixSize(100_000, 20_000, 200_000_000)
    for rule in rm.load_costs():
        assert rm.request(rule, big).mem_mb >= rm.request(rule, small).mem_mb
        assert rm.request(rule, big).runtime >= rm.request(rule, small).runtime


def test_hand_computed_request():
    cost = rm.Cost("x", 500.0, 10.0, 1000.0, 1.0, 0.1, 0.0)
    size = rm.MatrixSize(100_000, 20_000, 200_000_000)  # 200 M non-zeros, 2e9 entries
    # memory: (500 + 10 × 200 + 1000 × 2) × 1.25 = 5,625 → 5,700 (next 100 MB)
    # time: (1 + 0.1 × 200) × 2 = 42 minutes; attempt 2: × 1.5 = 8,550 → 8,600 MB, 63 min
    assert rm.request("x", size, costs={"x": cost}) == rm.Request(5700, 42)
    assert rm.request("x", size, attempt=2, costs={"x": cost}) == rm.Request(8600, 63)
    root = rm.Cost("y", 500.0, 0.0, 0.0, 1.0, 0.0, 0.0, 100.0, 2.0)
    size = rm.MatrixSize(100_000, 20_000, 400_000_000)  # √400 = 20
    # memory: (500 + 100 × 20) × 1.25 = 3,125 → 3,200; time: (1 + 2 × 20) × 2 = 82
    assert rm.request("y", size, costs={"y": root}) == rm.Request(3200, 82)


def test_a_table_without_the_square_root_columns_reads(tmp_path):
    """A coefficient table written before the √nnz term: the term is 0."""
    old = tmp_path / "rule_costs.tsv"
    old.write_text(
        "# an old table\n"
        "rule\tmem_base_mb\tmem_per_mnnz\tmem_per_gentries\tmin_base\tmin_per_mnnz"
        "\tmin_per_gentries\nqc\t300\t6\t0\t0.5\t0.01\t0\n"
    )
    (cost,) = rm.load_costs(old).values()
    assert cost == rm.Cost("qc", 300.0, 6.0, 0.0, 0.5, 0.01, 0.0, 0.0, 0.0)
    size = rm.MatrixSize(100_000, 20_000, 100_000_000)
    # (300 + 6 × 100) × 1.25 = 1,125 → 1,200 MB; (0.5 + 0.01 × 100) × 2 = 3 → 10 min (floor)
    assert rm.request("qc", size, costs={"qc": cost}) == rm.Request(1200, 10)


def test_a_scattered_job_without_its_own_row_uses_the_rule_it_was_split_from():
    costs = {"qc": rm.Cost("qc", 300.0, 6.0, 0.0, 0.5, 0.01, 0.0, 20.0, 0.1)}
    costs["flag"] = rm.Cost("flag", 9000.0, 60.0, 0.0, 50.0, 1.0, 0.0)
    size = rm.MatrixSize(100_000, 20_000, 100_000_000)
    assert rm.request("qc_doublets", size, costs=costs) == rm.request("qc", size, costs=costs)
    own = {**costs, "qc_doublets": rm.Cost("qc_doublets", 100.0, 1.0, 0.0, 0.1, 0.0, 0.0)}
    assert rm.request("qc_doublets", size, costs=own).mem_mb == 300  # (100 + 100) × 1.25


def test_a_streamed_ingest_is_modelled_by_its_own_row():
    big, small = rm.MatrixSize(1_000_000, 20_000, 2_000_000_000), rm.MatrixSize(9, 20, 50)
    assert rm.modelled_rule("ingest", big, stream_above=100_000) == "ingest_streamed"
    assert rm.modelled_rule("ingest", big, stream_above=None) == "ingest"  # never streams
    assert rm.modelled_rule("ingest", small, stream_above=100_000) == "ingest"
    assert rm.modelled_rule("cluster", big, stream_above=100) == "cluster"  # not a streamer
    # in memory: grows with the matrix; streamed: a flat 900 MB
    costs = {"ingest": rm.Cost("ingest", 300.0, 10.0, 0.0, 1.0, 0.0, 0.0)}
    assert rm.request("ingest_streamed", big, costs=costs) == rm.request("ingest", big, costs=costs)
    costs["ingest_streamed"] = rm.Cost("ingest_streamed", 900.0, 0.0, 0.0, 6.0, 0.0, 0.0)
    assert rm.request("ingest_streamed", big, costs=costs).mem_mb == 1200  # 900 × 1.25, up


def test_a_scattered_datasets_qc_and_score_only_join_and_have_their_own_rows():
    size = rm.MatrixSize(1_000_000, 20_000, 2_000_000_000)
    joined = ["results/d/ingested.h5ad", "results/d/qc/plan.tsv", "results/d/qc/doublets_0.parquet"]
    assert rm.modelled_rule("qc", size, inputs=joined) == "qc_join"
    assert rm.modelled_rule("qc", size, inputs=["results/d/ingested.h5ad"]) == "qc"
    chunks = ["results/d/score/plan.tsv", "results/d/score/chunk_3.parquet"]
    assert rm.modelled_rule("score", size, inputs=chunks) == "score_join"
    assert rm.modelled_rule("flag", size, inputs=chunks) == "flag"  # not a join
    costs = {"qc": rm.Cost("qc", 300.0, 6.0, 0.0, 0.5, 0.01, 0.0)}
    assert rm.request("qc_join", size, costs=costs) == rm.request("qc", size, costs=costs)


def test_unknown_rule_is_generous_and_no_matrix_is_the_floor():
    costs = rm.load_costs()
    size = rm.MatrixSize(50_000, 20_000, 100_000_000)
    unknown = rm.request("not_a_rule", size)
    assert all(unknown.mem_mb >= rm.request(r, size).mem_mb for r in costs)
    empty = rm.request("tables", rm.EMPTY)
    assert empty.mem_mb >= rm.MIN_MEM_MB and empty.runtime >= rm.MIN_RUNTIME


# --- header reading -----------------------------------------------------------------


@pytest.fixture(scope="module")
def counts() -> sp.csr_matrix:
    rng = np.random.default_rng(0)
    m = sp.random(300, 120, density=0.07, format="csr", random_state=rng, dtype=np.float32)
    m.data = np.ceil(m.data * 10)
    return m


def _truth(m) -> rm.MatrixSize:
    return rm.MatrixSize(m.shape[0], m.shape[1], int(m.nnz))


@pytest.mark.parametrize("layout", ["csr", "csc", "dense"])
def test_h5ad(tmp_path, counts, layout):
    x = {"csr": counts, "csc": counts.tocsc(), "dense": counts.toarray()}[layout]
    path = tmp_path / f"{layout}.h5ad"
    ad.AnnData(X=x).write_h5ad(path)
    got = rm.matrix_size(path)
    expected = (300, 120, 300 * 120 if layout == "dense" else counts.nnz)
    assert (got.n_obs, got.n_vars, got.nnz) == expected and got.exact


def _write_10x_h5(path, m: sp.csr_matrix, *, group: str = "matrix") -> None:
    """Cell Ranger's layout: genes × cells CSC = cells × genes CSR, shape (genes, cells)."""
    with h5py.File(path, "w") as f:
        g = f.create_group(group)
        g["data"], g["indices"], g["indptr"] = m.data, m.indices, m.indptr
        g["shape"] = np.array([m.shape[1], m.shape[0]])
        g["barcodes"] = np.array([f"c{i}".encode() for i in range(m.shape[0])])


@pytest.mark.parametrize("group", ["matrix", "GRCh38"])  # Cell Ranger 3+ and 2
def test_10x_h5(tmp_path, counts, group):
    path = tmp_path / "filtered_feature_bc_matrix.h5"
    _write_10x_h5(path, counts, group=group)
    assert rm.matrix_size(path) == _truth(counts)


@pytest.mark.parametrize("gz", [False, True])
def test_mtx_file_and_10x_directory(tmp_path, counts, gz):
    folder = tmp_path / "sample1"
    folder.mkdir()
    plain = folder / "matrix.mtx"
    scipy.io.mmwrite(plain, counts.T.tocoo())  # 10x: genes × cells
    if gz:
        (folder / "matrix.mtx.gz").write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
    (folder / "barcodes.tsv").write_text("".join(f"c{i}\n" for i in range(300)))
    mtx = folder / ("matrix.mtx.gz" if gz else "matrix.mtx")
    assert rm.matrix_size(mtx) == _truth(counts)
    assert rm.matrix_size(folder) == _truth(counts)


def test_dense_csv_is_estimated(tmp_path, counts):
    path = tmp_path / "counts.csv"
    frame = pd.DataFrame(counts.toarray().astype(int), columns=[f"G{j}" for j in range(120)])
    frame.to_csv(path)
    got = rm.matrix_size(path)
    assert not got.exact
    assert got.n_vars == 120
    assert got.n_obs == pytest.approx(300, rel=0.25)
    assert got.nnz == pytest.approx(counts.nnz, rel=0.35)


def test_missing_table_and_unreadable_files(tmp_path, counts):
    assert rm.matrix_size(tmp_path / "absent.h5ad") is None
    table = tmp_path / "annotation.tsv"
    table.write_text("cell\tlineage\n" * 1000)
    assert rm.matrix_size(table) is None  # a table is no matrix
    assert rm.matrix_size(tmp_path) is None  # a directory without matrix.mtx
    broken = tmp_path / "broken.h5ad"
    broken.write_bytes(b"\x00not hdf5" * 1000)  # 9,000 bytes
    got = rm.matrix_size(broken)
    assert not got.exact and got.nnz == 9_000 // 8
    assert rm.largest_matrix([tmp_path / "absent.h5ad", table]) == rm.EMPTY


def test_largest_matrix_is_the_one_with_most_values(tmp_path, counts):
    small, big = tmp_path / "small.h5ad", tmp_path / "big.h5ad"
    ad.AnnData(X=counts[:50]).write_h5ad(small)
    ad.AnnData(X=counts).write_h5ad(big)
    inputs = [str(small), str(tmp_path / "scores.parquet"), str(big), str(tmp_path / "x.yaml")]
    assert rm.largest_matrix(inputs) == _truth(counts)


# --- the fit script on a run directory ----------------------------------------------


def _record(meta, output: str, rule: str, inputs: list[str], log: str) -> None:
    import base64

    name = base64.urlsafe_b64encode(output.encode()).decode()
    (meta / name).write_text(json.dumps({"rule": rule, "input": inputs, "log": [log]}))


def test_fit_script_reads_a_run_directory(tmp_path, counts):
    """Each rule's size is its largest recorded input; a deleted temp() matrix counts as the
    dataset's own; wall and peak come from the benchmark table."""
    run = tmp_path / "run"
    (run / "logs" / "d").mkdir(parents=True)
    (run / "results" / "d").mkdir(parents=True)
    meta = run / ".snakemake" / "metadata"
    meta.mkdir(parents=True)
    ad.AnnData(X=counts).write_h5ad(run / "data.h5ad")
    ad.AnnData(X=counts[:200]).write_h5ad(run / "results" / "d" / "clustered.h5ad")
    jobs = {
        "ingest": ["data.h5ad"],
        "cluster": ["results/d/ingested.h5ad", "results/d/qc_metrics.tsv"],  # temp: gone
        "score": ["results/d/clustered.h5ad", "resources/signatures"],
    }
    for i, (rule, inputs) in enumerate(jobs.items()):
        _record(meta, f"results/d/out{i}", rule, inputs, f"logs/d/{rule}.log")
        (run / "logs" / "d" / f"{rule}.benchmark.tsv").write_text(
            f"s\th:m:s\tmax_rss\n{10 * (i + 1)}.5\t0:00:10\t{100 * (i + 1)}.0\n"
        )
    table = _fit_module().read_run(run).set_index("rule")
    assert table.loc["ingest", ["n_obs", "n_vars", "nnz"]].tolist() == [300, 120, counts.nnz]
    # with the run's stream_above under its cells, its ingest is the streamed regime
    (run / "config.yaml").write_text("ingest:\n  stream_above: 299\n")
    streamed = _fit_module().read_run(run).set_index("rule")
    assert "ingest_streamed" in streamed.index and "ingest" not in streamed.index
    assert table.loc["cluster", "nnz"] == counts.nnz
    assert table.loc["score", ["n_obs", "nnz"]].tolist() == [200, counts[:200].nnz]
    assert table.loc["score", "max_rss"] == 300.0 and table.loc["score", "s"] == 30.5
    assert set(table["size"]) == {300}


def test_fit_recovers_a_planted_linear_cost():
    fit = _fit_module()
    sizes = [(10_000, 20_000_000), (50_000, 100_000_000), (100_000, 200_000_000)]
    rows = [
        [n, "r", n, 20_000, nnz, 60 * (1 + 0.05 * nnz / 1e6), 400 + 20 * nnz / 1e6]
        for n, nnz in sizes
    ]
    table = pd.DataFrame(rows, columns=fit.COLUMNS)
    (cost,) = fit.fit(table)
    for r in table.itertuples():
        size = rm.MatrixSize(r.n_obs, r.n_vars, r.nnz)
        assert cost.memory(size) == pytest.approx(r.max_rss, rel=0.05)
        assert cost.minutes(size) == pytest.approx(r.s / 60, rel=0.05)
    assert math.isclose(cost.memory(rm.EMPTY), 400, rel_tol=0.25)


def test_a_scattered_block_asks_for_its_share(tmp_path):
    """A block of a quarter of the cells asks what a quarter-size matrix asks (hand plan)."""
    from tmesig.resources_model import MatrixSize, block_share, request

    plan = tmp_path / "plan.tsv"
    plan.write_text("chunk\tstart\tstop\n0\t0\t300\n1\t300\t400\n")
    assert block_share(plan, 0) == 0.75
    assert block_share(plan, 1) == 0.25
    whole = MatrixSize(400_000, 20_000, 400_000_000)
    assert whole.part(0.25) == MatrixSize(100_000, 20_000, 100_000_000)
    assert whole.part(1.0) is whole
    assert request("score", whole.part(0.25)).mem_mb < request("score", whole).mem_mb


def _spread(cost_of, table: pd.DataFrame) -> float:
    """Largest / smallest of fit / peak over the rows (1: the fit has the shape of the data)."""
    ratios = [
        cost_of(rm.MatrixSize(r.n_obs, r.n_vars, r.nnz)) / r.max_rss for r in table.itertuples()
    ]
    return max(ratios) / min(ratios)


def test_the_square_root_term_fits_a_streamed_stage():
    """Peaks planted as 300 + 60 √(nnz / 1e6) (a stage that streams the matrix) at 10,000,
    100,000 and 1,000,000 cells: the fit has the planted shape; the linear model without the
    term (its last column dropped) cannot follow it."""
    fit = _fit_module()
    sizes = [(10_000, 20_000_000), (100_000, 200_000_000), (1_000_000, 2_000_000_000)]
    rows = [[n, "r", n, 20_000, nnz, 60.0, 300 + 60 * math.sqrt(nnz / 1e6)] for n, nnz in sizes]
    table = pd.DataFrame(rows, columns=fit.COLUMNS)
    (cost,) = fit.fit(table)
    assert cost.mem_per_sqrt_mnnz > 0
    assert _spread(cost.memory, table) < 1.1
    x, y = fit._features(table), table["max_rss"].to_numpy(float)
    linear = fit.fit_terms(x[:, :3], y)
    assert _spread(lambda s: float(fit._features(_row(s))[0, :3] @ linear), table) > 1.3
    for r in table.itertuples():  # within 1× and 2× of every planted peak, through request()
        req = rm.request("r", rm.MatrixSize(r.n_obs, r.n_vars, r.nnz), costs={"r": cost})
        assert 1.0 <= req.mem_mb / r.max_rss <= 2.0


def _row(size: rm.MatrixSize) -> pd.DataFrame:
    return pd.DataFrame({"n_obs": [size.n_obs], "n_vars": [size.n_vars], "nnz": [size.nnz]})


def test_a_scattered_rule_measured_at_one_size_takes_its_parents_shape():
    """qc_doublets measured only in one big run (parts of about one size) gets qc's shape
    raised to its own peaks: it covers them and still grows with its part."""
    fit = _fit_module()
    rows = [
        [10_000, "qc", 10_000, 20_000, 20_000_000, 60.0, 500.0],
        [100_000, "qc", 100_000, 20_000, 200_000_000, 300.0, 2500.0],
        [1_000_000, "qc_doublets", 95_000, 20_000, 190_000_000, 200.0, 1500.0],
        [1_000_000, "qc_doublets", 100_000, 20_000, 200_000_000, 220.0, 1800.0],
    ]
    costs = {c.rule: c for c in fit.fit(pd.DataFrame(rows, columns=fit.COLUMNS))}
    qc, part = costs["qc"], costs["qc_doublets"]
    big = rm.MatrixSize(100_000, 20_000, 200_000_000)
    assert part.memory(big) == pytest.approx(1800, rel=1e-3)  # raised to its largest peak
    small = rm.MatrixSize(10_000, 20_000, 20_000_000)
    assert part.memory(small) / part.memory(big) == pytest.approx(
        qc.memory(small) / qc.memory(big), rel=1e-3
    )


def _plan(path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_fit_script_reads_the_jobs_of_scattered_rules(tmp_path, counts):
    """qc_doublets_<job> and score_chunk_<chunk> benchmarks: the rule without the number, the
    size the share of the matrix the job's plan gives it (what the workflow asks from)."""
    run = tmp_path / "run"
    (run / "logs" / "d").mkdir(parents=True)
    meta = run / ".snakemake" / "metadata"
    meta.mkdir(parents=True)
    ad.AnnData(X=counts).write_h5ad(run / "data.h5ad")
    ad.AnnData(X=counts[:200]).write_h5ad(run / "clustered.h5ad")
    doublet_plan = "job\tpart\tsample\tn_cells\n0\t0\ts1\t75\n1\t1\ts2\t225\n"
    _plan(run / "results/d/qc/plan.tsv", doublet_plan)
    _plan(run / "results/d/score/plan.tsv", "chunk\tstart\tstop\n0\t0\t50\n1\t50\t200\n")
    jobs = [
        ("ingest", "ingest", ["data.h5ad"]),
        ("qc_doublets_0", "qc_doublets", ["results/d/ingested.h5ad", "results/d/qc/plan.tsv"]),
        ("qc_doublets_1", "qc_doublets", ["results/d/ingested.h5ad", "results/d/qc/plan.tsv"]),
        ("score_chunk_1", "score_chunk", ["clustered.h5ad", "results/d/score/plan.tsv"]),
        ("score_stats", "score_stats", ["clustered.h5ad"]),
    ]
    for i, (name, rule, inputs) in enumerate(jobs):
        _record(meta, f"results/d/out{i}", rule, inputs, f"logs/d/{name}.log")
        (run / "logs" / "d" / f"{name}.benchmark.tsv").write_text(
            f"s\th:m:s\tmax_rss\n{i + 1}\t0:00:01\t{100 * (i + 1)}\n"
        )
    table = _fit_module().read_run(run)
    assert table["rule"].tolist() == [r for _, r, _ in jobs]
    doublets = table[table["rule"] == "qc_doublets"]
    # ingested.h5ad is gone (temp): the dataset's 300 cells; jobs of 75 and 225 of them
    whole = _truth(counts)
    assert doublets["n_obs"].tolist() == [75, 225]
    assert doublets["nnz"].tolist() == [whole.part(0.25).nnz, whole.part(0.75).nnz]
    assert doublets["max_rss"].tolist() == [200, 300]
    chunk = table[table["rule"] == "score_chunk"].iloc[0]
    assert (chunk["n_obs"], chunk["nnz"]) == (150, _truth(counts[:200]).part(0.75).nnz)
    stats = table[table["rule"] == "score_stats"].iloc[0]
    assert (stats["n_obs"], stats["nnz"]) == (200, counts[:200].nnz)
    assert set(table["size"]) == {300}


def test_a_peak_that_falls_with_size_gets_the_smallest_envelope():
    """Peaks of 1,000, 1,000 and 500 MB at 20, 200 and 2,000 M non-zeros (a stage that
    streams above some size): a fit that grows with the matrix is at least 1,000 MB at the
    largest, so 2× its peak at best, reached by the constant 1,000 MB; the envelope reaches
    it."""
    fit = _fit_module()
    nnz = np.array([20e6, 200e6, 2000e6])
    table = pd.DataFrame({"n_obs": nnz / 2000, "n_vars": 20_000, "nnz": nnz})
    y = np.array([1000.0, 1000.0, 500.0])
    ratios = fit._features(table) @ fit.fit_terms(fit._features(table), y) / y
    assert ratios.min() >= 1 - 1e-6
    assert ratios.max() == pytest.approx(2.0, rel=1e-3)
