"""Column definitions of the signature, flag, condition and enrichment tables."""

#: ``results/signatures/library.tsv``: one row per gene set.
LIBRARY = {
    "name": "gene-set id (the column name in scores and the 'set' of other tables)",
    "title": "gene set's title",
    "n_genes": "genes in the set",
    "direction": "up: high means resistance; down: low means resistance (e.g. antigen loss)",
    "direction_note": "where the direction differs by cancer type or is debated: the evidence",
    "compartments": "lineages and cell states where the set is pre-specified ('any': all)",
    "category": "mechanism class of the set (tmesig.constants.SET_CATEGORIES; figures group by it)",
    "card": "the set is an item of the design card (shown in the UMAP and dot-plot figures)",
    "gene_level": "too few genes to score as a set: shown gene by gene, never as a score",
    "seed": "seed review the set is tied to (resources/signatures/seeds.tsv)",
    "seed_citation": "citation of the seed review",
    "seed_doi": "DOI of the seed review",
    "section": "section of the seed review the set comes from",
    "citation": "publication of a published gene list (empty: curated from the review)",
    "source": "where a published list was taken from (repository, file)",
    "licence": "licence of the published list",
    "references": "publications a curated set's genes come from (beyond the seed review)",
    "genes": "the set's genes (HGNC symbols), comma-separated",
}

#: ``coverage.tsv``: one row per gene set of the library.
COVERAGE = {
    "set": "gene set",
    "direction": "up: high means resistance; down: low means resistance",
    "n_genes": "genes in the set",
    "n_found": "the set's genes present in the dataset",
    "fraction": "n_found / n_genes",
    "n_expressed": "found genes with a non-zero value in at least one cell",
    "scored": "the set was scored (>= score.min_genes genes found, fraction >= score.min_coverage, "
    "a gene expressed)",
    "reason": "why the set was not scored: every rule it fails",
    "genes_found": "the set's genes present in the dataset",
    "genes_missing": "the set's genes absent from the dataset: the score cannot see them",
    "method": "scoring method and its parameters",
}

#: ``genes.tsv``: one row per level x compartment x gene shown as a gene.
GENES = {
    "level": "lineage: the compartment is a lineage; state: a cell state inside one",
    "compartment": "lineage or cell state (unassigned cells are not a compartment)",
    "parent": "the lineage of the state (for a lineage row: the lineage itself)",
    "gene": "gene symbol",
    "measured": "the dataset measures the gene; false: not measured (no value, not zero)",
    "sets": "library sets that contain the gene",
    "shown_for": "why the gene is shown: card gene, its set not scored, its set spans lineages",
    "home_lineage": "lineage where the gene's mean is highest (>= genes.min_fraction expressing)",
    "n_cells": "cells of the compartment",
    "mean": "mean log-normalised expression over the compartment's cells",
    "fraction_expressing": "fraction of the compartment's cells with a non-zero value",
    "n_patients": "patients with >= genes.min_cells cells in the compartment",
    "mean_of_patient_means": "mean over those patients of the patient's mean expression",
    "sd_of_patient_means": "standard deviation over those patients of their means",
    "note": "why the row has no values (gene not measured)",
}

#: The two levels of the downstream tables (lineage and cell state).
LEVEL = {
    "level": "lineage: compartment is a lineage (T_NK, myeloid...); state: a cell state inside "
    "it (CD8_exhausted, CAF, malignant...; annotation.tsv's state)",
    "parent": "the lineage of the row's state (for lineage rows: the lineage itself)",
}
#: Each row's set: its genes found in the dataset (coverage.tsv).
GENE_COUNTS = {
    "n_genes_found": "the set's genes present in the dataset (coverage.tsv n_found)",
    "n_genes": "genes in the set",
}

#: ``compartments.tsv``: one row per compartment x sample (pseudobulk of the scores).
COMPARTMENTS = {
    **LEVEL,
    "compartment": "lineage or cell state (see level)",
    "sample": "sample (or patient, with flag.unit: patient)",
    "n_cells": "cells of the compartment in the sample",
}

