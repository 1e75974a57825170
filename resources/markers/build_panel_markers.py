"""Build ``panel_markers.yaml``: broad per-lineage marker candidates for targeted panels.

A targeted panel (MERFISH, Xenium, CosMx: a few hundred genes) measures few of the markers
of ``compartments.yaml``. For panels, tmesig takes each lineage's markers from a broader
candidate list intersected with the panel. The list is built here, deterministically, from

1. ``compartments.yaml`` (every gene, in its lineage);
2. the pegasus marker files shipped beside it (``human_immune_cell_markers.json``,
   ``human_lung_cell_markers.json``; pegasuspy 1.10.2, BSD-3-Clause): the positive markers of
   the cell types mapped to a lineage in :data:`PEGASUS_TYPES`;
3. :data:`EXTRA`: well-established lineage markers missing from both (references below);

minus :data:`EXCLUDED` (genes that are broadly expressed, shared with another lineage,
ambient-prone or tumour-expressed; one reason each) and gene names that are not
protein-coding symbols (clone names, ``LINC``, antisense). The immunoglobulin constant genes
are kept for plasma cells although ambient-prone: the panel caller judges a marker by how
much more often a cluster detects it than the other cells, and a lineage with several
markers needs two of them (:class:`tmesig.annotate.PanelOptions` ``min_support``), so free
transcripts detected everywhere do not call plasma cells. A gene claimed by two lineages is
kept in the lineage of ``compartments.yaml`` if it is there, else dropped from both.

Run ``python resources/markers/build_panel_markers.py`` to rewrite the YAML,
``--check`` to compare (``tests/unit/annotate/test_panel_markers.py`` runs the check).
"""

import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
OUT = HERE / "panel_markers.yaml"

#: pegasus cell types (exact names in the JSON files) -> tmesig lineage.
PEGASUS_TYPES: dict[str, tuple[str, ...]] = {
    "T_NK": (
        "T cell",
        "CD4 Naive T cell",
        "CD4 TCM",
        "CD4 TEM",
        "T regulatory cell",
        "CD4 CTL",
        "T follicular helper cell",
        "CD8 Naive T cell",
        "CD8 TCM",
        "CD8 TEM",
        "MAIT",
        "Gamma-delta T cell",
        "Natural killer cell",
        "CD56-dim NK cell",
        "CD56-bright NK cell",
    ),
    "B_plasma": (
        "B cell",
        "Naive B cell",
        "Memory B cell",
        "Germinal Center B cell",
        "Plasma cell",
    ),
    "myeloid": (
        "CD14+ Monocyte",
        "CD16+ Monocyte",
        "CD1C+ dendritic cell",
        "CLEC9A+ dendritic cell",
        "Migratory dendritic cell",
        "Plasmacytoid dendritic cell",
        "Macrophage",
        "M1 macrophage",
        "M2 macrophage",
    ),
    "mast": ("Mast cell",),
    "neutrophil": ("Neutrophil",),
    "fibroblast": (
        "Fibroblast",
        "Adventitial fibroblast",
        "Alveolar fibroblast",
        "Lipofibroblast",
        "Myofibroblast",
        "Fibromyocyte",
        "Smooth muscle cell",
        "Airway smooth muscle cell",
        "Pericyte",
    ),
    "endothelial": (
        "Vascular endothelial cell",
        "EC artery",
        "EC vein",
        "EC bronchial vessel",
        "Aerocyte",
        "EC general capillary",
        "Lymphatic endothelial cell",
    ),
    "epithelial": (
        "Epithelial cell",
        "Alveolar type I cell",
        "Alveolar type II cell",
        "Basal cell",
        "Club cell",
        "Ciliated cell",
        "Goblet cell",
        "Ionocyte",
        "Plumonary neuroendocrine cell",
        "Submucosal gland serous cell",
    ),
}

