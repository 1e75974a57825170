"""A CellTypist model is a pickle: with a sha256 only verified bytes are unpickled, and a
mismatch loads nothing (a planted pickle that would write a file proves it never ran)."""

import hashlib
import pickle
from pathlib import Path

import anndata as ad
import numpy as np
import pytest
import scanpy as sc
from conftest import DEMO, train_celltypist_model
from tmesig.celltypist_bridge import celltypist_agreement, run_celltypist
from tmesig.celltypist_model import load_model
from tmesig.io import InputError


class _Planted:
    """Unpickling this object opens (creates) ``marker``: code run by pickle.load."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _planted(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "pwned"
    model = tmp_path / "model.pkl"
    model.write_bytes(pickle.dumps(_Planted(marker)))
    return model, marker


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_mismatch_unpickles_nothing(tmp_path):
    model, marker = _planted(tmp_path)
    before = model.read_bytes()
    with pytest.raises(InputError) as err:
        run_celltypist(ad.AnnData(np.zeros((2, 2))), model_path=model, sha256="0" * 64)
    msg = str(err.value)
    assert msg.startswith(f"CellTypist model {model}: sha256 mismatch")
    assert f"the file is {_sha(model)}" in msg and "it was not loaded" in msg
    assert "annotate.celltypist_sha256" in msg
    assert not marker.exists() and model.read_bytes() == before


def test_matching_digest_loads_the_verified_bytes(tmp_path):
    # the digest matches: the bytes are unpickled (the planted code runs, proving the check is
    # what stood between the file and pickle.load), then refused as not a CellTypist model
    model, marker = _planted(tmp_path)
    with pytest.raises(InputError, match="could not be read"):
        load_model(model, sha256=_sha(model).upper())
    assert marker.exists()


def test_verified_model_predicts_like_the_unchecked_one(tmp_path):
    adata = ad.read_h5ad(DEMO)
    order = np.random.default_rng(1).permutation(adata.n_obs)
    train, test = adata[np.sort(order[:1200])].copy(), adata[np.sort(order[1200:1500])].copy()
    model = train_celltypist_model(train, "cell_type", tmp_path / "m.pkl", n_genes=200)
    sc.pp.normalize_total(test, target_sum=1e4)
    sc.pp.log1p(test)
    plain = run_celltypist(test, model_path=model)
    checked = run_celltypist(test, model_path=model, sha256=_sha(model))
    assert checked.equals(plain)
    cells = test.obs[[]].assign(compartment="T_NK")
    joined, _, _ = celltypist_agreement(cells, test, model_path=model, sha256=_sha(model))
    assert joined["celltypist_label"].equals(plain["celltypist_label"])
    with pytest.raises(InputError, match="sha256 mismatch"):
        celltypist_agreement(cells, test, model_path=model, sha256="f" * 64)
