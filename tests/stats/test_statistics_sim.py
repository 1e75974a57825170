"""Statistical properties of the condition comparisons on simulated data (issue 5).

Small versions of ``benchmarks/bench_statistics.py``: simulated counts (true compartment
labels), tmesig mean-difference scores of the signature library, patients as the unit.
Expectations come from the planted truth, not from the code under test.
"""

import numpy as np
import pandas as pd
import pytest
from tmesig import conditions, score, signatures
from tmesig import simulate as sim

N_GENES = 4000
CELLS_PER_SAMPLE = 750

# the sets each default program was built from, in the compartment of its cell type
PLANTED = {
    ("T_NK", "tcell_exhaustion"),  # exhaustion x4 in CD8 T cells of non-responders
    ("myeloid", "slc7a11_xct"),  # SLC7A11/M2 x3 in macrophages of non-responders
    ("myeloid", "m2_tam"),
    ("epithelial", "b2m_mhc1_apm"),  # APM x0.15 in a malignant clone of non-responders
}


@pytest.fixture(scope="module")
def library():
    return signatures.load_library()


def _scored(n_patients, programs, seed, library):
    adata = sim.simulate(
        n_patients * 2 * CELLS_PER_SAMPLE,
        n_genes=N_GENES,
        n_patients=n_patients,
        programs=programs,
        seed=seed,
        lognorm=True,
    )
    return adata, score.score_mean_diff(adata, library)


def _compare(adata, scores, library, column, ref, test, *, patient=None):
    obs = adata.obs
    cells = pd.DataFrame(
        {
            "compartment": obs["compartment"].astype(str),
            "patient": obs["patient"].astype(str) if patient is None else patient,
            "condition": obs[column].astype(str),
        }
    )
    return conditions.compare_conditions(
        scores, library, cells=cells, contrast=conditions.Contrast(ref, test)
    )


def _row(res, compartment, name):
    return res[(res["compartment"] == compartment) & (res["set"] == name)].iloc[0]


def test_default_programs_are_the_planted_truth():
    by_name = {p.name: p for p in sim.DEFAULT_PROGRAMS}
    assert by_name["exhaustion_cd8_nr"].cell_types == ("CD8_T",)
    assert by_name["slc7a11_m2_macrophage_nr"].cell_types == ("macrophage",)
    assert by_name["apm_low_clone"].cell_types == ("malignant",)
    assert all(p.response == "NR" for p in sim.DEFAULT_PROGRAMS)


def test_planted_programs_recalled(library):
    adata, scores = _scored(16, sim.DEFAULT_PROGRAMS, 0, library)
    res = _compare(adata, scores, library, "response", "R", "NR")
    assert (res["design"] == "unpaired").all()
    for comp, name in PLANTED:
        row = _row(res, comp, name)
        assert row["n_ref"] == 8 and row["n_test"] == 8  # 8 responders, 8 non-responders
        assert row["significant"], (comp, name, row["p"], row["fdr"])
        # direction of the plant: up-programs raise the score, the APM loss lowers it
        assert np.sign(row["effect"]) == (-1 if name == "b2m_mhc1_apm" else 1)
        assert row["resistance_effect"] > 0
    # compartments where nothing was planted: no set is flagged there (true nulls)
    quiet = res[res["compartment"].isin(["fibroblast", "endothelial", "mast"])]
    assert quiet["significant"].mean() <= 0.05


def test_null_is_calibrated(library):
    flagged, ps = [], []
    for seed in range(3):
        adata, scores = _scored(10, (), seed, library)
        res = _compare(adata, scores, library, "response", "R", "NR")
        flagged.append(res["significant"].to_numpy())
        ps.append(res["p"].dropna().to_numpy())
    flagged, p = np.concatenate(flagged), np.concatenate(ps)
    assert len(p) > 600
    assert flagged.mean() <= 0.05
    # raw p-values roughly uniform (generous bounds: tests are correlated within a seed)
    assert 0.02 <= (p <= 0.05).mean() <= 0.09
    assert 0.12 <= (p <= 0.2).mean() <= 0.28


def test_paired_finds_what_unpaired_misses(library):
    """A within-patient post-treatment shift hidden by a 4x larger between-patient effect.

    The simulator has no per-patient expression effect, so it is added at the score level:
    every cell of a patient gets the same offset pre and post (SD = 4 x the shift). The
    program is 3-fold in CD8 T cells: read in the whole T/NK compartment a 2-fold program
    is borderline (paired p 0.25 / 9e-5 / 0.04 / 0.04 over simulation seeds 0-3; 3-fold:
    0.015 / 3e-5 / 0.009 / 0.002).
    """
    prog = sim.Program(
        "post_shift",
        sim.library_genes("tcell_exhaustion"),
        ("CD8_T",),
        3.0,
        timepoint="post",
    )
    adata, scores = _scored(10, (prog,), 0, library)
    obs = adata.obs
    base = _row(
        _compare(adata, scores, library, "timepoint", "pre", "post"), "T_NK", "tcell_exhaustion"
    )
    shift = float(base["effect"])
    assert shift > 0
    patients = np.array(sorted(obs["patient"].astype(str).unique()))
    z = np.random.default_rng(0).permutation(np.linspace(-1.5, 1.5, len(patients)))
    offset = pd.Series(4.0 * shift * z / z.std(ddof=1), index=patients)
    shifted = scores.add(obs["patient"].astype(str).map(offset).to_numpy(), axis=0)

    paired = _row(
        _compare(adata, shifted, library, "timepoint", "pre", "post"), "T_NK", "tcell_exhaustion"
    )
    assert paired["design"] == "paired" and paired["n_pairs"] == 10
    assert paired["effect"] == pytest.approx(shift)  # offsets cancel within patients
    assert paired["p"] <= 0.05

    relabel = obs["patient"].astype(str) + "_" + obs["timepoint"].astype(str)
    unpaired = _row(
        _compare(adata, shifted, library, "timepoint", "pre", "post", patient=relabel),
        "T_NK",
        "tcell_exhaustion",
    )
    assert unpaired["design"] == "unpaired" and unpaired["n_pairs"] == 0
    assert unpaired["effect"] == pytest.approx(shift)  # same means, only the variance differs
    assert unpaired["p"] > 0.05
