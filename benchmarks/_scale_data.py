"""bench_scale: the simulated input (counts, planted rare cell types) and h5ad headers.

The cohort is :func:`tmesig.simulate.design` (20,000 genes, 16 patients, responders and
non-responders each sampled pre and post treatment), thinned so that the cell types of
:data:`RARE` make up less than 1 % of the cells, and written as counts chunk by chunk (peak
memory: one chunk plus ``obs``, whatever the size).
"""

import dataclasses
from pathlib import Path

import anndata as ad
import h5py
import numpy as np

#: Cell types thinned to a rare share of all cells (simulated truth, ``obs["cell_type"]``).
RARE: dict[str, float] = {"mast": 0.005, "plasma": 0.008}


def thinned_design(n_cells: int, *, n_genes: int, n_patients: int, seed: int):
    """A :class:`tmesig.simulate.Simulation` of exactly ``n_cells`` cells with :data:`RARE`.

    Parameters
    ----------
    n_cells
        Cells of the result.
    n_genes, n_patients, seed
        Passed to :func:`tmesig.simulate.design`.
    """
    from tmesig.simulate import design

    sim = design(int(np.ceil(n_cells * 1.15)), n_genes=n_genes, n_patients=n_patients, seed=seed)
    rng = np.random.default_rng(seed + 1)
    kind = sim.obs["cell_type"].astype(str).to_numpy()
    keep = np.ones(len(kind), dtype=bool)
    for name, share in RARE.items():
        idx = np.flatnonzero(kind == name)
        n_keep = min(len(idx), max(1, round(share * n_cells)))
        keep[rng.choice(idx, len(idx) - n_keep, replace=False)] = False
    common = np.flatnonzero(keep & ~np.isin(kind, list(RARE)))
    excess = int(keep.sum()) - n_cells
    if excess < 0:  # pragma: no cover - 15 % headroom is far above the rare types' weight
        raise RuntimeError(f"design too small by {-excess} cells")
    keep[rng.choice(common, excess, replace=False)] = False
    obs = sim.obs.loc[keep].copy()
    for col in obs.columns:
        if hasattr(obs[col], "cat"):
            obs[col] = obs[col].cat.remove_unused_categories()
    return dataclasses.replace(sim, obs=obs, state=sim.state[keep], level=sim.level[keep])


def write_counts(path: Path, n_cells: int, *, n_genes=20_000, n_patients=16, seed=0) -> Path:
    """Write the simulated counts (float32 CSR) to ``path`` chunk by chunk.

    Parameters
    ----------
    path
        Output ``.h5ad`` (reused when it exists with the same number of cells).
    n_cells, n_genes, n_patients, seed
        The cohort (:func:`thinned_design`).
    """
    path = Path(path)
    head = matrix_header(path) if path.exists() else None
    if head and head["n_obs"] == n_cells and head["n_vars"] == n_genes:
        return path
    sim = thinned_design(n_cells, n_genes=n_genes, n_patients=n_patients, seed=seed)
    shell = ad.AnnData(obs=sim.obs, var=sim.var, uns=sim.uns)
    shell.uns["simulation"]["x"] = "counts"
    shell.uns["simulation"]["rare_shares"] = dict(RARE)
    tmp = path.with_suffix(".partial.h5ad")
    shell.write_h5ad(tmp)
    with h5py.File(tmp, "a") as handle:
        if "X" in handle:
            del handle["X"]
        target = None
        for block in sim.chunks(chunk_size=20_000):
            if target is None:  # anndata creates the CSR datasets resizable
                ad.io.write_elem(handle, "X", block)
                target = ad.io.sparse_dataset(handle["X"])
            else:
                target.append(block)
    tmp.rename(path)
    return path


def matrix_header(path: str | Path) -> dict | None:
    """``n_obs``, ``n_vars`` and ``nnz`` of an h5ad's ``X`` from its header (nothing loaded).

    Opened without HDF5 file locking, so that a file being written by a rule is never
    blocked by the benchmark's look at it; any read error (a file half written) gives None.

    Parameters
    ----------
    path
        An ``.h5ad`` file.
    """
    try:
        with h5py.File(path, "r", locking=False) as f:
            n_obs = _n_index(f, "obs")
            n_vars = _n_index(f, "var")
            if "X" not in f:
                return {"n_obs": n_obs, "n_vars": n_vars, "nnz": 0}
            x = f["X"]
            if isinstance(x, h5py.Group):
                shape = tuple(int(v) for v in x.attrs["shape"])
                nnz = int(x["data"].shape[0])
            else:
                shape = tuple(int(v) for v in x.shape)
                nnz = shape[0] * shape[1]
            return {"n_obs": shape[0], "n_vars": shape[1], "nnz": nnz}
    except (OSError, KeyError, ValueError, TypeError):
        return None


def _n_index(f: h5py.File, key: str) -> int:
    group = f[key]
    index = group.attrs.get("_index", "_index")
    return int(group[index].shape[0])
