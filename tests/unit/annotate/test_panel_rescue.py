"""Unassigned panel clusters called from their resemblance to called lineages
(tmesig.annotate._panel_rescue.rescue_unassigned), against planted embeddings."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from tmesig.annotate._panel_rescue import rescue_unassigned
from tmesig.constants import UNASSIGNED


def _case(centres: dict[str, tuple[float, float]], n: int = 20, seed: int = 0):
    """Cells around planted 2-D cluster centres (sd 0.1), one cluster per key."""
    rng = np.random.default_rng(seed)
    names = [k for k in centres for _ in range(n)]
    emb = np.vstack([rng.normal(centres[k], 0.1, size=(n, 2)) for k in centres])
    a = ad.AnnData(X=np.zeros((len(names), 1), dtype=np.float32))
    a.obsm["X_pca"] = emb
    return a, pd.Series(names, index=a.obs_names)


def _table(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    """cluster, compartment, score_epithelial, score_fibroblast (20 cells each)."""
    return pd.DataFrame(
        {
            "cluster": [r[0] for r in rows],
            "n_cells": 20,
            "compartment": [r[1] for r in rows],
            "confidence": [0.9 if r[1] != UNASSIGNED else 0.1 for r in rows],
            "score_epithelial": [r[2] for r in rows],
            "score_fibroblast": [r[3] for r in rows],
        }
    )


def test_an_unassigned_cluster_joins_the_lineage_it_resembles_and_scores():
    # epithelial clusters around (1, 0), fibroblast around (0, 1); "u1" sits among the
    # epithelial ones with epithelial and fibroblast marker evidence (a tie: unassigned);
    # "u2" sits there too but has no epithelial marker evidence; "u3" lies between the two
    # lineages (no clear resemblance); "u4" resembles the fibroblasts but has only
    # epithelial evidence
    a, labels = _case(
        {
            "e1": (1.0, 0.2),
            "e2": (1.0, -0.2),
            "f1": (0.0, 1.0),
            "u1": (1.1, 0.0),
            "u2": (0.9, 0.1),
            "u3": (0.7, 0.7),
            "u4": (0.1, 1.1),
        }
    )
    table = _table(
        [
            ("e1", "epithelial", 0.5, 0.0),
            ("e2", "epithelial", 0.4, 0.1),
            ("f1", "fibroblast", 0.0, 0.6),
            ("u1", UNASSIGNED, 0.2, 0.2),
            ("u2", UNASSIGNED, 0.02, 0.3),
            ("u3", UNASSIGNED, 0.3, 0.3),
            ("u4", UNASSIGNED, 0.3, 0.05),
        ]
    )
    out = rescue_unassigned(a, labels, table, min_score=0.1, min_margin=0.3)
    assert out["compartment"].tolist() == [
        "epithelial",
        "epithelial",
        "fibroblast",
        "epithelial",
        UNASSIGNED,
        UNASSIGNED,
        UNASSIGNED,
    ]
    assert out.attrs["rescued"] == {"u1": "epithelial"}
    # u1's confidence is the relative cosine margin, computed here by hand
    emb = a.obsm["X_pca"]
    own = emb[labels.to_numpy() == "u1"].mean(axis=0)
    epi = emb[labels.isin(["e1", "e2"]).to_numpy()].mean(axis=0)
    fib = emb[labels.to_numpy() == "f1"].mean(axis=0)
    cos = [own @ v / np.linalg.norm(own) / np.linalg.norm(v) for v in (epi, fib)]
    assert out.loc[3, "confidence"] == pytest.approx((cos[0] - max(cos[1], 0)) / cos[0])
    assert table["compartment"].tolist()[3] == UNASSIGNED  # input not modified


def test_nothing_called_nothing_rescued_and_no_embedding_no_change():
    a, labels = _case({"u1": (1.0, 0.0), "u2": (-1.0, 0.0)})
    table = _table([("u1", UNASSIGNED, 0.5, 0.0), ("u2", UNASSIGNED, 0.0, 0.5)])
    out = rescue_unassigned(a, labels, table, min_score=0.1, min_margin=0.3)
    assert (out["compartment"] == UNASSIGNED).all() and out.attrs["rescued"] == {}
    del a.obsm["X_pca"]
    table.loc[0, "compartment"] = "epithelial"
    out = rescue_unassigned(a, labels, table, min_score=0.1, min_margin=0.3)
    assert out["compartment"].tolist() == ["epithelial", UNASSIGNED]
