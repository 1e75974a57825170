"""Helpers shared by the tests of ``tmesig.score`` (imported by basename)."""

import anndata as ad
import pandas as pd
import scanpy as sc
from tmesig.signatures import GeneSet


def gene_set(name, genes, direction="up"):
    """A gene set applying to any compartment."""
    return GeneSet(
        name=name,
        title=name,
        genes=tuple(genes),
        direction=direction,
        compartments=("any",),
        mechanism="m",
        card=False,
        provenance={"seed": "x", "section": "y"},
    )


def lognormalised(adata):
    """A log1p(CP10k) copy of ``adata``."""
    a = adata.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    return a


def scanpy_loop(adata, sets, *, ctrl_size=50, n_bins=25, seed=0):
    """The reference: one ``sc.tl.score_genes`` call per set."""
    out = {}
    for gs in sets:
        ref = ad.AnnData(adata.X, var=pd.DataFrame(index=adata.var_names))
        genes = [g for g in gs.genes if g in ref.var_names]
        sc.tl.score_genes(
            ref, genes, ctrl_size=ctrl_size, n_bins=n_bins, random_state=seed, score_name="r"
        )
        out[gs.name] = ref.obs["r"].to_numpy()
    return pd.DataFrame(out)