#: Well-established lineage markers absent from compartments.yaml and the pegasus lists.
EXTRA: dict[str, tuple[str, ...]] = {
    "T_NK": (
        "CD5", "CD6", "LCK", "ZAP70", "ITK", "CD96", "TRBC1", "TRBC2", "TCF7", "CD28",
        "CD40LG", "KLRK1", "GZMK", "GZMH",
    ),
    "B_plasma": (
        "PAX5", "FCRL1", "FCRL5", "POU2AF1", "CR2", "IGHM",
        # immunoglobulin constant genes: the plasma-cell transcripts a panel most often
        # carries when it lacks MZB1/JCHAIN/CD79A; ambient-prone, so the caller's contrast
        # with the other cells (and its two-marker support) keeps free transcripts out
        "IGHG1", "IGHG2", "IGHG3", "IGHG4", "IGHA1", "IGHA2", "IGKC", "IGLC2", "IGLC3",
    ),
    "myeloid": ("ITGAX", "ITGAM", "MARCO", "SIGLEC1", "CD209", "SPI1", "CLEC7A", "CD86"),
    "mast": (),
    "neutrophil": ("CEACAM8",),
    "fibroblast": (
        "ACTA2", "THY1", "POSTN", "CTHRC1", "TAGLN", "RGS5", "COL6A1", "COL6A2", "FBN1",
    ),
    "endothelial": ("FLT1", "TEK", "ACKR1", "SELE", "ESAM", "ROBO4", "SOX17", "SOX18"),
    "epithelial": (
        "MUC1", "CEACAM5", "CEACAM6", "NAPSA", "SFTPB", "SFTPD", "SCGB1A1", "SCGB3A1",
        "FOXJ1", "KRT6A", "KRT14", "KRT20", "TACSTD2",
        # epithelial gene families (a panel often carries one or two of them and none of
        # the classic markers): keratins of simple and stratified epithelia (Moll et al.
        # 2008, doi:10.1007/s00418-008-0435-6), claudins of epithelial tight junctions,
        # mucins, and the epithelial-state genes of the EMT programme (Tan et al. 2014,
        # doi:10.15252/emmm.201404208: ESRP1/2, GRHL2, OVOL1/2, SPINT1/2, ST14, PRSS8, CRB3)
        "KRT1", "KRT2", "KRT3", "KRT4", "KRT5", "KRT6B", "KRT6C", "KRT9", "KRT10", "KRT12",
        "KRT13", "KRT15", "KRT16", "KRT17", "KRT23", "KRT24", "CLDN1", "MUC4", "MUC5AC",
        "MUC5B", "MUC16", "MUC20", "ESRP1", "ESRP2", "GRHL2", "OVOL1", "OVOL2", "SPINT1",
        "SPINT2", "ST14", "PRSS8", "CRB3",
    ),
}  # fmt: skip

#: Genes left out of every lineage, with the reason.
EXCLUDED: dict[str, str] = {
    **dict.fromkeys(
        (
            "ANXA2 LGALS1 TIMP1 AHNAK CD63 YWHAH LIMS1 SLC2A3 SOCS3 CD69 CRIP1 IFITM2 IFITM3 "
            "ASAH1 CTSB IFI27 MGP AREG RGS1 RGS2 SAMSN1 BMP2K CEBPD FSCN1 BIRC3 UGCG SLC8A1 "
            "G0S2 MLLT11 SEMA6A LONRF2 HOMER1 PWWP3B SPRY1 FASN EDN1 PRKG1 NRXN3 GPR65 DUSP2 "
            "DUSP4 STAM HACD1 FANK1 AGAP1 MTERF2 SH3RF2 RGS9 RGS17 ACTN1 FHIT LDLRAP1 PASK "
            "LPAR6 PTGER2 ANXA1 AIM2 IL4R PLPP5 BCL6 BCL7A ELL3 EML6 FANCA MYBL1 NEIL1 EPHB1 "
            "SMPD3 SCT CHPF ABCB9 PLAAT2 CAPG PRSS23 AKR1C3 ADGRG1 S100B SPON2 TBX2 ASCL2 "
            "CLEC11A APBA2 GPR183 LTB SPOCK2 ETV5 HEY1 EFNB2 B3GALNT1 EXPH5 EDNRB ABCB1 GPM6A"
        ).split(),
        "broadly expressed or not lineage-specific",
    ),
    **dict.fromkeys(
        "S100A8 S100A9 HBB HBA1".split(),
        "ambient-prone (free, abundant transcripts)",
    ),
    **dict.fromkeys(
        (
            "CD4 SELL CCR7 IL7R CD27 CD38 PRDM1 IRF4 SLAMF7 SDC1 CD83 LMO2 VCAN FCER1A CADM1 "
            "CCL19 CD40 SERPINF1 IL3RA TPM2 GZMB NCAM1 CXCL10 CXCL12 IGFBP3 IGFBP4 SERPINE2 "
            "CPE C7 IL1R1 PTGIS ABI3BP CYP1B1 COL15A1 HPGD CYP3A5 S100A3 IL1RL1 NTRK2 IL18R1 "
            "TFF3 PDPN LYVE1 ITM2A GJA4 NDUFA4L2 GPC3 FGFR4 KCNJ15 CD24 LAMP3 RTKN2"
        ).split(),
        "expressed by more than one lineage or by tumour cells",
    ),
}