_SET_ROW = {
    "compartment": "lineage compartment tested",
    "set": "gene set tested",
    "direction": "up: high means resistance; down: low means resistance",
    "family": "primary: the set applies to this compartment (pre-specified); exploratory: not. "
    "FDR is computed within each family (and level)",
}

#: ``flags.tsv``: one row per compartment x scored set; sorted by fdr, then resistance_effect.
FLAGS = {
    **_SET_ROW,
    **LEVEL,
    **GENE_COUNTS,
    "compartment": "lineage or cell state tested (see level); a state is contrasted with all "
    "other cells of its samples",
    "applies": "the set's provenance names this compartment (or 'any')",
    "n_samples": "samples with enough cells (flag.min_cells) inside and outside the compartment",
    "n_cells": "cells of the compartment (all samples)",
    "mean_in": "mean over samples of the compartment's mean score",
    "mean_out": "mean over samples of the mean score of the sample's other assigned cells",
    "effect": "mean over samples of (compartment mean - other cells' mean) score",
    "effect_sd": "effect / standard deviation of the set's score over all assigned cells",
    "resistance_effect": "effect_sd signed so that positive is towards resistance",
    "null_z": "how far the contrast exceeds that of 1,000 (flag.n_null) random gene sets of "
    "matched size and expression: mean over samples of (contrast - null mean) / null SD, "
    "positive towards resistance",
    "p_samples": "one-sided one-sample t-test of the per-sample contrasts (samples are the "
    "unit; needs flag.min_samples samples)",
    "p_null": "empirical p against the random gene sets: (1 + nulls with null_z at least as "
    "large) / (1 + n_null); tests with fewer than flag.null_hits such sets draw more, up to "
    "flag.n_null_max (Besag-Clifford: null_hits / n_null when stopped early)",
    "n_null": "random gene sets drawn for p_null (flag.n_null; more, up to flag.n_null_max, "
    "for tests near significance)",
    "p": "max(p_samples, p_null): a flag needs both tests",
    "fdr": "Benjamini-Hochberg FDR of p within the family",
    "flagged": "applies, fdr <= flag.alpha, resistance_effect >= flag.min_effect and null_z > 0",
    "top_genes": "the 5 genes driving the contrast, as GENE:contribution; contribution = the "
    "gene's within-sample difference in mean log expression (compartment - other cells, "
    "averaged over samples) / genes of the set found, so they add up to the set's contrast; "
    "listed towards resistance",
    "note": "why a row has no test (too few samples with enough cells)",
}

#: Fields of ``tmesig.conditions.compare_units`` (patients as the unit).
_COMPARE_UNITS = {
    "reference": "reference condition (conditions.reference, else the first alphabetically)",
    "test": "test condition",
    "n_ref": "patients in the reference condition",
    "n_test": "patients in the test condition",
    "n_pairs": "patients seen in both conditions",
    "mean_ref": "mean over reference patients",
    "mean_test": "mean over test patients",
    "effect": "test - reference: mean within-patient difference (paired) or difference of "
    "patient means (unpaired)",
    "ci_low": "lower bound of the 95% confidence interval of effect",
    "ci_high": "upper bound of the 95% confidence interval of effect",
    "std_effect": "standardised effect: mean difference / SD of differences (paired) or "
    "Hedges' g (unpaired)",
    "p": "two-sided p: paired t-test, or Welch's t-test on patient means",
    "note": "patients left out and why, or why there is no test",
    "design": "paired, unpaired (Welch) or insufficient (too few patients: no test)",
    "fdr": "Benjamini-Hochberg FDR of p within the family",
    "significant": "fdr <= conditions.alpha",
}

