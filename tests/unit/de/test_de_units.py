"""tmesig.de.choose_units: the design and the patients left out, by hand."""

import pandas as pd
from tmesig import de


def _meta(rows):
    return pd.DataFrame(rows, columns=["patient", "condition", "n_cells"])


def test_all_paired():
    m = _meta([(f"P{i}", c, 20) for i in range(4) for c in ("pre", "post")])
    ch = de.choose_units(m, reference="pre", test="post", min_cells=10, min_patients=3)
    assert ch.design == "paired" and ch.n_pairs == 4 and len(ch.units) == 8 and ch.note == ""


def test_partial_pairing_keeps_pairs_and_names_the_others():
    rows = [(f"P{i}", c, 20) for i in range(3) for c in ("pre", "post")]
    rows += [("P7", "pre", 30), ("P8", "post", 30), ("P9", "post", 5)]
    ch = de.choose_units(_meta(rows), reference="pre", test="post", min_cells=10, min_patients=3)
    assert ch.design == "paired" and ch.n_pairs == 3
    assert set(ch.units["patient"]) == {"P0", "P1", "P2"}
    assert "P7, P8" in ch.note and "one condition only" in ch.note
    assert "P9 (post: 5 cells)" in ch.note


def test_few_pairs_go_unpaired_without_double_counting():
    rows = [("P0", "R", 20), ("P0", "NR", 20)]
    rows += [(f"R{i}", "R", 20) for i in range(3)] + [(f"N{i}", "NR", 20) for i in range(3)]
    ch = de.choose_units(_meta(rows), reference="R", test="NR", min_cells=10, min_patients=3)
    assert ch.design == "unpaired" and (ch.n_ref, ch.n_test) == (3, 3)
    assert "P0" not in set(ch.units["patient"]) and "not counted twice: P0" in ch.note
    assert ch.units["is_test"].sum() == 3


def test_insufficient_says_so():
    rows = [("A", "R", 20), ("B", "R", 20), ("C", "NR", 20), ("D", "NR", 20), ("E", "NR", 20)]
    ch = de.choose_units(_meta(rows), reference="R", test="NR", min_cells=10, min_patients=3)
    assert ch.design == "insufficient" and "(2 vs 3): no test" in ch.note