#: Symbols that are not protein-coding genes of a panel (clone names, lncRNAs, antisense).
_NOT_PANEL = re.compile(r"^(A[CLP]\d{6}\.\d+|LINC\d+|.*-AS\d+|C\d+orf\d+)$")


def _pegasus_genes() -> dict[str, list[str]]:
    """Lineage -> positive markers of its pegasus cell types (file order, unique)."""
    wanted = {name: lin for lin, names in PEGASUS_TYPES.items() for name in names}
    found: dict[str, list[str]] = {lin: [] for lin in PEGASUS_TYPES}
    seen: set[str] = set()

    def walk(types: list[dict]) -> None:
        for ct in types:
            if ct["name"] in wanted:
                seen.add(ct["name"])
                for block in ct["markers"]:
                    for g in block["genes"]:
                        if g.endswith("+"):
                            found[wanted[ct["name"]]].append(g[:-1])
            walk(ct.get("subtypes", {}).get("cell_types", []))

    for name in ("human_immune_cell_markers.json", "human_lung_cell_markers.json"):
        walk(json.loads((HERE / name).read_text())["cell_types"])
    missing = sorted(set(wanted) - seen)
    if missing:
        raise SystemExit(f"pegasus cell types not found: {missing}")
    return {lin: list(dict.fromkeys(g)) for lin, g in found.items()}


def build() -> dict[str, list[str]]:
    """Lineage -> candidate markers (compartments.yaml first, then pegasus, then extras)."""
    core = yaml.safe_load((HERE / "compartments.yaml").read_text())["compartments"]
    core = {lin: list(entry["genes"]) for lin, entry in core.items()}
    pegasus = _pegasus_genes()
    owner = {g: lin for lin, genes in core.items() for g in genes}
    claims: dict[str, set[str]] = {}
    for lin in PEGASUS_TYPES:
        for g in [*pegasus[lin], *EXTRA[lin]]:
            claims.setdefault(g, set()).add(lin)
    out = {}
    for lin in PEGASUS_TYPES:
        genes = [g for g in core.get(lin, []) if g not in EXCLUDED]
        for g in [*pegasus[lin], *EXTRA[lin]]:
            if g in EXCLUDED or _NOT_PANEL.match(g) or g in genes:
                continue
            if owner.get(g, lin) != lin or (g not in owner and len(claims[g]) > 1):
                continue
            genes.append(g)
        out[lin] = genes
    return out


def render(markers: dict[str, list[str]]) -> str:
    """The YAML text (provenance, then ``compartments:`` in the load_markers format)."""
    head = (
        "# Broad per-lineage marker candidates for targeted panels (MERFISH, Xenium, CosMx).\n"
        "# GENERATED by resources/markers/build_panel_markers.py - edit the script, not this "
        "file.\n"
        "# tmesig.annotate.panel_markers intersects each list with the panel's genes.\n"
    )
    doc = {
        "provenance": {
            "description": (
                "compartments.yaml genes, plus the positive markers of the pegasus cell types "
                "mapped to each lineage (build_panel_markers.PEGASUS_TYPES), plus established "
                "markers (build_panel_markers.EXTRA), minus broadly expressed, shared, "
                "ambient-prone or tumour-expressed genes (build_panel_markers.EXCLUDED)"
            ),
            "pegasus_files": [
                "resources/markers/human_immune_cell_markers.json",
                "resources/markers/human_lung_cell_markers.json",
            ],
            "pegasus_version": "1.10.2",
            "pegasus_license": "BSD-3-Clause",
            "references": [
                "Travaglini KJ et al. Nature 587, 619-625 (2020). doi:10.1038/s41586-020-2922-4",
                "Zilionis R et al. Immunity 50, 1317-1334 (2019). doi:10.1016/j.immuni.2019.03.009",
                "Cheng S et al. Cell 184, 792-809 (2021). doi:10.1016/j.cell.2021.01.010",
            ],
        },
        "compartments": {
            lin: {"genes": genes, "source": "compartments.yaml + pegasus + established markers"}
            for lin, genes in markers.items()
        },
    }
    return head + yaml.safe_dump(doc, sort_keys=False, width=100)


def main(argv: list[str]) -> int:
    text = render(build())
    if "--check" in argv:
        same = OUT.exists() and OUT.read_text() == text
        print("panel_markers.yaml is up to date" if same else "panel_markers.yaml differs")
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
