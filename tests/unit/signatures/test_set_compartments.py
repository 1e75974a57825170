"""Where gene sets are pre-specified: tmesig.signatures.primary_in, check_set_compartments,
and the library's compartments checked against real shipped data and the marker files."""

from collections.abc import Iterable
from functools import lru_cache

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp
import yaml
from tmesig import paths
from tmesig.constants import ANY, LINEAGES, MALIGNANT, NORMAL_EPITHELIUM
from tmesig.io.errors import InputError
from tmesig.signatures import (
    GeneSet,
    check_set_compartments,
    gene_level_genes,
    load_library,
    primary_in,
    state_lineages,
)


def _set(*compartments: str, name: str = "s") -> GeneSet:
    return GeneSet(
        name=name,
        title="a set",
        genes=("A", "B", "C"),
        direction="up",
        compartments=compartments,
        mechanism="a mechanism",
        card=False,
        provenance={"seed": "dai2024", "section": "T cells"},
    )


STATES = {"CD8_exhausted": "T_NK", "CD8_T": "T_NK", "Treg": "T_NK", "macrophage": "myeloid"}
STATES |= {MALIGNANT: "epithelial", NORMAL_EPITHELIUM: "epithelial"}


# ------------------------------------------------------------------ primary_in, by hand


@pytest.mark.parametrize(
    ("compartments", "compartment", "level", "parent", "expected"),
    [
        # lineage level: the lineages the set names, as before
        (("T_NK",), "T_NK", "lineage", "T_NK", True),
        (("T_NK",), "myeloid", "lineage", "myeloid", False),
        (("T_NK", "CD8_exhausted"), "T_NK", "lineage", "T_NK", True),
        (("CD8_exhausted",), "T_NK", "lineage", "T_NK", False),
        (("epithelial", MALIGNANT), "epithelial", "lineage", "epithelial", True),
        # state level: every state of a named lineage naming none of its states
        (("T_NK",), "Treg", "state", "T_NK", True),
        (("T_NK",), "macrophage", "state", "myeloid", False),
        # ... only the named states when the set names one of that lineage
        (("T_NK", "CD8_exhausted"), "CD8_exhausted", "state", "T_NK", True),
        (("T_NK", "CD8_exhausted"), "Treg", "state", "T_NK", False),
        (("T_NK", "CD8_exhausted", "myeloid"), "macrophage", "state", "myeloid", True),
        (("epithelial", MALIGNANT), MALIGNANT, "state", "epithelial", True),
        (("epithelial", MALIGNANT), NORMAL_EPITHELIUM, "state", "epithelial", False),
        (("CD8_exhausted",), "CD8_exhausted", "state", "T_NK", True),
        # any: everything at both levels, but never unassigned
        ((ANY,), "B_plasma", "lineage", "B_plasma", True),
        ((ANY,), "Treg", "state", "T_NK", True),
        ((ANY,), "unassigned", "state", "T_NK", False),
        (("T_NK",), "unassigned", "state", "T_NK", False),
    ],
)
def test_primary_in_by_hand(compartments, compartment, level, parent, expected):
    got = primary_in(_set(*compartments), compartment, level=level, parent=parent, states=STATES)
    assert got is expected


def test_primary_in_default_states_come_from_the_shipped_markers():
    gs = _set("T_NK", "CD8_exhausted")
    assert primary_in(gs, "CD4_conventional", level="state", parent="T_NK") is False
    assert primary_in(_set("T_NK"), "CD4_conventional", level="state", parent="T_NK")
    with pytest.raises(ValueError, match="level"):
        primary_in(gs, "T_NK", level="cluster", parent="T_NK")


def test_state_lineages_reads_a_user_markers_file(tmp_path):
    text = (paths.MARKERS_DIR / "subsets.yaml").read_text()
    data = yaml.safe_load(text)
    data["lineages"]["T_NK"]["CD8_stem_like"] = {
        "parent": "CD8_T",
        "genes": ["TCF7", "SELL"],
        "source": "test",
    }
    path = tmp_path / "subsets.yaml"
    path.write_text(yaml.safe_dump(data))
    states = state_lineages(path)
    assert states["CD8_stem_like"] == "T_NK"
    assert states[MALIGNANT] == states[NORMAL_EPITHELIUM] == "epithelial"
    assert "CD8_stem_like" not in state_lineages()


