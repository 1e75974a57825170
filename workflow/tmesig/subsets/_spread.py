"""Label spreading over a lineage's kNN graph (Zhou et al. 2004) and neighbour agreement."""

import numpy as np
import scipy.sparse as sp

__all__ = ["neighbour_agreement", "spread", "symmetric_graph"]


def symmetric_graph(graph: sp.spmatrix) -> sp.csr_matrix:
    """``max(W, W^T)`` as float CSR without self-loops."""
    w = sp.csr_matrix(graph, dtype=float)
    w = w.maximum(w.T).tocsr()
    w.setdiag(0.0)
    w.eliminate_zeros()
    return w


def spread(
    graph: sp.csr_matrix,
    seed_label: np.ndarray,
    n_labels: int,
    *,
    alpha: float,
    balance: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Label spreading over a kNN graph (Zhou et al. 2004), solved exactly.

    ``F = (1 - alpha) (I - alpha S)^-1 Y`` with ``S = D^-1/2 W D^-1/2`` (``W`` the
    symmetrised graph without self-loops, ``D`` its degrees) and ``Y`` the one-hot seed
    labels (``seed_label >= 0``); with ``balance`` each label's column of ``Y`` is divided
    by its number of seeds (class-mass normalisation). This is the fixed point of
    :class:`sklearn.semi_supervised.LabelSpreading` (same ``alpha``) computed by conjugate
    gradients on the sparse graph, so it scales to atlas lineages. Seeds are *not* clamped:
    a seed whose neighbourhood carries the other label can change.

    Returns ``(label, F)``: per cell the arg-max label (``-1`` where ``F`` is all zero: no
    seed reachable), and ``F`` itself.
    """
    from scipy.sparse.linalg import cg

    n = seed_label.size
    y = np.zeros((n, n_labels))
    has = seed_label >= 0
    y[np.flatnonzero(has), seed_label[has]] = 1.0
    if balance:
        y /= np.maximum(y.sum(axis=0, keepdims=True), 1.0)
    w = symmetric_graph(graph)
    deg = np.asarray(w.sum(axis=1)).ravel()
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    s_mat = sp.diags(inv) @ w @ sp.diags(inv)
    system = (sp.identity(n, format="csr") - alpha * s_mat).tocsr()
    f = np.zeros_like(y)
    for j in range(n_labels):
        rhs = (1.0 - alpha) * y[:, j]
        if not rhs.any():
            continue
        sol, info = cg(system, rhs, rtol=1e-10, atol=0.0, maxiter=10 * n + 1000)
        if info != 0:  # pragma: no cover - SPD system; CG converges
            msg = f"label spreading did not converge (scipy cg info={info})."
            raise RuntimeError(msg)
        f[:, j] = np.maximum(sol, 0.0)
    best = np.argmax(f, axis=1)  # first maximum: stable tie-breaking in label order
    label = np.where(f[np.arange(n), best] > 0, best, -1)
    return label, f


def neighbour_agreement(graph: sp.csr_matrix, label: np.ndarray, n_labels: int) -> np.ndarray:
    """Relative margin of a cell's own label in the weighted vote of its kNN neighbours.

    ``(v_own - v_other_max) / v_max`` over the neighbours with a label (``label >= 0``),
    clipped at 0 (0 when the neighbourhood prefers another label or has none).
    """
    w = symmetric_graph(graph)
    onehot = np.zeros((label.size, n_labels))
    has = label >= 0
    onehot[np.flatnonzero(has), label[has]] = 1.0
    votes = np.asarray(w @ onehot)
    own = np.where(has, votes[np.arange(label.size), np.maximum(label, 0)], 0.0)
    other = votes.copy()
    other[np.flatnonzero(has), label[has]] = -np.inf
    other_max = other.max(axis=1) if n_labels > 1 else np.zeros(label.size)
    top = votes.max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(has & (top > 0), (own - other_max) / np.where(top > 0, top, 1.0), 0.0)
    return np.clip(out, 0.0, 1.0)
