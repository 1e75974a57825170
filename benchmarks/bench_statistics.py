"""Statistical benchmark of tmesig's condition comparisons on simulated data (issue 5).

Run by hand::

    python benchmarks/bench_statistics.py [--quick]

Every dataset comes from :mod:`tmesig.simulate` (negative-binomial counts, 20,000 genes,
log-normalised with the simulator's ``lognorm`` = ``normalize_total(1e4)`` + ``log1p``),
is scored with :func:`tmesig.score.score_mean_diff` on the whole signature library and
compared with :func:`tmesig.conditions.compare_conditions` (patients as the unit, BH FDR
over all compartment × set tests). Cells are grouped by their TRUE compartment (the
annotation is benchmarked elsewhere). Sections:

1. **recall** -- default programs planted in non-responders; responder (reference) vs
   non-responder (test). A *planted pair* is (compartment of a program's cell type, set)
   for every library set whose found genes are >= 50 % program genes (this includes the
   sets each program was built from). recall = planted pairs with FDR <= 0.05.
   False positives are counted on *untouched* pairs only: sets sharing no gene -- neither
   a set gene nor one of its scanpy control genes -- with a program planted in that
   compartment (a set whose control genes include program genes has a truly shifted
   score: that is the score definition, not a test error).
2. **null calibration** -- ``programs=()``; fraction of all tests with FDR <= 0.05 and
   the QQ-style fraction of raw p <= t.
3. **paired pre/post** -- a small post-treatment shift (exhaustion genes x fold in CD8 T
   cells of every patient, ``timepoint="post"``); condition = timepoint. The simulator
   has no between-patient expression effect, so one is added at the score level: every
   cell of patient p gets the offset ``o_p`` on every score (same offset pre and post),
   with ``o_p`` the normal quantiles (shuffled by the seed) scaled to SD = RATIO x the
   planted within-patient shift (measured as the mean paired difference before offsets).
   The paired test (automatic: the same patients in both conditions) must find it, the
   unpaired test (same values, patients relabelled ``<patient>_<timepoint>`` so nobody is
   paired: Welch on patient means) must miss it.
4. **power table** -- recall and untouched-pair false-positive rate for program fold
   changes (up-programs x f, the APM-loss program x 1/f) x patients per arm.
5. **flag calibration resolution** -- :func:`tmesig.flag.flag_dataset` on the recall
   simulation (true compartments, samples as the unit) with ``n_null`` = 1,000 random sets
   and sequential Monte Carlo p-values up to ``n_null_max`` (Besag & Clifford 1991): the
   smallest attainable ``p_null`` = 1 / (``n_null_max`` + 1) against alpha / n_primary
   (the Bonferroni-level p that lets the single strongest primary test pass BH), the tests
   that drew further, the smallest ``p_null`` reached, and flags with and without the
   sequential draws.

Timing per section goes to stderr. The script ends with one line per target:
``target NAME: VALUE (goal GOAL) PASS|FAIL``.
"""

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))

from tmesig import conditions, flag, score, signatures  # noqa: E402
from tmesig import simulate as sim  # noqa: E402

