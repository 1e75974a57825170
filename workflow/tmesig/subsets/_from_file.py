"""Every lineage's cells of a backed file, read in as few passes over it as memory allows.

Reading lineage by lineage decompresses the whole file once per lineage and per purpose
(its cells' marker genes, its sketch, the projection on the sketch): at 1,000,000 cells, a
couple of minutes each, eighteen times. :func:`prefetch_lineages` reads instead, in one pass,
the marker genes of every sketched lineage's cells, all genes of every sketch and the small
lineages' cells (up to :data:`PASS_CELLS` of them a pass); fits each sketch, freeing it once
fitted; and projects every sketched lineage's cells in one more pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tmesig.io.backed_rows import RowRequest, read_row_sets
from tmesig.io.expression import ROW_CHUNK

from ._markers import SubsetMarkers
from ._options import SubsetOptions
from ._sketch import SKETCH_STRATA, SketchFit, fit_sketch, project_from_file, sketch_rows

if TYPE_CHECKING:
    import anndata as ad

__all__ = ["PASS_CELLS", "Prefetched", "lineage_genes", "prefetch_lineages", "sketched_from_file"]

#: Cells of lineages read whole (all genes) that one pass holds at most.
PASS_CELLS = 100_000


@dataclass
class Prefetched:
    """One lineage's cells, read ahead.

    Attributes
    ----------
    sub
        Its cells (a sketched lineage: its marker genes only), log-normalised.
    fitted
        A sketched lineage's fitted sketch and projection; else None.
    """

    sub: ad.AnnData
    fitted: SketchFit | None = None


def sketched_from_file(adata: ad.AnnData, n: int, opts: SubsetOptions) -> bool:
    """Whether a lineage of ``n`` cells is sub-clustered on a sketch read from a backed file
    (its cells then read with their marker genes only, the sketch with all genes)."""
    big = opts.sketch_above is not None and n > opts.sketch_above
    return bool(adata.isbacked and big and opts.layer is None)


def lineage_genes(markers: SubsetMarkers, lin_name: str) -> list[str]:
    """Every gene a lineage's scores, identity calls and axes read."""
    genes = [g for s in markers.of_lineage(lin_name) for g in (*s.genes, *s.negative)]
    genes += [g for s in markers.of_lineage(lin_name) for g in s.identity]
    for axis in (a for a in markers.axes if a.lineage == lin_name):
        genes += [*axis.positive, *axis.negative]
    return genes


def prefetch_lineages(
    adata: ad.AnnData,
    lineages: Mapping[str, np.ndarray],
    *,
    markers: SubsetMarkers,
    options: SubsetOptions,
) -> dict[str, Prefetched]:
    """The lineages' cells of a backed file, sketches fitted, in few passes.

    Parameters
    ----------
    adata
        Backed (:func:`tmesig.io.expression.read_expression` with ``backed=True``).
    lineages
        Lineage name to its rows in ``adata`` (increasing), in processing order.
    markers
        The subset markers (which genes a sketched lineage's cells need).
    options
        ``sketch_above``, ``seed`` and the sketch's PCA options.

    Returns
    -------
    dict
        Lineage name to :class:`Prefetched`, for the sketched lineages and for the small
        lineages of the first pass; the others (beyond :data:`PASS_CELLS`) are left to be
        read one at a time.
    """
    big = [n for n, rows in lineages.items() if sketched_from_file(adata, rows.size, options)]
    small, held = [], 0
    for name, rows in lineages.items():
        if name not in big and held + rows.size <= PASS_CELLS:
            small.append(name)
            held += rows.size
    strata = adata.obs[SKETCH_STRATA].to_numpy() if SKETCH_STRATA in adata.obs else None
    picks = {
        n: sketch_rows(
            None if strata is None else strata[lineages[n]],
            int(options.sketch_above),
            seed=options.seed,
        )
        for n in big
    }
    requests = [RowRequest(lineages[n], lineage_genes(markers, n)) for n in big]
    requests += [RowRequest(lineages[n][picks[n]]) for n in big]
    requests += [RowRequest(lineages[n]) for n in small]
    got = read_row_sets(adata, requests, chunk_size=ROW_CHUNK)
    out = {n: Prefetched(sub=got[len(big) * 2 + i]) for i, n in enumerate(small)}
    works = {}
    for i, n in enumerate(big):
        sketch, got[len(big) + i] = got[len(big) + i], None
        extra = [g for s in markers.of_lineage(n) for g in (*s.genes, *s.identity)]
        works[n] = fit_sketch(sketch, extra_genes=extra, options=options)
        del sketch
    pcs = project_from_file(adata, [(lineages[n], works[n]) for n in big])
    for i, n in enumerate(big):
        fit = SketchFit(rows=picks[n], work=works[n], pcs=pcs[i])
        out[n] = Prefetched(sub=got[i], fitted=fit)
    return out
