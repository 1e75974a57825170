"""kNN graphs without pynndescent's query index (the graph is the same, the index unused).

``PyNNDescentTransformer.fit_transform`` (what scanpy's neighbour search and scrublet call)
builds the graph, then ``compress_index``, which prepares the index for later queries and
compiles its numba search function anew on every call (~2.6 CPU s per call, measured on a
3,000-cell scrublet run; 16% of it). scanpy never queries that index, so inside
:func:`graph_only` the step is skipped: the neighbours, distances, and every score built
from them are unchanged (tested).
"""

import contextlib
from collections.abc import Iterator

__all__ = ["graph_only"]


@contextlib.contextmanager
def graph_only() -> Iterator[None]:
    """Skip ``pynndescent.NNDescent.compress_index`` inside the block (restored after it).

    Only for code that uses the kNN graph itself (``scanpy.pp.neighbors``,
    ``scanpy.pp.scrublet``), never for code that queries the index of new points.
    """
    try:
        from pynndescent import NNDescent
    except ImportError:  # pragma: no cover - scanpy then uses another search
        yield
        return
    saved = NNDescent.__dict__.get("compress_index")
    if saved is None:  # another pynndescent: leave it as it is
        yield
        return
    NNDescent.compress_index = lambda self: None
    try:
        yield
    finally:
        NNDescent.compress_index = saved
