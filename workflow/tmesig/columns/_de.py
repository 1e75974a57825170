"""Column definitions of the gene-level condition tables (stage ``de``)."""

#: ``de_conditions.tsv``: one row per level x compartment x tested gene.
DE_CONDITIONS = {
    "level": "lineage (compartment = lineage) or state (compartment = cell state)",
    "compartment": "the lineage or cell state whose cells were summed per patient",
    "parent": "the lineage of the compartment (itself at level lineage)",
    "gene": "gene (empty: the compartment was not tested, see note)",
    "reference": "reference condition",
    "test": "test condition (effects are test vs reference)",
    "method": "pydeseq2 on summed counts, or t-test on patient mean log values (no counts)",
    "design": "~patient + condition (paired), ~condition, paired / Welch t-test, or insufficient",
    "n_ref": "patients in the reference condition used",
    "n_test": "patients in the test condition used",
    "n_pairs": "patients used in both conditions (paired design; 0 unpaired)",
    "n_genes_tested": "genes tested in the compartment (expressed, at most the most expressed)",
    "base_mean": "pydeseq2: mean normalised count over the pseudobulks; t-test: mean log value",
    "effect": "pydeseq2: log2 fold change test vs reference; t-test: difference of mean log values",
    "effect_se": "standard error of effect",
    "stat": "pydeseq2 Wald statistic, or t statistic (the ranking of enrichment_conditions)",
    "p": "two-sided p-value of the gene in the compartment",
    "fdr": "BH FDR over the genes of the compartment (pydeseq2: its padj, independent filtering)",
    "note": "patients or compartments left out and why, and the method's caveats",
}

#: ``enrichment_conditions.tsv``: one row per level x compartment x gene set.
ENRICHMENT_CONDITIONS = {
    "level": "lineage or state",
    "compartment": "the lineage or cell state whose condition ranking was tested",
    "parent": "the lineage of the compartment (itself at level lineage)",
    "gene_set": "gene set",
    "source": "library: the tmesig signature library; hallmark: MSigDB Hallmarks",
    "n_genes": "genes in the set",
    "n_genes_found": "of them in the compartment's ranking (tested genes)",
    "reference": "reference condition",
    "test": "test condition (NES > 0: the set is higher in the test condition)",
    "method": "the gene statistic ranked: pydeseq2 Wald stat, or t-test on log values",
    "es": "enrichment score of the set in the condition ranking",
    "nes": "normalised enrichment score (ES / mean null ES of the same sign)",
    "p": "nominal permutation p-value (gene-set permutations)",
    "fdr": "gseapy's FDR q-value over all sets of the compartment",
    "lead_genes": "leading-edge genes, ';'-separated",
}
