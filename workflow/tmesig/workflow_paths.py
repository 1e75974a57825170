"""Every file the workflow names, spelled once: results, report figures, logs, targets.

The rules write ``paths.clustered`` (``results/{dataset}/clustered.h5ad``), ``paths.log("qc")``
and so on; rule ``all`` and the end-to-end tests take :meth:`WorkflowPaths.targets`. Paths
are relative to the working directory, except the shipped resources.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .io.errors import InputError
from .io.fetch import sha256sum
from .io.urls import is_url, url_format
from .paths import HALLMARK_GMT, MARKERS_DIR, SIGNATURES_DIR

__all__ = ["WorkflowPaths"]

_DS = "results/{dataset}"
_FIG = f"{_DS}/report"
_TAB = f"{_DS}/tables"

#: Per-dataset files (attribute names of :class:`WorkflowPaths`) by the rule that writes them.
_BY_RULE: dict[str, tuple[str, ...]] = {
    "ingest": ("ingested", "ingest_summary"),
    "qc": ("qc_metrics", "qc_summary"),
    "cluster": ("clustered",),
    "umap": ("umap",),  # the UMAP coordinates: beside annotation and scoring, not before them
    "annotate": (
        "annotation_lineages",
        "annotation_clusters",
        "label_agreement",
        "celltypist_agreement",
        "annotation_markers",
    ),
    # sub-clustering and copy number run side by side; states joins them
    "subsets": ("annotation_subclusters",),
    "cnv": ("cnv_heatmap", "cnv_scatter"),
    "subset_figures": (
        "umap_subsets",
        "subset_markers",
        "annotation_confidence",
        "umap_malignancy",
    ),
    # the final per-cell tables: subsets with malignant cells, lineage + cell state
    "states": ("annotation", "annotation_subsets"),
    "score": ("scores", "coverage"),
    "genes": ("genes", "dotplot_genes_levels"),
    "flag": ("compartments", "flags"),
    "figures": (
        "umap_compartment",
        "umap_scores",
        "dotplot_card_genes",
        "heatmap_compartment_sets",
        "heatmap_states",
        "qc_violin",
        "umap_samples",
    ),
    "conditions": ("conditions",),
    "composition": ("composition", "composition_by_patient", "composition_plot"),
    # figures: only for datasets whose sheet row names a condition column (see `conditioned`)
    "forest": ("forest_conditions",),
    "enrichment": ("enrichment",),
    "de": ("de_conditions", "enrichment_conditions"),
    "summary": ("summary_html", "summary_md", "patients", "patients_figures"),
    # the report's tables as sortable HTML pages (names: tmesig.tables.SPECS, prefixed)
    "tables": (
        "table_qc_summary",
        "table_compartment_counts",
        "table_annotation_clusters",
        "table_label_agreement",
        "table_celltypist_agreement",
        "table_subset_counts",
        "table_annotation_subclusters",
        "table_coverage",
        "table_genes",
        "table_flags",
        "table_compartments",
        "table_conditions",
        "table_composition",
        "table_enrichment",
        "table_de_conditions",
        "table_enrichment_conditions",
    ),
}
#: Per-dataset targets of rule ``all``: the core results, then the analysis stages.
_CORE_TARGETS = ("flags", "compartments", "coverage", *_BY_RULE["figures"])
_ANALYSIS_TARGETS = (
    "conditions",
    "composition",
    "enrichment",
    "de_conditions",
    "enrichment_conditions",
    "forest_conditions",
    "composition_plot",
    "label_agreement",
    "genes",
    "dotplot_genes_levels",
)
_SUBSET_TARGETS = ("annotation_subsets", "umap_subsets", "cnv_heatmap", "umap_malignancy")
#: Files written only when the subset stage runs (``subsets.enabled``).
_SUBSET_ONLY = {"annotation_subsets", *_BY_RULE["subsets"], *_BY_RULE["cnv"]}
_SUBSET_ONLY |= set(_BY_RULE["subset_figures"])
_TABLE_TARGETS = _BY_RULE["tables"]


def _check_model_sha256(model: str, expected: str | None) -> None:
    """A CellTypist model is a pickle: require its SHA-256 in the config and check it."""
    if not expected:
        raise InputError(
            f"annotate.celltypist_sha256: missing; it is required with annotate.celltypist_model "
            f"({model}), because a CellTypist model is a pickle, which can run code when it is "
            "loaded. Fix: check that the model comes from a source you trust, then set "
            f"annotate.celltypist_sha256 to its digest (sha256sum {model})"
        )
    digest = sha256sum(model)
    if digest != expected.lower():
        raise InputError(
            f"annotate.celltypist_sha256: sha256 mismatch for {model} (the config says "
            f"{expected.lower()}, the file is {digest}); the model was not loaded. Fix: check "
            "that the file is the model you meant and correct annotate.celltypist_sha256"
        )


@dataclass(frozen=True)
class WorkflowPaths:
    """The named files of a run: per-dataset results (templates with ``{dataset}``), the
    signature library, logs, benchmarks, the resources the rules read, and the targets.

    Attributes
    ----------
    datasets
        Dataset ids of the sample sheet, in its order.
    subsets
        Whether the subset stage runs (``subsets.enabled``): its files are targets.
    sources
        Dataset id -> the sheet's ``path`` (local file(s) separated by ',', or one URL).
    sheet
        The sample sheet, named in messages.
    markers_yaml, subset_markers_yaml, signatures_dir, hallmark_gmt
        Compartment markers, subset markers, gene-set folder and Hallmark GMT (configured
        paths, else the shipped resources).
    seeds_table
        The seed reviews (citation, DOI) the gene sets' provenance names.
    celltypist_model
        A local CellTypist model, or ``None``.
    conditioned
        Datasets whose sheet row names a ``condition_col``: only they get the forest plot.
    """

    datasets: tuple[str, ...] = ()
    subsets: bool = True
    sources: Mapping[str, str] = field(default_factory=dict)
    sheet: str = "config/samples.tsv"
    markers_yaml: str = str(MARKERS_DIR / "compartments.yaml")
    subset_markers_yaml: str = str(MARKERS_DIR / "subsets.yaml")
    signatures_dir: str = str(SIGNATURES_DIR)
    hallmark_gmt: str = str(HALLMARK_GMT)
    seeds_table: str = str(SIGNATURES_DIR / "seeds.tsv")
    celltypist_model: str | None = None
    conditioned: tuple[str, ...] = ()

    # the signature library (no dataset)
    library_gmt = "results/signatures/tmesig.gmt"
    library_table = "results/signatures/library.tsv"
    # a dataset given as a URL, downloaded
    download = "resources/downloads/{dataset}.{ext}"
    # ingest, qc, cluster
    ingested = f"{_DS}/ingested.h5ad"
    ingest_summary = f"{_DS}/ingest_summary.json"
    qc_metrics = f"{_DS}/qc_metrics.tsv"
    qc_summary = f"{_DS}/qc_summary.tsv"
    # scattered doublet screening (datasets of scatter.min_cells or more): plan, jobs' tables
    qc_plan = f"{_DS}/qc/plan.tsv"
    qc_doublets = f"{_DS}/qc/doublets_{{job}}.parquet"
    clustered = f"{_DS}/clustered.h5ad"
    umap = f"{_DS}/umap.tsv"
    # annotate (lineages), states (the final per-cell table: lineage and cell state)
    annotation_lineages = f"{_DS}/annotation_lineages.tsv"
    annotation = f"{_DS}/annotation.tsv"
    annotation_clusters = f"{_DS}/annotation_clusters.tsv"
    label_agreement = f"{_DS}/label_agreement.tsv"
    celltypist_agreement = f"{_DS}/celltypist_agreement.tsv"
    annotation_markers = f"{_DS}/annotation_markers.tsv"
    # subsets: the sub-clustering's and the copy-number calls (joined by rule states)
    subset_calls = f"{_DS}/subsets/subset_calls.parquet"
    cnv_calls = f"{_DS}/subsets/cnv_calls.parquet"
    annotation_subsets = f"{_DS}/annotation_subsets.tsv"
    annotation_subclusters = f"{_DS}/annotation_subclusters.tsv"
    umap_subsets = f"{_FIG}/umap_subsets.png"
    subset_markers = f"{_FIG}/subset_markers.png"
    annotation_confidence = f"{_FIG}/annotation_confidence.png"
    cnv_heatmap = f"{_FIG}/cnv_heatmap.png"
    cnv_scatter = f"{_FIG}/cnv_scatter.png"
    scores = f"{_DS}/scores.parquet"
    coverage = f"{_DS}/coverage.tsv"
    # scattered scoring (datasets of scatter.min_cells or more): plan, gene statistics, blocks
    score_plan = f"{_DS}/score/plan.tsv"
    score_stats = f"{_DS}/score/gene_stats.npz"
    score_coverage = f"{_DS}/score/coverage.tsv"
    score_chunk = f"{_DS}/score/chunk_{{chunk}}.parquet"
    # genes: card genes and the genes of small or spanning sets, by lineage and state
    genes = f"{_DS}/genes.tsv"
    dotplot_genes_levels = f"{_FIG}/dotplot_genes_levels.png"
    compartments = f"{_DS}/compartments.tsv"
    flags = f"{_DS}/flags.tsv"
    umap_compartment = f"{_FIG}/umap_compartment.png"
    umap_scores = f"{_FIG}/umap_scores.png"
    dotplot_card_genes = f"{_FIG}/dotplot_card_genes.png"
    heatmap_compartment_sets = f"{_FIG}/heatmap_compartment_sets.png"
    heatmap_states = f"{_FIG}/heatmap_states.png"
    qc_violin = f"{_FIG}/qc_violin.png"
    umap_samples = f"{_FIG}/umap_samples.png"
    umap_malignancy = f"{_FIG}/umap_malignancy.png"
    # conditions, enrichment
    conditions = f"{_DS}/conditions.tsv"
    composition = f"{_DS}/composition.tsv"
    composition_by_patient = f"{_DS}/composition_by_patient.tsv"
    forest_conditions = f"{_FIG}/forest_conditions.png"
    composition_plot = f"{_FIG}/composition_by_patient.png"
    enrichment = f"{_DS}/enrichment.tsv"
    # de: gene-level condition comparison (pseudobulk + pydeseq2) and its prerank
    de_conditions = f"{_DS}/de_conditions.tsv"
    enrichment_conditions = f"{_DS}/enrichment_conditions.tsv"
    # findings (rule summary): page, per-patient table, folder of the per-patient heatmap
    # (empty below 3 patients); across datasets (rule cross_dataset, 2 or more datasets)
    summary_html = f"{_DS}/summary.html"
    summary_md = f"{_DS}/summary.md"
    patients = f"{_DS}/patients.tsv"
    patients_figures = f"{_FIG}/patients"
    cross_table = "results/summary/flags_by_dataset.tsv"
    cross_heatmap = "results/summary/heatmap_sets_by_dataset.png"
    cross_html = "results/summary/summary.html"
    cross_log = "logs/cross_dataset.log"
    # the report's home text, rebuilt from the findings pages whenever the workflow is parsed
    report_home_rst = ".snakemake/tmesig/report_home.rst"
    cross_benchmark = "logs/cross_dataset.benchmark.tsv"
    # tables: one sortable HTML page per table of the report (rule tables)
    table_qc_summary = f"{_TAB}/qc_summary.html"
    table_compartment_counts = f"{_TAB}/compartment_counts.html"
    table_annotation_clusters = f"{_TAB}/annotation_clusters.html"
    table_label_agreement = f"{_TAB}/label_agreement.html"
    table_celltypist_agreement = f"{_TAB}/celltypist_agreement.html"
    table_subset_counts = f"{_TAB}/subset_counts.html"
    table_annotation_subclusters = f"{_TAB}/annotation_subclusters.html"
    table_coverage = f"{_TAB}/coverage.html"
    table_flags = f"{_TAB}/flags.html"
    table_compartments = f"{_TAB}/compartments.html"
    table_conditions = f"{_TAB}/conditions.html"
    table_composition = f"{_TAB}/composition.html"
    table_enrichment = f"{_TAB}/enrichment.html"
    table_genes = f"{_TAB}/genes.html"
    table_de_conditions = f"{_TAB}/de_conditions.html"
    table_enrichment_conditions = f"{_TAB}/enrichment_conditions.html"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], samples: Any) -> "WorkflowPaths":
        """The paths of a checked configuration and its sample sheet.

        Parameters
        ----------
        config
            The configuration after :func:`tmesig.sheet.check_config`.
        samples
            The sheet from :func:`tmesig.sheet.read_sheet` (indexed by dataset).

        Returns
        -------
        The paths object the rules use.

        Raises
        ------
        InputError
            ``annotate.celltypist_model`` names a file that does not exist, or its
            ``annotate.celltypist_sha256`` is missing or not the file's digest.
        """
        model = config["annotate"]["celltypist_model"]
        if model and not os.path.isfile(model):
            raise InputError(
                f"annotate.celltypist_model: {model} is not a file (paths are relative to the "
                "working directory). tmesig never downloads CellTypist models. Fix: point it at a "
                "local .pkl model (e.g. one saved by celltypist.models.download_models on a "
                "connected machine) or set it to null"
            )
        if model:
            _check_model_sha256(model, config["annotate"].get("celltypist_sha256"))
        defaults = cls()
        return cls(
            datasets=tuple(samples.index),
            subsets=bool(config["subsets"]["enabled"]),
            sources={ds: str(p) for ds, p in samples["path"].items()},
            sheet=str(config["samples"]),
            markers_yaml=config["annotate"]["markers"] or defaults.markers_yaml,
            subset_markers_yaml=config["subsets"]["markers"] or defaults.subset_markers_yaml,
            signatures_dir=config["signatures"]["directory"] or defaults.signatures_dir,
            celltypist_model=model or None,
            conditioned=tuple(
                ds for ds, col in samples.get("condition_col", {}).items() if str(col).strip()
            ),
        )

    def report_home(self, description: str) -> str:
        """The report's home text: every dataset's findings page that exists, then ``description``.

        Parameters
        ----------
        description
            The workflow description (``workflow/report/workflow.rst``).
        """
        from .findings import report_home

        pages = [self.summary_html.format(dataset=ds) for ds in self.datasets]
        return report_home(description, pages, self.report_home_rst)

    @property
    def signature_files(self) -> list[str]:
        """The gene-set YAML files of :attr:`signatures_dir`, sorted."""
        return sorted(str(p) for p in Path(self.signatures_dir).glob("*.yaml"))

    @staticmethod
    def log(stage: str) -> str:
        """Log file of a per-dataset rule, e.g. ``logs/{dataset}/qc.log``.

        Parameters
        ----------
        stage
            The rule name (``download.{ext}`` for downloads); ``signatures`` has no dataset.
        """
        return "logs/signatures.log" if stage == "signatures" else f"logs/{{dataset}}/{stage}.log"

    @staticmethod
    def benchmark(stage: str) -> str:
        """Benchmark table of a rule, e.g. ``logs/{dataset}/qc.benchmark.tsv``.

        Parameters
        ----------
        stage
            As for :meth:`log`.
        """
        return WorkflowPaths.log(stage).removesuffix(".log") + ".benchmark.tsv"

    def inputs(self, dataset: str, *, check: bool = False) -> list[str]:
        """The local file(s) of a dataset: its sheet paths, or the download of its URL.

        Parameters
        ----------
        dataset
            A dataset id of the sheet.
        check
            Refuse local files that do not exist.

        Raises
        ------
        InputError
            With ``check``: a local file named in the sheet does not exist.
        """
        source = self.sources[dataset].strip()
        if is_url(source):
            return [self.download.format(dataset=dataset, ext=url_format(source))]
        files = [x.strip() for x in source.split(",") if x.strip()]
        missing = [f for f in files if not os.path.exists(f)] if check else []
        if missing:
            raise InputError(
                f"{self.sheet}: dataset {dataset!r}: file not found: {', '.join(missing)} "
                f"(paths are relative to the working directory {os.getcwd()}). Fix: correct the "
                "'path' column of the sample sheet or put the file there"
            )
        return files

    def dataset_outputs(self, dataset: str) -> list[str]:
        """Every result file of one dataset (the subset stage's only when it runs).

        Parameters
        ----------
        dataset
            A dataset id.
        """
        names = [n for ns in _BY_RULE.values() for n in ns if self.subsets or n not in _SUBSET_ONLY]
        if dataset not in self.conditioned:
            names = [n for n in names if n not in _BY_RULE["forest"]]
        return [getattr(self, n).format(dataset=dataset) for n in names]

    def targets(self) -> list[str]:
        """The targets of rule ``all``: the library, each dataset's results and figures, its
        findings page, and with two or more datasets the cross-dataset summary."""
        out = [self.library_table, self.library_gmt]
        for ds in self.datasets:
            out += [getattr(self, n).format(dataset=ds) for n in _CORE_TARGETS]
        extra = _ANALYSIS_TARGETS + (_SUBSET_TARGETS if self.subsets else ()) + _TABLE_TARGETS
        for ds in self.datasets:
            names = [n for n in extra if ds in self.conditioned or n not in _BY_RULE["forest"]]
            out += [getattr(self, n).format(dataset=ds) for n in names]
        for ds in self.datasets:  # the findings pages, then the datasets side by side
            out += [getattr(self, n).format(dataset=ds) for n in _BY_RULE["summary"]]
        if len(self.datasets) >= 2:
            out += [self.cross_table, self.cross_heatmap, self.cross_html]
        return out
