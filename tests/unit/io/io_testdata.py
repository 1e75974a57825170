"""Small planted matrices and h5ad files shared by the tmesig.io tests (not a test module)."""

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp


def counts(seed=0, n=200, g=100):
    """Poisson-gamma integer counts, every cell with at least one count."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(rng.gamma(1.0, 1.0, size=(n, g))).astype(np.float32)
    x[:, 0] += 1  # every cell has at least one count
    return sp.csr_matrix(x)


def log1p_norm(x, target=1e4):
    """``log1p`` of counts scaled to ``target`` per cell."""
    x = sp.csr_matrix(x, dtype=np.float64)
    tot = np.asarray(x.sum(axis=1)).ravel()
    y = sp.diags(target / tot) @ x
    y = sp.csr_matrix(y)
    y.data = np.log1p(y.data)
    return y


def adata(x, genes):
    """AnnData with ``genes`` as var_names and cells ``c0``, ``c1``..."""
    a = ad.AnnData(X=x, var=pd.DataFrame(index=genes))
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    return a


def write(tmp_path, a, name="d.h5ad"):
    """Write ``a`` to ``tmp_path / name`` and return the path."""
    p = tmp_path / name
    a.write_h5ad(p)
    return p
