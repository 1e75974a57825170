"""bench_scale: the plain scanpy notebook of issue 14, run in a child process.

scrublet per sample, normalise, HVG, PCA, kNN, Leiden, UMAP, and ``sc.tl.score_genes`` for
every set of the tmesig library with at least 3 genes measured — all in memory, as an
analyst would in a notebook. The parent measures the child's wall time (interpreter start
and imports included, as for Snakemake's jobs); the child reports its own peak RSS
(``ru_maxrss``) to a JSON file.
"""

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def notebook(data: Path, out: Path, *, seed: int = 0) -> None:
    """The notebook itself (runs in the child); writes ``{"peak_mb", "n_sets", ...}``.

    Parameters
    ----------
    data
        The counts ``.h5ad``.
    out
        JSON file for the child's figures.
    seed
        ``random_state`` of every step.
    """
    import scanpy as sc
    from tmesig import signatures

    t0 = time.perf_counter()
    adata = sc.read_h5ad(data)
    sc.pp.scrublet(adata, batch_key="sample", random_state=seed, verbose=False)
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    sc.pp.highly_variable_genes(adata, n_top_genes=2000)
    sc.tl.pca(adata, n_comps=30, mask_var="highly_variable", random_state=seed)
    sc.pp.neighbors(adata, n_neighbors=15, n_pcs=30, random_state=seed)
    sc.tl.leiden(adata, resolution=1.0, random_state=seed, flavor="igraph", n_iterations=2)
    sc.tl.umap(adata, random_state=seed)
    genes = set(adata.var_names)
    n_sets = 0
    for gs in signatures.load_library():
        found = [g for g in gs.genes if g in genes]
        if len(found) >= 3:
            sc.tl.score_genes(adata, found, score_name=f"score_{gs.name}", random_state=seed)
            n_sets += 1
    figures = {
        "inner_wall_s": time.perf_counter() - t0,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "n_obs": int(adata.n_obs),
        "n_sets": n_sets,
        "n_clusters": int(adata.obs["leiden"].nunique()),
    }
    Path(out).write_text(json.dumps(figures))


def run_notebook(data: Path, out: Path, *, seed: int = 0) -> dict:
    """Run :func:`notebook` in a child process; return its figures plus ``wall_s``.

    Parameters
    ----------
    data
        The counts ``.h5ad``.
    out
        JSON file the child writes.
    seed
        ``random_state`` of every step.
    """
    cmd = [sys.executable, str(BENCH / "bench_scale.py"), "--notebook-worker", str(data)]
    cmd += ["--notebook-out", str(out), "--seed", str(seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"wall_s": wall, "error": proc.stderr[-2000:]}
    return {**json.loads(Path(out).read_text()), "wall_s": wall}