#: ``conditions.tsv``: one row per compartment x set; patient means of the cells' scores.
CONDITIONS = {
    **_SET_ROW,
    **_COMPARE_UNITS,
    "level": "lineage: compartment is a lineage; state: compartment is a cell state (the "
    "annotation's state, e.g. CD8_exhausted, malignant)",
    "compartment": "the lineage (level lineage) or cell state (level state) tested",
    "parent": "the lineage of the state (for lineage rows: the lineage itself)",
    "n_genes_found": "the set's genes present in the dataset (coverage.tsv n_found)",
    "n_genes": "genes in the set",
    "family": "primary: a pre-specified hypothesis (the set names this lineage or state, or "
    "this state's lineage and no state of it; or 'any'); exploratory: not. FDR is computed "
    "within each level and family",
    "n_pairs": "patients with usable samples in both conditions",
    "n_samples": "sample means used (samples with at least conditions.min_cells cells here)",
    "mean_ref": "mean over reference patients of the patient's mean score in the compartment",
    "mean_test": "mean over test patients of the patient's mean score in the compartment",
    "effect": "test - reference: mean within-patient difference (paired), difference of "
    "patient means (Welch), or the condition coefficient of the mixed model",
    "std_effect": "standardised effect: mean difference / SD of differences (paired), Hedges' "
    "g (Welch), or effect / total SD (mixed model)",
    "p": "two-sided p of the test named in method",
    "note": "every patient or sample left out and why (too few cells, no cells, one "
    "condition only), a mixed model's fallback, or why there is no test",
    "design": "paired (every patient in both conditions), unpaired (none), mixed (some), or "
    "insufficient (too few patients: no test)",
    "method": "the test: paired t-test, Welch t-test, mixed model (REML, random intercept per "
    "patient, Satterthwaite df) or none",
    "fdr": "Benjamini-Hochberg FDR of p within the level and family",
    "resistance_effect": "std_effect signed so that positive means the test condition is "
    "further towards resistance",
}

#: ``composition.tsv``: one row per level x denominator x category; shares compared between
#: conditions (propeller: transformed shares, t-test over patients).
COMPOSITION = {
    "level": "lineage: share of all assigned cells; state: share of the denominator's cells",
    "parent": "lineage of the denominator (lineage rows: the lineage itself)",
    "denominator": "the cells the share is of: 'assigned cells', a lineage or a refined "
    "subset (CD8_T: every CD8 T cell)",
    "compartment": "lineage or cell state whose share is compared",
    **_COMPARE_UNITS,
    "fraction_ref": "mean share over the reference patients used",
    "fraction_test": "mean share over the test patients used",
    "mean_ref": "mean transformed share over reference patients",
    "mean_test": "mean transformed share over test patients",
    "effect": "difference in transformed share, test - reference (logit: a log odds ratio)",
    "method": "transform of the shares (propeller, Phipson et al. 2022) and the t-test used",
    "fdr": "Benjamini-Hochberg FDR within the level (lineage rows; state rows)",
}

#: ``composition_by_patient.tsv``: one row per level x denominator x category x patient x
#: condition.
COMPOSITION_BY_PATIENT = {
    "level": "lineage: share of all assigned cells; state: share of the denominator's cells",
    "parent": "lineage of the denominator (lineage rows: the lineage itself)",
    "denominator": "the cells the share is of: 'assigned cells', a lineage or a refined subset",
    "patient": "patient",
    "condition": "condition",
    "compartment": "lineage or cell state (unassigned cells left out); a state named like its "
    "denominator: cells of that subset without a confident refinement",
    "n_cells": "cells of the lineage or state",
    "n_total": "cells of the denominator of the patient in that condition",
    "fraction": "n_cells / n_total",
    "logit": "log((n_cells + 0.5) / (n_total - n_cells + 0.5))",
}

#: ``enrichment.tsv``: one row per compartment x term (gseapy prerank).
ENRICHMENT = {
    "group": "compartment whose ranking was tested (vs all other assigned cells)",
    "collection": "tmesig: the signature library; hallmark: MSigDB Hallmarks",
    "term": "gene set",
    "es": "enrichment score of the set in the compartment's gene ranking",
    "nes": "normalised enrichment score (ES / mean null ES of the same sign)",
    "p": "nominal permutation p-value (gene-set permutations)",
    "fdr": "gseapy's FDR q-value over all terms of the compartment",
    "fwer": "family-wise error rate p-value",
    "tag_fraction": "leading-edge genes / genes of the set found in the ranking",
    "lead_genes": "leading-edge genes, ';'-separated",
}

#: Columns named by the data: (prefix, definition); prefix "" matches any column.
PATTERNS = {
    "compartments": (
        ("", "mean score of that gene set over the compartment's cells in the sample"),
    ),
}