ALPHA = 0.05
CELLS_PER_SAMPLE = 750  # cells per patient x timepoint sample
PAIRED_RATIO = 4.0  # between-patient SD / planted within-patient shift
PAIRED_FOLD = 2.0
N_NULL, N_NULL_MAX, NULL_HITS = 1000, 10_000, 10  # flag calibration (config defaults)
#: Columns of the planted-pairs table printed by the recall section.
PLANTED_COLUMNS = tuple(
    "compartment set design n_ref n_test effect std_effect p fdr significant".split()
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclasses.dataclass
class Scored:
    adata: object
    scores: pd.DataFrame
    controls: dict  # set name -> control gene symbols
    found: dict  # set name -> set genes found in var_names


def scored_simulation(
    n_patients: int, *, programs, seed: int, n_genes: int, n_cells: int | None = None
) -> Scored:
    """Simulate (log-normalised), score the library with mean-difference scores."""
    lib = signatures.load_library()
    n_cells = n_cells or n_patients * 2 * CELLS_PER_SAMPLE
    adata = sim.simulate(
        n_cells, n_genes=n_genes, n_patients=n_patients, programs=programs, seed=seed, lognorm=True
    )
    stats = score.gene_stats(adata)
    scores = score.score_mean_diff(adata, lib, stats=stats)
    # control genes exactly as score_mean_diff draws them (to know which pairs a program touches)
    cuts = score.scanpy_bins(stats.means)
    names = np.asarray(adata.var_names)
    controls, found = {}, {}
    for gs in lib:
        pos = adata.var_names.get_indexer(list(gs.genes))
        pos = np.unique(pos[pos >= 0])
        pos = pos[np.isfinite(cuts[pos])]
        found[gs.name] = set(names[pos])
        controls[gs.name] = set(names[score.scanpy_control_genes(pos, cuts)])
    return Scored(adata, scores, controls, found)


def program_compartments(program) -> set[str]:
    comp = {ct.name: ct.compartment for ct in sim.CELL_TYPES}
    return {comp[t] for t in program.cell_types}


def truth_pairs(s: Scored, programs) -> tuple[set, set]:
    """(planted pairs, touched pairs) as (compartment, set) tuples."""
    planted, touched = set(), set()
    for prog in programs:
        genes = set(prog.genes)
        for comp in program_compartments(prog):
            for name, fnd in s.found.items():
                if fnd and len(fnd & genes) / len(fnd) >= 0.5:
                    planted.add((comp, name))
                if (fnd | s.controls[name]) & genes:
                    touched.add((comp, name))
    return planted, touched


def compare(
    s: Scored, condition_col: str, ref: str, test: str, *, scores=None, patient=None
) -> pd.DataFrame:
    obs = s.adata.obs
    return conditions.compare_conditions(
        s.scores if scores is None else scores,
        signatures.load_library(),
        cells=pd.DataFrame(
            {
                "compartment": obs["compartment"].astype(str),
                "patient": obs["patient"].astype(str) if patient is None else patient,
                "condition": obs[condition_col].astype(str),
            }
        ),
        contrast=conditions.Contrast(ref, test),
    )


def recall_fp(res: pd.DataFrame, planted: set, touched: set) -> dict:
    key = list(zip(res["compartment"], res["set"], strict=True))
    is_planted = np.array([k in planted for k in key])
    untouched = np.array([k not in touched for k in key])
    sig = res["significant"].to_numpy()
    return {
        "n_planted": int(is_planted.sum()),
        "recall": float(sig[is_planted].mean()) if is_planted.any() else float("nan"),
        "n_untouched": int(untouched.sum()),
        "fp_untouched": int(sig[untouched].sum()),
        "fpr_untouched": float(sig[untouched].mean()) if untouched.any() else float("nan"),
        "sig_touched_not_planted": sorted(
            k for k, s_ in zip(key, sig, strict=True) if s_ and k in touched and k not in planted
        ),
        "sig_untouched": sorted(
            k for k, s_, u in zip(key, sig, untouched, strict=True) if s_ and u
        ),
    }


def scaled_programs(fold: float):
    return tuple(
        dataclasses.replace(p, fold=fold if p.fold > 1 else 1.0 / fold)
        for p in sim.DEFAULT_PROGRAMS
    )


# --------------------------------------------------------------------------- sections


def section_recall(cfg) -> float:
    t0 = time.perf_counter()
    progs = sim.DEFAULT_PROGRAMS
    print("== 1. planted recall: responder (R, reference) vs non-responder (NR, test) ==")
    for p in progs:
        print(
            f"  program {p.name}: {len(p.genes)} genes x{p.fold:g} in {','.join(p.cell_types)} "
            f"({'/'.join(sorted(program_compartments(p)))}), response={p.response}, "
            f"fraction={p.fraction:g}"
        )
    n_pat = cfg.recall_patients
    s = scored_simulation(n_pat, programs=progs, seed=cfg.seed, n_genes=cfg.n_genes)
    planted, touched = truth_pairs(s, progs)
    res = compare(s, "response", "R", "NR")
    print(
        f"  design: {n_pat // 2} R + {n_pat // 2} NR patients x (pre, post), "
        f"{s.adata.n_obs} cells, {s.adata.n_vars} genes; "
        f"{len(res)} compartment x set tests ({res['design'].iloc[0]})"
    )
    sub = res[[k in planted for k in zip(res["compartment"], res["set"], strict=True)]]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("  planted pairs:")
        print(sub[list(PLANTED_COLUMNS)].to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    m = recall_fp(res, planted, touched)
    print(
        f"  recall: {m['recall']:.3f} ({int(round(m['recall'] * m['n_planted']))}/"
        f"{m['n_planted']} planted pairs at FDR <= {ALPHA})"
    )
    print(
        "  significant touched (shared set/control genes) but not planted: "
        f"{m['sig_touched_not_planted']}"
    )
    print(
        f"  false positives among {m['n_untouched']} untouched pairs: "
        f"{m['fp_untouched']} {m['sig_untouched']}"
    )
    log(f"[time] recall: {time.perf_counter() - t0:.1f} s")
    return m["recall"], s


def section_null(cfg) -> float:
    t0 = time.perf_counter()
    print(f"\n== 2. null calibration: programs=(), {len(cfg.null_seeds)} seeds, R vs NR ==")
    ps, flags, per_seed = [], [], []
    for seed in cfg.null_seeds:
        s = scored_simulation(cfg.null_patients, programs=(), seed=seed, n_genes=cfg.n_genes)
        res = compare(s, "response", "R", "NR")
        p = res["p"].dropna().to_numpy()
        ps.append(p)
        flags.append(res["significant"].to_numpy())
        per_seed.append((seed, len(p), int(res["significant"].sum()), float((p <= 0.05).mean())))
    p = np.concatenate(ps)
    flag = np.concatenate(flags)
    print(
        f"  design: {cfg.null_patients // 2} patients per arm, "
        f"{cfg.null_patients * 2 * CELLS_PER_SAMPLE} cells per seed"
    )
    print("  seed  tests  flagged(FDR<=0.05)  frac p<=0.05")
    for seed, n, nf, f in per_seed:
        print(f"  {seed:4d}  {n:5d}  {nf:18d}  {f:.3f}")
    fdr_rate = float(flag.mean())
    any_rate = float(np.mean([nf > 0 for _, _, nf, _ in per_seed]))
    print(
        f"  all tests: {len(p)}; flagged at FDR <= 0.05: {fdr_rate:.4f}; "
        f"seeds with any flag: {any_rate:.2f}"
    )
    print("  calibration (observed fraction of p <= t; uniform p gives t):")
    for t in (0.01, 0.05, 0.1, 0.2):
        obs = float((p <= t).mean())
        se = np.sqrt(t * (1 - t) / len(p))
        print(
            f"    t={t:<5g} observed={obs:.4f}  (expected {t:g}, binomial SE {se:.4f}; "
            "tests are correlated within a seed)"
        )
    log(f"[time] null: {time.perf_counter() - t0:.1f} s")
    return fdr_rate


def paired_one(n_patients: int, seed: int, n_genes: int) -> dict:
    """Paired vs unpaired on a planted post-treatment shift + score-level patient offsets."""
    prog = sim.Program(
        "post_shift",
        sim.library_genes("tcell_exhaustion"),
        ("CD8_T",),
        PAIRED_FOLD,
        timepoint="post",
    )
    s = scored_simulation(n_patients, programs=(prog,), seed=seed, n_genes=n_genes)
    obs = s.adata.obs
    target = ("T_NK", "tcell_exhaustion")
    base = compare(s, "timepoint", "pre", "post")
    row = base[(base["compartment"] == target[0]) & (base["set"] == target[1])].iloc[0]
    shift = abs(float(row["effect"]))  # mean within-patient difference (no offsets yet)
    patients = np.array(sorted(obs["patient"].astype(str).unique()))
    rng = np.random.default_rng(seed)
    from scipy.stats import norm

    z = norm.ppf((np.arange(len(patients)) + 0.5) / len(patients))
    z = rng.permutation(z / z.std(ddof=1))
    offset = pd.Series(PAIRED_RATIO * shift * z, index=patients)
    cell_off = obs["patient"].astype(str).map(offset).to_numpy()
    scores = s.scores.add(cell_off, axis=0)
    paired = compare(s, "timepoint", "pre", "post", scores=scores)
    relabel = obs["patient"].astype(str) + "_" + obs["timepoint"].astype(str)
    unpaired = compare(s, "timepoint", "pre", "post", scores=scores, patient=relabel)

    def pick(res):
        return res[(res["compartment"] == target[0]) & (res["set"] == target[1])].iloc[0]

    pr, ur = pick(paired), pick(unpaired)
    return {
        "seed": seed,
        "shift": shift,
        "between_sd": PAIRED_RATIO * shift,
        "paired_design": pr["design"],
        "paired_effect": pr["effect"],
        "paired_p": pr["p"],
        "paired_fdr": pr["fdr"],
        "unpaired_design": ur["design"],
        "unpaired_effect": ur["effect"],
        "unpaired_p": ur["p"],
        "unpaired_fdr": ur["fdr"],
        "paired_flags_other": int(paired["significant"].sum() - bool(pr["significant"])),
    }


def section_paired(cfg) -> tuple[float, float, pd.DataFrame]:
    t0 = time.perf_counter()
    print(
        f"\n== 3. paired pre/post: exhaustion genes x{PAIRED_FOLD:g} in CD8 T cells "
        "post-treatment (all patients), "
        f"patient offsets SD = {PAIRED_RATIO:g} x shift =="
    )
    rows = [paired_one(cfg.paired_patients, seed, cfg.n_genes) for seed in cfg.paired_seeds]
    df = pd.DataFrame(rows)
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print(df.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    main = df.iloc[0]
    print(
        f"  {cfg.paired_patients} patients sampled pre and post; T_NK x tcell_exhaustion; "
        f"paired detection rate (p<=0.05) over {len(df)} seeds: "
        f"{(df['paired_p'] <= 0.05).mean():.2f}; "
        f"unpaired: {(df['unpaired_p'] <= 0.05).mean():.2f}"
    )
    log(f"[time] paired: {time.perf_counter() - t0:.1f} s")
    return float(main["paired_p"]), float(main["unpaired_p"]), df


def section_power(cfg) -> None:
    t0 = time.perf_counter()
    print(
        f"\n== 4. power: recall / untouched-pair FPR (FDR <= 0.05) by fold x patients per arm, "
        f"{len(cfg.power_seeds)} seed(s) each, {CELLS_PER_SAMPLE} cells per sample =="
    )
    rec = {}
    for fold in cfg.folds:
        progs = scaled_programs(fold)
        for per_arm in cfg.per_arm:
            ms = []
            for seed in cfg.power_seeds:
                s = scored_simulation(2 * per_arm, programs=progs, seed=seed, n_genes=cfg.n_genes)
                planted, touched = truth_pairs(s, progs)
                ms.append(recall_fp(compare(s, "response", "R", "NR"), planted, touched))
            rec[(fold, per_arm)] = (
                np.mean([m["recall"] for m in ms]),
                sum(m["fp_untouched"] for m in ms) / sum(m["n_untouched"] for m in ms),
                ms[0]["n_planted"],
            )
    head = "  fold \\ per arm" + "".join(f"{n:>18d}" for n in cfg.per_arm)
    print(head + "     (cells: recall / FPR)")
    for fold in cfg.folds:
        line = f"  x{fold:<4g} (APM x{1 / fold:.2f})"
        line += "".join(
            f"{rec[(fold, n)][0]:>10.2f} / {rec[(fold, n)][1]:.3f}" for n in cfg.per_arm
        )
        print(line)
    print(f"  planted pairs per simulation: {sorted({v[2] for v in rec.values()})}")
    log(f"[time] power: {time.perf_counter() - t0:.1f} s")


def _flags(s: Scored, n_null_max: int | None) -> tuple[pd.DataFrame, float]:
    obs = s.adata.obs
    t0 = time.perf_counter()
    _, flags = flag.flag_dataset(
        s.adata,
        s.scores,
        signatures.load_library(),
        compartment=obs["compartment"].astype(str),
        unit=obs["sample"].astype(str),
        options=flag.FlagOptions(n_null=N_NULL, n_null_max=n_null_max, null_hits=NULL_HITS),
    )
    return flags, time.perf_counter() - t0


def section_resolution(s: Scored) -> tuple[float, float]:
    print(
        f"\n== 5. flag calibration resolution: n_null = {N_NULL}, sequential up to "
        f"n_null_max = {N_NULL_MAX} (h = {NULL_HITS}), recall simulation =="
    )
    fixed, t_fixed = _flags(s, None)
    seq, t_seq = _flags(s, N_NULL_MAX)
    tested = seq["p"].notna()
    n_primary = int((tested & (seq["family"] == "primary")).sum())
    need = ALPHA / max(n_primary, 1)
    smallest = 1 / (N_NULL_MAX + 1)
    more = seq["n_null"] > N_NULL
    print(
        f"  {int(tested.sum())} tested compartment x set rows, {n_primary} primary; "
        f"alpha / n_primary = {need:.3g}"
    )
    print(
        f"  smallest attainable p_null: fixed 1/({N_NULL}+1) = {1 / (N_NULL + 1):.3g}, "
        f"sequential 1/({N_NULL_MAX}+1) = {smallest:.3g}"
    )
    print(
        f"  rows that drew beyond {N_NULL}: {int(more.sum())} of {len(seq)} "
        f"(null sets drawn in all: {int(seq['n_null'].sum())}); smallest p_null "
        f"{seq['p_null'].min():.3g}; rows at 1/({N_NULL_MAX}+1): "
        f"{int((seq['p_null'] == smallest).sum())}"
    )
    print(
        f"  flagged: fixed n_null {int(fixed['flagged'].sum())}, sequential "
        f"{int(seq['flagged'].sum())}; primary rows at FDR <= {ALPHA}: fixed "
        f"{int(((fixed['family'] == 'primary') & (fixed['fdr'] <= ALPHA)).sum())}, sequential "
        f"{int(((seq['family'] == 'primary') & (seq['fdr'] <= ALPHA)).sum())}"
    )
    print(f"  flag_dataset time: fixed {t_fixed:.1f} s, sequential {t_seq:.1f} s")
    log(f"[time] resolution: {t_fixed + t_seq:.1f} s")
    return smallest, need


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small run (< 45 s)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t_all = time.perf_counter()
    if args.quick:
        cfg = argparse.Namespace(
            seed=args.seed,
            n_genes=4000,
            recall_patients=16,
            null_patients=10,
            null_seeds=list(range(3)),
            paired_patients=10,
            paired_seeds=[args.seed],
            folds=(3.0,),
            per_arm=(4, 8),
            power_seeds=[args.seed],
        )
    else:
        cfg = argparse.Namespace(
            seed=args.seed,
            n_genes=20_000,
            recall_patients=20,
            null_patients=20,
            null_seeds=list(range(20)),
            paired_patients=10,
            paired_seeds=list(range(args.seed, args.seed + 5)),
            folds=(1.25, 1.5, 2.0, 3.0),
            per_arm=(4, 6, 10),
            power_seeds=[args.seed, args.seed + 1],
        )
    print(
        f"bench_statistics ({'quick' if args.quick else 'full'}): {cfg.n_genes} genes, "
        f"{CELLS_PER_SAMPLE} cells per sample, true compartments, mean-difference scores, "
        f"{len(signatures.load_library())} library sets"
    )
    recall, recall_sim = section_recall(cfg)
    null_rate = section_null(cfg)
    p_paired, p_unpaired, _ = section_paired(cfg)
    section_power(cfg)
    min_p, need = section_resolution(recall_sim)
    log(f"[time] total: {time.perf_counter() - t_all:.1f} s")
    print()
    targets = (
        ("planted_recall", recall, "1.0", recall >= 1.0),
        ("null_fdr_flag_rate", null_rate, "<= 0.05", null_rate <= 0.05),
        ("paired_detects", p_paired, "p <= 0.05", p_paired <= 0.05),
        ("unpaired_misses", p_unpaired, "p > 0.05", p_unpaired > 0.05),
        ("min_attainable_p", min_p, f"< alpha/n_primary = {need:.3g}", min_p < need),
    )
    for name, value, goal, ok in targets:
        print(f"target {name}: {value:.4g} (goal {goal}) {'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