# ------------------------------------------------------------------ check_set_compartments


def test_check_set_compartments_refuses_an_unknown_state(tmp_path):
    bad = _set("T_NK", "CD8_exausted", name="typo")
    with pytest.raises(InputError) as err:
        check_set_compartments([_set("T_NK"), bad], states=STATES, files={"typo": "x/typo.yaml"})
    msg = str(err.value)
    assert msg.startswith("x/typo.yaml: ") and "'typo'" in msg and "CD8_exausted" in msg
    assert "CD8_exhausted" in msg  # the known states are listed
    assert "fix the name" in msg
    # known lineages, malignant, normal_epithelium, any and states pass
    check_set_compartments(
        [_set("T_NK", "CD8_exhausted", MALIGNANT, NORMAL_EPITHELIUM, ANY)], states=STATES
    )


def test_the_shipped_library_names_only_states_a_run_can_produce():
    check_set_compartments(load_library(), states=state_lineages())


def test_a_set_file_may_name_a_state_but_not_an_odd_token(tmp_path):
    from tmesig.signatures import load_gene_set

    data = yaml.safe_load((paths.SIGNATURES_DIR / "treg.yaml").read_text())
    data["compartments"] = ["T_NK", "Treg"]
    (tmp_path / "treg.yaml").write_text(yaml.safe_dump(data))
    assert load_gene_set(tmp_path / "treg.yaml").compartments == ("T_NK", "Treg")
    data["compartments"] = ["T_NK", "Treg; rm -rf"]
    (tmp_path / "treg.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="compartments"):
        load_gene_set(tmp_path / "treg.yaml")


# ------------------------------------------------------------------ the library, against data

#: Author labels of the shipped real datasets -> the lineages / states those cells belong to.
#: Qian et al. 2020 call their epithelial cells cancer cells; Wu et al. 2020 clusters 8.x are
#: CD8 (8.1 effector, 8.2 effector memory, 8.3 resident memory), 4.6 Treg, 4.1-4.5 CD4.
_QIAN = {
    "Epithelial": ("epithelial", MALIGNANT),
    "Fibroblast": ("fibroblast",),
    "Macrophage": ("myeloid", "macrophage"),
    "Endothelial": ("endothelial",),
    "T_cell": ("T_NK",),
    "B_cell": ("B_plasma",),
}


def _wu(label: str) -> tuple[str, ...]:
    if label.startswith("8."):
        memory = ("CD8_effector_memory",) if label[:3] in ("8.1", "8.2", "8.3") else ()
        return ("T_NK", "CD8_T", *memory)
    if label.startswith("4.6"):
        return ("T_NK", "CD4_T", "Treg")
    return ("T_NK", "CD4_T", "CD4_conventional") if label.startswith("4.") else ("T_NK",)


def _tirosh(label: str) -> tuple[str, ...]:
    if label.startswith("malignant"):
        return (MALIGNANT,)
    return ("myeloid", "macrophage") if label.startswith("Microglia") else ()


DATASETS = [
    (paths.RESOURCES / "demo" / "qian2020_ovarian_4k.h5ad", "cell_type", _QIAN.get),
    (paths.RESOURCES / "testdata" / "wu2020_200_tcells.h5ad", "cluster_orig", _wu),
    (paths.RESOURCES / "testdata" / "tirosh2016_oligodendroglioma.h5ad", "cell_type", _tirosh),
]
MIN_CELLS = 10  # labelled cells a compartment needs in a dataset to be judged there
MIN_FRACTION = 0.05  # a gene is "expressed" where at least 5% of the cells detect it


@lru_cache(maxsize=1)
def _detection() -> list[tuple[dict[str, np.ndarray], dict[str, int], list[str]]]:
    """Per dataset: compartment -> fraction of its cells detecting each gene."""
    out = []
    for path, column, mapping in DATASETS:
        adata = ad.read_h5ad(path)
        x = sp.csr_matrix(adata.X) > 0
        groups: dict[str, list[int]] = {}
        for i, label in enumerate(adata.obs[column].astype(str)):
            for comp in mapping(label) or ():
                groups.setdefault(comp, []).append(i)
        frac = {c: np.asarray(x[idx].mean(axis=0)).ravel() for c, idx in groups.items()}
        out.append((frac, {c: len(i) for c, i in groups.items()}, list(adata.var_names)))
    return out


def _marker_genes() -> dict[str, set[str]]:
    """Lineage or state -> its marker genes (a lineage also gets its states' genes)."""
    comp = yaml.safe_load((paths.MARKERS_DIR / "compartments.yaml").read_text())
    subs = yaml.safe_load((paths.MARKERS_DIR / "subsets.yaml").read_text())
    out: dict[str, set[str]] = {}
    for lineage, entry in comp["compartments"].items():
        out.setdefault(lineage, set()).update(entry["genes"])
    for lineage, states in subs["lineages"].items():
        for state, entry in states.items():
            out.setdefault(state, set()).update(entry["genes"])
            out.setdefault(lineage, set()).update(entry["genes"])
    for axis in subs["axes"].values():  # the M2 pole of the macrophage axis
        out.setdefault(axis["subset"], set()).update(axis["positive"])
    return out


def _evidence(genes: Iterable[str], compartment: str) -> str | None:
    """Why the genes can occur in the compartment, or None (no data says so)."""
    genes = list(genes)
    for frac, n_cells, names in _detection():
        if n_cells.get(compartment, 0) < MIN_CELLS:
            continue
        index = {g: i for i, g in enumerate(names)}
        for gene in genes:
            f = frac[compartment][index[gene]] if gene in index else 0.0
            if f >= MIN_FRACTION and f * n_cells[compartment] >= 2:
                return f"{gene} detected in {f:.0%}"
    markers = _marker_genes().get(compartment, set()).intersection(genes)
    return f"markers {sorted(markers)}" if markers else None


#: Named compartments the shipped data cannot show (no such cells shipped, genes not among the
#: markers), each with the publication that shows the genes there.
NOT_IN_SHIPPED_DATA = {
    ("arginase", "neutrophil"): (
        "Munder M et al. Blood 2005;105:2549, doi:10.1182/blood-2004-07-2521"
    ),
}


def test_no_set_is_primary_where_its_genes_cannot_occur():
    """Every lineage or state a set names must be able to carry its genes: one of them is
    detected in >= 5% (and >= 2) of that compartment's author-labelled cells in a shipped real
    dataset (Qian 2020 ovarian, Wu 2020 T cells, Tirosh 2016 oligodendroglioma) or is a marker
    gene of that compartment in resources/markers (compartments.yaml, subsets.yaml). Exempt:
    ``any``; gene-level sets (never tested as a set); the cited pairs above, which must still
    lack shipped evidence (so the list cannot go stale)."""
    missing = []
    for gene_set in load_library():
        if gene_set.gene_level:
            continue
        for compartment in gene_set.compartments:
            if compartment != ANY and _evidence(gene_set.genes, compartment) is None:
                missing.append((gene_set.name, compartment))
    assert sorted(missing) == sorted(NOT_IN_SHIPPED_DATA)
    assert all("doi:" in ref for ref in NOT_IN_SHIPPED_DATA.values())


def test_the_data_check_can_fail():
    """A B-cell set named in fibroblasts, a T-cell set in epithelial cells: no evidence."""
    bcell = next(s for s in load_library() if s.name == "bcell_budczies")
    assert _evidence(bcell.genes, "fibroblast") is None
    assert _evidence(["CD8A", "CD8B", "GZMK"], "epithelial") is None
    assert _evidence(bcell.genes, "B_plasma") is not None


# ------------------------------------------------------------------ no set silently lost


def test_sets_with_fewer_than_three_genes_are_gene_level():
    library = load_library()
    small = {s.name for s in library if len(s.genes) < 3}
    level = {s.name for s in library if s.gene_level}
    assert small <= level
    genes = gene_level_genes(library)
    for gs in library:
        if gs.gene_level:
            assert all(gs.name in genes[g] for g in gs.genes)
    assert set(genes) == {g for s in library if s.gene_level for g in s.genes}


def test_lineage_names_are_not_state_names():
    assert not set(LINEAGES) & set(state_lineages())
