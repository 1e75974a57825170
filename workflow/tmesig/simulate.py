"""Simulated tumour single-cell RNA-seq with planted resistance programs.

Negative-binomial counts for the usual tumour-microenvironment cell types (CD8, CD4,
Treg and NK cells in ``T_NK``; B and plasma cells; macrophages and monocytes; mast cells;
fibroblasts; endothelial cells; malignant epithelial cells) across patients that respond
or not to immune-checkpoint blockade, each sampled before and after treatment. Programs
(gene lists with a fold change) can be planted in chosen cell types and conditions; the
default ones are exhaustion genes up in CD8 T cells of non-responders, the
SLC7A11/M2 programme up in their macrophages, and an antigen-presentation-low
(``B2M``/MHC-I) malignant clone. ``programs=()`` is the null mode: nothing planted.

Genes are real symbols: the signature library (:func:`tmesig.signatures.load_library`),
the compartment markers (:func:`tmesig.annotate.load_markers`) and filler protein-coding
genes from ``resources/genes/grch38_genes.tsv``, so the simulated data goes through the
real annotation and scoring.

Model
-----
Cell type ``t`` has an expression profile ``p_t`` (sums to 1): a shared heavy-tailed
(log-normal) baseline, its compartment's markers, the genes of its subsets in
``resources/markers/subsets.yaml`` (``CellType.subsets``: e.g. ``CD4_T`` and ``Treg``
for Tregs) and its own identity genes raised to the top of the distribution, other
compartments' markers silenced, and 10 % of genes shifted per cell type. Profiles are
consistent with the subset markers: the genes of sibling subsets that the type's subsets
do not list are capped (compartment markers at a detectable level, e.g. PRF1 in NK
cells, C1Q genes in monocytes; other genes at the median baseline level), and the subsets' ``negative`` genes are silenced (NK cells lack CD3D/CD3E/CD3G/
TRAC, plasma cells MS4A1). A cell's mean count of gene ``g`` is ``mu = depth * p_state[g]``
where ``state`` is its cell type with the programs active in it (a program multiplies its
genes by ``fold``) and ``depth`` is one of 16 log-normal library-size levels. Counts are
NB(mean ``mu``, dispersion ``phi``: variance ``mu + phi mu^2``), drawn by inversion from
a counter-based random stream keyed on (seed, cell index): the matrix is the same
whatever the chunking or number of threads, and it is generated chunk by chunk as CSR,
never dense. Truth is in ``obs`` (``cell_type``, ``compartment``, ``patient``,
``sample``, ``response``, ``timepoint``, ``condition``, ``clone``, one boolean
``planted_<program>`` column per program, ``depth``) and ``uns["simulation"]``.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import h5py
import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import paths
from .annotate import load_markers
from .signatures import load_library

__all__ = [
    "CELL_TYPES",
    "DEFAULT_PROGRAMS",
    "CellType",
    "Program",
    "Simulation",
    "design",
    "simulate",
    "write_h5ad_chunked",
]

GENE_TABLE: Path = paths.REPO_ROOT / "resources" / "genes" / "grch38_genes.tsv"


@dataclass(frozen=True)
class CellType:
    """A simulated cell type.

    Parameters
    ----------
    name : str
        Cell-type name (``obs["cell_type"]``).
    compartment : str
        Its compartment (a key of :func:`tmesig.annotate.load_markers`).
    identity : tuple of str
        Extra identity genes raised in this type.
    weight : float
        Mean share of cells.
    subsets : tuple of str
        Subsets of ``resources/markers/subsets.yaml`` (:func:`tmesig.subsets.load_subset_markers`)
        the type belongs to (a root and optionally one of its children): their genes are
        raised, their ``negative`` genes and their siblings' specific genes silenced.
    """

    name: str
    compartment: str
    identity: tuple[str, ...]
    weight: float
    subsets: tuple[str, ...] = ()


#: Cell types with their compartments, identity genes and mean proportions.
CELL_TYPES: tuple[CellType, ...] = (
    CellType("CD8_T", "T_NK", ("CD8A", "CD8B", "GZMK", "CCL5"), 0.14, ("CD8_T",)),
    CellType("CD4_T", "T_NK", ("CD4", "IL7R", "CCR7"), 0.12, ("CD4_T", "CD4_conventional")),
    CellType("Treg", "T_NK", ("FOXP3", "IL2RA", "CTLA4", "TNFRSF18"), 0.04, ("CD4_T", "Treg")),
    CellType("NK", "T_NK", ("NCAM1", "KLRC1"), 0.04, ("NK",)),
    CellType("B", "B_plasma", ("MS4A1", "CD19", "BANK1"), 0.06, ("B_cell",)),
    CellType("plasma", "B_plasma", ("MZB1", "JCHAIN", "TNFRSF17"), 0.03, ("plasma_cell",)),
    CellType("macrophage", "myeloid", ("CD163", "C1QA", "APOE"), 0.12, ("macrophage",)),
    CellType("monocyte", "myeloid", ("CD14", "LYZ", "FCN1"), 0.05, ("classical_monocyte",)),
    CellType("mast", "mast", ("TPSAB1", "CPA3"), 0.02, ("mast_cell",)),
    CellType("fibroblast", "fibroblast", ("DCN", "LUM", "COL1A2"), 0.10, ("CAF",)),
    CellType(
        "endothelial", "endothelial", ("PECAM1", "VWF", "CDH5"), 0.07, ("tumour_endothelium",)
    ),
    CellType("malignant", "epithelial", ("EPCAM", "KRT8", "KRT18"), 0.21),
)


def _subset_genes() -> list[str]:
    """All genes (positive and negative) of the subset marker file."""
    from .subsets import load_subset_markers

    markers = load_subset_markers()
    return sorted({g for s in markers.subsets for g in (*s.genes, *s.negative)})


def _subset_plan(ct: CellType) -> tuple[list[str], list[str], list[str]]:
    """Genes to raise, to cap (siblings' specific genes) and to silence (negatives) for ``ct``.

    ``raise``: genes of the type's subsets (the root and child it belongs to). ``cap``: genes
    of the sibling subsets at each level (other roots of the lineage; other children of the
    type's root) that none of the type's subsets lists. ``silence``: the ``negative`` genes
    of the type's subsets (e.g. CD3D/CD3E/CD3G/TRAC for NK, MS4A1 for plasma cells).
    """
    if not ct.subsets:
        return [], [], []
    from .subsets import load_subset_markers

    markers = load_subset_markers()
    by = {s.name: s for s in markers.subsets}
    unknown = [n for n in ct.subsets if n not in by]
    if unknown:  # pragma: no cover - guarded by tests on the shipped files
        msg = f"cell type {ct.name!r}: unknown subset(s) {unknown} in subsets.yaml."
        raise ValueError(msg)
    own = [by[n] for n in ct.subsets]
    raised = list(dict.fromkeys(g for s in own for g in s.genes))
    silence = list(dict.fromkeys(g for s in own for g in s.negative))
    siblings = []
    for s in own:
        pool = (
            [x for x in markers.of_lineage(s.lineage) if x.parent is None]
            if s.parent is None
            else markers.children(s.parent)
        )
        siblings += [x for x in pool if x.name not in ct.subsets]
    own_genes = set(raised)
    cap = list(dict.fromkeys(g for x in siblings for g in x.genes if g not in own_genes))
    return raised, cap, silence


@dataclass(frozen=True)
class Program:
    """A program planted in some cells.

    Parameters
    ----------
    name : str
        Identifier (``obs["planted_<name>"]``).
    genes : tuple of str
        Genes multiplied by ``fold`` (genes absent from the simulated genes are dropped).
    cell_types : tuple of str
        Cell types it is planted in.
    fold : float
        Fold change of the genes' mean (< 1 for loss).
    response : str, optional
        ``"R"`` or ``"NR"``: only in patients with that response; None for both.
    timepoint : str, optional
        ``"pre"`` or ``"post"``; None for both.
    fraction : float
        Fraction of eligible cells carrying it.
    clone : str, optional
        Label written to ``obs["clone"]`` for the carrying cells (a tumour clone).
    """

    name: str
    genes: tuple[str, ...]
    cell_types: tuple[str, ...]
    fold: float
    response: str | None = None
    timepoint: str | None = None
    fraction: float = 1.0
    clone: str | None = None


def _library_genes(name: str) -> tuple[str, ...]:
    return next(gs.genes for gs in load_library() if gs.name == name)


def _default_programs() -> tuple[Program, ...]:
    return (
        Program(
            "exhaustion_cd8_nr",
            _library_genes("tcell_exhaustion"),
            ("CD8_T",),
            4.0,
            response="NR",
            fraction=0.7,
        ),
        Program(
            "slc7a11_m2_macrophage_nr",
            _library_genes("slc7a11_xct") + _library_genes("m2_tam"),
            ("macrophage",),
            3.0,
            response="NR",
            fraction=0.7,
        ),
        Program(
            "apm_low_clone",
            _library_genes("b2m_mhc1_apm"),
            ("malignant",),
            0.15,
            response="NR",
            fraction=0.5,
            clone="apm_low",
        ),
    )


#: Default planted programs (see the module docstring).
DEFAULT_PROGRAMS: tuple[Program, ...] = _default_programs()

_N_LEVELS = 16
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@dataclass
class Simulation:
    """Everything needed to generate the counts of a simulated dataset, chunk by chunk.

    Attributes
    ----------
    obs : DataFrame
        Cells with their truth columns.
    var : DataFrame
        Genes (index: symbols; ``source``: library, marker or filler).
    uns : dict
        ``uns["simulation"]``: parameters, programs, cell types.
    profiles : ndarray, states × genes
        Expression profile of each state (cell type × active programs).
    state : ndarray of int64
        State of each cell.
    level : ndarray of int64
        Depth level of each cell.
    depths : ndarray of float64
        Library size of each depth level.
    dispersion : float
        NB dispersion ``phi``.
    seed : int
        Seed of the count streams.
    """

    obs: pd.DataFrame
    var: pd.DataFrame
    uns: dict
    profiles: np.ndarray
    state: np.ndarray
    level: np.ndarray
    depths: np.ndarray
    dispersion: float
    seed: int
    _p0: np.ndarray = field(default=None, repr=False)
    _cap: np.ndarray = field(default=None, repr=False)

    @property
    def n_obs(self) -> int:
        """Number of cells."""
        return len(self.obs)

    @property
    def n_vars(self) -> int:
        """Number of genes."""
        return len(self.var)

    def _tables(self) -> tuple[np.ndarray, np.ndarray]:
        if self._p0 is None:
            r = 1.0 / self.dispersion
            mu = self.depths[None, :, None] * self.profiles[:, None, :]
            p0 = np.exp(-r * np.log1p(mu * self.dispersion))
            expected = (1.0 - p0).sum(axis=2)
            self._p0 = p0.astype(np.float64)
            self._cap = np.ceil(expected + 10.0 * np.sqrt(expected) + 64.0).astype(np.int64)
        return self._p0, self._cap

    def counts(self, start: int, stop: int) -> sp.csr_matrix:
        """Counts of cells ``start:stop`` (CSR, float32)."""
        p0, cap = self._tables()
        state = self.state[start:stop]
        level = self.level[start:stop]
        caps = cap[state, level]
        offsets = np.zeros(len(caps) + 1, dtype=np.int64)
        np.cumsum(caps, out=offsets[1:])
        indices = np.empty(offsets[-1], dtype=np.int32)
        data = np.empty(offsets[-1], dtype=np.float32)
        lengths = np.zeros(len(caps), dtype=np.int64)
        _nb_rows(
            np.int64(start),
            state,
            level,
            self.profiles,
            self.depths,
            p0,
            1.0 / self.dispersion,
            np.uint64(self.seed),
            offsets,
            indices,
            data,
            lengths,
        )
        if (lengths > caps).any():  # pragma: no cover - 10-sd bound
            msg = "internal buffer overflow while simulating; lower the depth or report a bug."
            raise RuntimeError(msg)
        indptr = np.zeros(len(caps) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        mask = np.zeros(offsets[-1], dtype=bool)
        _mark(offsets, lengths, mask)
        return sp.csr_matrix((data[mask], indices[mask], indptr), shape=(stop - start, self.n_vars))

    def chunks(self, *, chunk_size: int = 20_000, lognorm: bool = False) -> Iterator[sp.csr_matrix]:
        """Yield the matrix chunk by chunk (counts, or ``log1p`` of counts per 10,000)."""
        for start in range(0, self.n_obs, chunk_size):
            block = self.counts(start, min(start + chunk_size, self.n_obs))
            yield _lognorm(block) if lognorm else block


@numba.njit(cache=True)
def _mark(offsets, lengths, mask):  # pragma: no cover - numba
    for i in range(lengths.shape[0]):
        for j in range(offsets[i], offsets[i] + lengths[i]):
            mask[j] = True


@numba.njit(inline="always")
def _next(s):  # pragma: no cover - numba
    s = s + np.uint64(0x9E3779B97F4A7C15)
    z = s
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return s, (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(parallel=True, cache=True)
def _nb_rows(  # pragma: no cover - numba
    start, state, level, profiles, depths, p0, r, seed, offsets, indices, data, lengths
):
    n_rows = state.shape[0]
    n_genes = profiles.shape[1]
    for i in numba.prange(n_rows):
        s = (seed * np.uint64(0xD1B54A32D192ED03)) ^ (
            np.uint64(start + i) * np.uint64(0x9E3779B97F4A7C15)
        )
        st = state[i]
        lv = level[i]
        depth = depths[lv]
        pos = offsets[i]
        for g in range(n_genes):
            s, u = _next(s)
            q0 = p0[st, lv, g]
            if u < q0:
                continue
            mu = depth * profiles[st, g]
            q = mu / (r + mu)
            pk = q0
            cdf = q0
            k = 0
            while u >= cdf and pk > 1e-300 and k < 1_000_000:
                pk = pk * (k + r) / (k + 1) * q
                k += 1
                cdf += pk
            if k > 0:
                if pos < offsets[i + 1]:
                    indices[pos] = g
                    data[pos] = k
                pos += 1
        lengths[i] = pos - offsets[i]


def _lognorm(block: sp.csr_matrix) -> sp.csr_matrix:
    """``log1p`` of counts scaled to 10,000 per cell (as ``normalize_total`` + ``log1p``)."""
    out = block.astype(np.float32, copy=True)
    totals = np.asarray(out.sum(axis=1)).ravel()
    scale = np.divide(1e4, totals, out=np.zeros_like(totals), where=totals > 0)
    out.data *= np.repeat(scale, np.diff(out.indptr)).astype(np.float32)
    np.log1p(out.data, out=out.data)
    return out


def _gene_universe(n_genes: int, rng: np.random.Generator) -> pd.DataFrame:
    table = pd.read_csv(GENE_TABLE, sep="\t", usecols=["gene_name", "biotype"])
    table = table.drop_duplicates("gene_name")
    library = sorted({g for gs in load_library() for g in gs.genes})
    markers = load_markers()
    marker_genes = sorted({g for genes in markers.values() for g in genes})
    identity = sorted({g for ct in CELL_TYPES for g in ct.identity})
    core = list(dict.fromkeys(library + marker_genes + identity + _subset_genes()))
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


def design(
    n_cells: int = 5_000,
    *,
    n_genes: int = 20_000,
    n_patients: int = 8,
    programs: Sequence[Program] | None = None,
    mean_depth: float = 4_000.0,
    depth_sd: float = 0.4,
    dispersion: float = 0.2,
    seed: int = 0,
) -> Simulation:
    """Lay out a simulated dataset (cells, genes, profiles) without generating counts.

    Parameters
    ----------
    n_cells
        Number of cells (1,000 to 1,000,000 and more; only ``obs`` is held per cell).
    n_genes
        Number of genes (at least the library, marker, subset-marker and identity genes,
        ~950).
    n_patients
        Patients (even number preferred): half responders (``R``), half non-responders
        (``NR``), each with a ``pre`` and a ``post`` sample.
    programs
        Programs to plant; default :data:`DEFAULT_PROGRAMS`; ``()`` for the null mode.
    mean_depth
        Median library size (UMIs per cell).
    depth_sd
        Standard deviation of log library size.
    dispersion
        NB dispersion ``phi``.
    seed
        Seed: the whole dataset is a function of it.

    Returns
    -------
    Simulation
        Call :meth:`Simulation.chunks` / :func:`simulate` / :func:`write_h5ad_chunked`.
    """
    if n_cells < 1 or n_patients < 2:
        msg = f"need n_cells >= 1 and n_patients >= 2, got {n_cells} and {n_patients}."
        raise ValueError(msg)
    if dispersion <= 0:
        msg = f"dispersion must be > 0, got {dispersion}; 0.2 is typical of UMI data."
        raise ValueError(msg)
    programs = tuple(DEFAULT_PROGRAMS if programs is None else programs)
    type_names = [ct.name for ct in CELL_TYPES]
    for prog in programs:
        unknown = [t for t in prog.cell_types if t not in type_names]
        if unknown:
            msg = f"program '{prog.name}': unknown cell type(s) {unknown}; use {type_names}."
            raise ValueError(msg)
    rng = np.random.default_rng(seed)
    var = _gene_universe(n_genes, rng)
    genes = var.index
    gidx = {g: i for i, g in enumerate(genes)}
    markers = load_markers()

    # --- profiles per cell type
    base = rng.lognormal(mean=0.0, sigma=1.9, size=n_genes)
    high = np.quantile(base, 0.997)
    mid = np.quantile(base, 0.90)
    low = np.quantile(base, 0.50)
    srng = np.random.default_rng([seed, 1])  # subset-gene draws: own stream
    type_profiles = np.empty((len(CELL_TYPES), n_genes))
    for k, ct in enumerate(CELL_TYPES):
        w = base.copy()
        shifted = rng.random(n_genes) < 0.10
        w[shifted] *= rng.lognormal(0.0, 1.0, size=int(shifted.sum()))
        for comp, mgenes in markers.items():
            idx = [gidx[g] for g in mgenes if g in gidx]
            if comp == ct.compartment:
                w[idx] = high * rng.lognormal(0.0, 0.3, size=len(idx))
            else:
                w[idx] *= 0.01
        raised, capped, silenced = _subset_plan(ct)
        comp_genes = set(markers.get(ct.compartment, ()))
        idx = [gidx[g] for g in raised if g in gidx and g not in comp_genes]
        w[idx] = np.maximum(w[idx], mid * srng.lognormal(0.0, 0.3, size=len(idx)))
        # siblings' specific genes: compartment markers stay detectable (``mid``), others
        # drop to the median baseline level
        idx = [gidx[g] for g in capped if g in gidx]
        cap = np.array([mid if g in comp_genes else low for g in capped if g in gidx])
        w[idx] = np.minimum(w[idx], cap)
        idx = [gidx[g] for g in ct.identity if g in gidx]
        w[idx] = high * 1.5 * rng.lognormal(0.0, 0.3, size=len(idx))
        idx = [gidx[g] for g in silenced if g in gidx]
        w[idx] = base[idx] * 0.01
        for prog in programs:  # program genes are detectable in the target types
            if ct.name in prog.cell_types:
                idx = [gidx[g] for g in prog.genes if g in gidx]
                w[idx] = np.maximum(w[idx], mid * rng.lognormal(0.0, 0.3, size=len(idx)))
        type_profiles[k] = w

    # --- cells
    patients = np.array([f"P{i + 1:02d}" for i in range(n_patients)])
    response = np.where(np.arange(n_patients) % 2 == 0, "R", "NR")
    samples = [(p, r, t) for p, r in zip(patients, response, strict=True) for t in ("pre", "post")]
    props = rng.dirichlet(np.array([ct.weight for ct in CELL_TYPES]) * 50.0, size=len(samples))
    sample_of = rng.integers(0, len(samples), size=n_cells)
    sample_of.sort()
    cum = np.cumsum(props, axis=1)
    u = rng.random(n_cells)
    ctype = np.minimum((u[:, None] > cum[sample_of]).sum(axis=1), len(CELL_TYPES) - 1)
    obs = pd.DataFrame(
        {
            "cell_type": pd.Categorical.from_codes(ctype, type_names),
            "compartment": pd.Categorical(np.array([ct.compartment for ct in CELL_TYPES])[ctype]),
            "patient": pd.Categorical(np.array([s[0] for s in samples])[sample_of]),
            "sample": pd.Categorical(np.array([f"{s[0]}_{s[2]}" for s in samples])[sample_of]),
            "response": pd.Categorical(np.array([s[1] for s in samples])[sample_of], ["R", "NR"]),
            "timepoint": pd.Categorical(
                np.array([s[2] for s in samples])[sample_of], ["pre", "post"]
            ),
        },
        index=pd.Index([f"cell{i:07d}" for i in range(n_cells)], name="cell"),
    )
    obs["condition"] = pd.Categorical(
        obs["response"].astype(str) + "_" + obs["timepoint"].astype(str)
    )
    clone = np.where(ctype == type_names.index("malignant"), "main", "")
    active = np.zeros((n_cells, len(programs)), dtype=bool)
    for j, prog in enumerate(programs):
        ok = np.isin(ctype, [type_names.index(t) for t in prog.cell_types])
        if prog.response is not None:
            ok &= obs["response"].to_numpy() == prog.response
        if prog.timepoint is not None:
            ok &= obs["timepoint"].to_numpy() == prog.timepoint
        active[:, j] = ok & (rng.random(n_cells) < prog.fraction)
        obs[f"planted_{prog.name}"] = active[:, j]
        if prog.clone is not None:
            clone[active[:, j]] = prog.clone
    obs["clone"] = pd.Categorical(clone)

    # --- states: cell type x active programs
    key = ctype.astype(np.int64)
    for j in range(len(programs)):
        key = key * 2 + active[:, j]
    uniq, state = np.unique(key, return_inverse=True)
    profiles = np.empty((len(uniq), n_genes))
    for s_id, k_ in enumerate(uniq):
        bits = [(int(k_) >> (len(programs) - 1 - j)) & 1 for j in range(len(programs))]
        t = int(k_) >> len(programs)
        w = type_profiles[t].copy()
        for j, prog in enumerate(programs):
            if bits[j]:
                idx = [gidx[g] for g in prog.genes if g in gidx]
                w[idx] *= prog.fold
        profiles[s_id] = w / w.sum()

    # --- depth levels (equal-probability log-normal levels)
    from scipy.stats import norm

    z = norm.ppf((np.arange(_N_LEVELS) + 0.5) / _N_LEVELS)
    depths = mean_depth * np.exp(depth_sd * z)
    level = rng.integers(0, _N_LEVELS, size=n_cells)
    obs["depth"] = depths[level].astype(np.float32)

    uns = {
        "simulation": {
            "seed": int(seed),
            "n_genes": int(n_genes),
            "n_patients": int(n_patients),
            "mean_depth": float(mean_depth),
            "depth_sd": float(depth_sd),
            "dispersion": float(dispersion),
            "null": len(programs) == 0,
            "cell_types": {ct.name: ct.compartment for ct in CELL_TYPES},
            "programs": {
                p.name: {
                    "genes": [g for g in p.genes if g in gidx],
                    "cell_types": list(p.cell_types),
                    "fold": float(p.fold),
                    "response": p.response or "any",
                    "timepoint": p.timepoint or "any",
                    "fraction": float(p.fraction),
                    "clone": p.clone or "",
                }
                for p in programs
            },
        }
    }
    return Simulation(
        obs=obs,
        var=var,
        uns=uns,
        profiles=profiles,
        state=state.astype(np.int64),
        level=level.astype(np.int64),
        depths=depths,
        dispersion=float(dispersion),
        seed=int(seed),
    )


def simulate(
    n_cells: int = 5_000,
    *,
    lognorm: bool = False,
    chunk_size: int = 20_000,
    **kwargs,
) -> ad.AnnData:
    """Simulate an in-memory AnnData (CSR, float32).

    Parameters
    ----------
    n_cells
        Number of cells.
    lognorm
        False: ``X`` holds counts. True: ``X`` holds ``log1p`` of counts per 10,000 and
        ``layers["counts"]`` the counts.
    chunk_size
        Cells generated at a time.
    **kwargs
        Passed to :func:`design` (``n_genes``, ``n_patients``, ``programs``, ``seed``...).

    Returns
    -------
    AnnData
        Cells × genes with the truth in ``obs`` and ``uns["simulation"]``.
    """
    sim = design(n_cells, **kwargs)
    counts = sp.vstack(list(sim.chunks(chunk_size=chunk_size)), format="csr")
    adata = ad.AnnData(X=counts, obs=sim.obs.copy(), var=sim.var.copy(), uns=sim.uns)
    if lognorm:
        adata.layers["counts"] = counts
        adata.X = _lognorm(counts)
    return adata


def write_h5ad_chunked(
    path: str | Path,
    n_cells: int,
    *,
    lognorm: bool = True,
    chunk_size: int = 20_000,
    **kwargs,
) -> Path:
    """Write a simulated dataset to an h5ad file chunk by chunk (bounded memory).

    ``obs``, ``var`` and ``uns`` are written first, then ``X`` as a CSR group whose
    datasets are extended chunk by chunk (:func:`anndata.io.sparse_dataset` ``append``),
    so peak memory is one chunk plus ``obs`` whatever ``n_cells``.

    Parameters
    ----------
    path
        Output ``.h5ad``.
    n_cells
        Number of cells.
    lognorm
        True (default): ``X`` is ``log1p`` of counts per 10,000; False: counts.
    chunk_size
        Cells generated and written at a time.
    **kwargs
        Passed to :func:`design`.

    Returns
    -------
    Path
        The written file; ``anndata.read_h5ad(path, backed="r")`` opens it.
    """
    path = Path(path)
    sim = design(n_cells, **kwargs)
    shell = ad.AnnData(obs=sim.obs, var=sim.var, uns=sim.uns)
    shell.uns["simulation"]["x"] = "lognorm" if lognorm else "counts"
    shell.write_h5ad(path)
    with h5py.File(path, "a") as handle:
        if "X" in handle:
            del handle["X"]
        first = True
        for block in sim.chunks(chunk_size=chunk_size, lognorm=lognorm):
            if first:
                # anndata creates the CSR datasets resizable (maxshape=(None,))
                ad.io.write_elem(handle, "X", block)
                target = ad.io.sparse_dataset(handle["X"])
                first = False
            else:
                target.append(block)
    return path
