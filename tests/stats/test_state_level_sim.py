"""Answers at the level of cell states, on simulated cohorts with planted truth (issue 11).

Simulated counts (:mod:`tmesig.simulate`), the simulator's own cell types as the states (its
truth: this checks the statistics, not the annotation, which ``bench_annotation.py``
measures), tmesig mean-difference scores of the signature library, patients as the unit.

- Planted: an exhaustion programme in CD8 T cells of non-responders, a shift of CD8 T cells
  towards the exhausted state in non-responders, and an MHC-I-low malignant clone. All three
  are found at state level at FDR ≤ 0.05.
- The composition artefact: with only the CD8 state shift planted, the exhaustion sets rise
  in the whole T/NK lineage of non-responders (more exhausted cells), and the effector
  set falls; within each CD8 state nothing changed, and nothing is flagged there.
- Null cohorts (no programme, the same CD8 state mix in both groups): state-level condition
  tests and composition keep false positives at or below 5%.
"""

import numpy as np
import pandas as pd
import pytest
from test_state_composition_sim import STATE
from tmesig import composition, conditions, score, signatures
from tmesig import simulate as sim
from tmesig.subsets import load_subset_markers

N_GENES, N_PATIENTS, N_CELLS = 3000, 16, 12_000  # 8 responders, 8 non-responders
NR_VS_R = conditions.Contrast("R", "NR")
EXHAUSTION = ("tcell_exhaustion", "cd39_cd8_chow", "havcr2_tim3")


@pytest.fixture(scope="module")
def library():
    return signatures.load_library()


def _cohort(programs, seed, library):
    adata = sim.simulate(
        N_CELLS, n_genes=N_GENES, n_patients=N_PATIENTS, programs=programs, seed=seed, lognorm=True
    )
    obs = adata.obs
    cells = pd.DataFrame(
        {
            "compartment": obs["compartment"].astype(str),
            "state": obs["cell_type"].astype(str).replace(STATE),
            "parent": obs["compartment"].astype(str),
            "patient": obs["patient"].astype(str),
            "condition": obs["response"].astype(str),
        },
        index=obs.index,
    )
    # the malignant cells (the clone among them) are the epithelial state "malignant"
    cells.loc[cells["compartment"] == "epithelial", "state"] = "malignant"
    return cells, score.score_mean_diff(adata, library)


def _tests(cells, scores, library):
    return conditions.compare_conditions(scores, library, cells=cells, contrast=NR_VS_R)


def _shares(cells):
    table = composition.state_composition_table(
        state=cells["state"],
        lineage=cells["compartment"],
        patient=cells["patient"],
        condition=cells["condition"],
        hierarchy=composition.state_hierarchy(load_subset_markers()),
    )
    return composition.compare_composition(table, contrast=NR_VS_R, min_cells=10)


def _at(res, level, compartment, name):
    hit = res[(res["level"] == level) & (res["compartment"] == compartment) & (res["set"] == name)]
    assert len(hit) == 1, (level, compartment, name)
    return hit.iloc[0]


def test_the_three_planted_answers_are_found_at_state_level(library):
    cells, scores = _cohort((*sim.DEFAULT_PROGRAMS, sim.CD8_EXHAUSTED_SHIFT), 3, library)
    res = _tests(cells, scores, library)
    # (1) exhaustion programme in CD8 T cells of non-responders: inside each CD8 state
    for state in ("CD8_exhausted", "CD8_effector_memory"):
        row = _at(res, "state", state, "tcell_exhaustion")
        assert row["family"] == "primary" or state == "CD8_effector_memory"
        assert row["fdr"] <= 0.05 and row["resistance_effect"] > 0, (state, row["fdr"])
    # (3) the MHC-I-low clone: antigen presentation lower in malignant cells of non-responders
    row = _at(res, "state", "malignant", "b2m_mhc1_apm")
    assert row["family"] == "primary"
    assert row["fdr"] <= 0.05 and row["effect"] < 0 and row["resistance_effect"] > 0
    # (2) the shift towards the exhausted state, as state composition within CD8 T cells
    comp = _shares(cells).set_index(["denominator", "compartment"])
    shift = comp.loc[("CD8_T", "CD8_exhausted")]
    assert shift["fdr"] <= 0.05 and shift["fraction_test"] > shift["fraction_ref"]


def test_a_composition_shift_is_not_flagged_inside_the_states(library):
    cells, scores = _cohort((sim.CD8_EXHAUSTED_SHIFT,), 4, library)
    res = _tests(cells, scores, library)
    # at lineage level the exhausted share alone moves the T/NK means (the artefact) ...
    lineage = [_at(res, "lineage", "T_NK", name) for name in EXHAUSTION]
    assert min(r["p"] for r in lineage) < 0.05 and all(r["effect"] > 0 for r in lineage)
    # ... inside each CD8 state nothing changed, and no state row is significant
    states = res[res["level"] == "state"]
    assert len(states) > 100 and not states["significant"].any()
    assert (
        _shares(cells)
        .set_index(["denominator", "compartment"])
        .loc[("CD8_T", "CD8_exhausted"), "significant"]
    )


@pytest.mark.slow
def test_null_cohorts_keep_state_level_false_positives_at_5_percent(library):
    flagged, tested, share_flags, share_tested = 0, 0, 0, 0
    for seed in (10, 11, 12, 13):
        cells, scores = _cohort((sim.CD8_NULL_SHIFT,), seed, library)
        states = _tests(cells, scores, library)
        states = states[(states["level"] == "state") & states["p"].notna()]
        flagged += int(states["significant"].sum())
        tested += len(states)
        shares = _shares(cells)
        shares = shares[(shares["level"] == "state") & shares["p"].notna()]
        share_flags += int(shares["significant"].sum())
        share_tested += len(shares)
        # nominal p-values of null state tests are not piled up at 0
        assert np.mean(states["p"] <= 0.05) <= 0.1
    assert tested > 400 and flagged / tested <= 0.05
    assert share_tested >= 20 and share_flags / share_tested <= 0.05
