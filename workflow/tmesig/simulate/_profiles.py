"""Simulated genes and the expression profile of each cell type and state."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import paths
from ..annotate import load_markers
from ..signatures import load_library
from ._cell_types import CELL_TYPES, CellType, subset_genes, subset_plan
from ._programs import Program

__all__ = ["gene_universe", "state_profiles", "type_profiles"]


def gene_universe(n_genes: int, rng: np.random.Generator) -> pd.DataFrame:
    """Library, marker, identity and subset genes plus protein-coding filler, in table order."""
    table = pd.read_csv(paths.GENE_TABLE, sep="\t", usecols=["gene_name", "biotype"])
    table = table.drop_duplicates("gene_name")
    library = sorted({g for gs in load_library() for g in gs.genes})
    markers = load_markers()
    marker_genes = sorted({g for genes in markers.values() for g in genes})
    identity = sorted({g for ct in CELL_TYPES for g in ct.identity})
    core = list(dict.fromkeys(library + marker_genes + identity + subset_genes()))
    if n_genes < len(core):
        msg = (
            f"n_genes={n_genes} is smaller than the {len(core)} library, marker and identity "
            "genes; pass n_genes >= that."
        )
        raise ValueError(msg)
    taken = set(core)
    filler_pool = [
        g for g in table.loc[table["biotype"] == "protein_coding", "gene_name"] if g not in taken
    ]
    if n_genes - len(core) > len(filler_pool):
        extra = [
            g
            for g in table.loc[table["biotype"] != "protein_coding", "gene_name"]
            if g not in taken
        ]
        filler_pool += extra
    if n_genes - len(core) > len(filler_pool):
        msg = (
            f"n_genes={n_genes} exceeds the {len(core) + len(filler_pool)} genes of the gene table."
        )
        raise ValueError(msg)
    pick = np.sort(rng.choice(len(filler_pool), size=n_genes - len(core), replace=False))
    filler = [filler_pool[i] for i in pick]
    source = ["library" if g in set(library) else "marker" for g in core] + ["filler"] * len(filler)
    var = pd.DataFrame({"source": source}, index=pd.Index(core + filler, name="gene"))
    order = {g: i for i, g in enumerate(table["gene_name"])}
    var = var.iloc[np.argsort([order.get(g, len(order)) for g in var.index], kind="stable")]
    return var


@dataclass(frozen=True)
class _Baseline:
    """The shared baseline profile, its reference levels and where each gene sits."""

    base: np.ndarray
    high: float
    mid: float
    low: float
    gidx: Mapping[str, int]
    markers: Mapping[str, Sequence[str]]

    def idx(self, genes) -> list[int]:
        """Positions of the simulated ones among ``genes``."""
        return [self.gidx[g] for g in genes if g in self.gidx]


def type_profiles(
    gidx: Mapping[str, int],
    programs: Sequence[Program],
    rng: np.random.Generator,
    *,
    seed: int,
    extra: Sequence[CellType] = (),
) -> np.ndarray:
    """Unnormalised profile of each of :data:`CELL_TYPES`, then of ``extra`` (rows), over the
    genes ``gidx`` (``programs``: the planted programs; ``rng``, ``seed``: the random
    streams; ``extra``: refined state types, e.g. ``STATE_TYPES``)."""
    base = rng.lognormal(mean=0.0, sigma=1.9, size=len(gidx))
    ctx = _Baseline(
        base=base,
        high=np.quantile(base, 0.997),
        mid=np.quantile(base, 0.90),
        low=np.quantile(base, 0.50),
        gidx=gidx,
        markers=load_markers(),
    )
    srng = np.random.default_rng([seed, 1])  # subset-gene draws: own stream
    out = np.empty((len(CELL_TYPES) + len(extra), len(gidx)))
    for k, ct in enumerate(CELL_TYPES):
        out[k] = _type_profile(ct, ctx, programs, rng, srng)
    # refined states: own streams, so the other types' profiles do not depend on them
    xrng, xsrng = np.random.default_rng([seed, 3]), np.random.default_rng([seed, 4])
    for k, ct in enumerate(extra, start=len(CELL_TYPES)):
        out[k] = _type_profile(ct, ctx, programs, xrng, xsrng)
    return out


def _type_profile(
    ct: CellType,
    ctx: _Baseline,
    programs: Sequence[Program],
    rng: np.random.Generator,
    srng: np.random.Generator,
) -> np.ndarray:
    n_genes = len(ctx.base)
    w = ctx.base.copy()
    shifted = rng.random(n_genes) < 0.10
    w[shifted] *= rng.lognormal(0.0, 1.0, size=int(shifted.sum()))
    for comp, mgenes in ctx.markers.items():
        idx = ctx.idx(mgenes)
        if comp == ct.compartment:
            w[idx] = ctx.high * rng.lognormal(0.0, 0.3, size=len(idx))
        else:
            w[idx] *= 0.01
    silenced = _apply_subsets(w, ct, ctx, srng)
    idx = ctx.idx(ct.identity)
    w[idx] = ctx.high * 1.5 * rng.lognormal(0.0, 0.3, size=len(idx))
    idx = ctx.idx(silenced)
    w[idx] = ctx.base[idx] * 0.01
    for prog in programs:  # program genes are detectable in the target types
        if ct.name in prog.cell_types or ct.base in prog.cell_types:
            idx = ctx.idx(prog.genes)
            w[idx] = np.maximum(w[idx], ctx.mid * rng.lognormal(0.0, 0.3, size=len(idx)))
    return w


def _apply_subsets(
    w: np.ndarray, ct: CellType, ctx: _Baseline, srng: np.random.Generator
) -> list[str]:
    """Raise the type's subset genes and cap its siblings' (in place); return the negatives."""
    raised, capped, silenced = subset_plan(ct)
    comp_genes = set(ctx.markers.get(ct.compartment, ()))
    idx = [ctx.gidx[g] for g in raised if g in ctx.gidx and g not in comp_genes]
    w[idx] = np.maximum(w[idx], ctx.mid * srng.lognormal(0.0, 0.3, size=len(idx)))
    # siblings' specific genes: compartment markers stay detectable (``mid``), others
    # drop to the median baseline level
    idx = ctx.idx(capped)
    cap = np.array([ctx.mid if g in comp_genes else ctx.low for g in capped if g in ctx.gidx])
    w[idx] = np.minimum(w[idx], cap)
    return silenced


def state_profiles(
    ctype: np.ndarray,
    active: np.ndarray,
    profiles: np.ndarray,
    programs: Sequence[Program],
    gidx: Mapping[str, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised profile of each state (cell type × active programs) and each cell's state.

    Parameters
    ----------
    ctype, active
        Cell type of each cell; cells × programs booleans.
    profiles
        Output of :func:`type_profiles`.
    programs, gidx
        The programs (columns of ``active``) and the gene positions.
    """
    key = ctype.astype(np.int64)
    for j in range(len(programs)):
        key = key * 2 + active[:, j]
    uniq, state = np.unique(key, return_inverse=True)
    out = np.empty((len(uniq), profiles.shape[1]))
    for s_id, k_ in enumerate(uniq):
        bits = [(int(k_) >> (len(programs) - 1 - j)) & 1 for j in range(len(programs))]
        t = int(k_) >> len(programs)
        w = profiles[t].copy()
        for j, prog in enumerate(programs):
            if bits[j]:
                idx = [gidx[g] for g in prog.genes if g in gidx]
                w[idx] *= prog.fold
        out[s_id] = w / w.sum()
    return out, state
