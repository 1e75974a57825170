"""bench_scale: one tmesig run under Snakemake, watched, and what its files say.

:func:`run_pipeline` writes a sample sheet and config into a work directory, runs
``snakemake --cores N`` (Snakemake's own job banners on, ``--workflow-profile none``, so
that each job's ``input:`` and ``resources:`` lines are in the log) and, while it runs,
polls every ``poll_s`` seconds: the total size of the ``.h5ad`` files under ``results/``
(the largest total seen), the header (cells, genes, non-zeros) of each ``.h5ad`` once it
has stopped growing, and the resident memory of the Snakemake process tree. Afterwards
:func:`read_benchmarks` reads the rules' ``benchmark:`` tables and :func:`parse_jobs` the
log's job banners.
"""

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml
from _scale_data import matrix_header

REPO = Path(__file__).resolve().parents[1]
DATASET = "sim"


@dataclass
class Watch:
    """What the poller saw: h5ad headers by path, the largest h5ad total, the tree's peak RSS."""

    headers: dict = field(default_factory=dict)
    peak_h5ad_bytes: int = 0
    peak_tree_mb: float = 0.0
    _sizes: dict = field(default_factory=dict)

    def poll(self, results: Path, pid: int | None) -> None:
        """One look at ``results`` (h5ad files) and the process tree of ``pid``."""
        total = 0
        for p in results.rglob("*.h5ad") if results.exists() else ():
            try:
                size = p.stat().st_size
            except OSError:  # removed (temp()) between listing and stat
                continue
            total += size
            key = str(p)
            if self._sizes.get(key) == size and key not in self.headers:
                head = matrix_header(p)
                if head is not None:
                    self.headers[key] = {**head, "bytes": size}
            self._sizes[key] = size
        self.peak_h5ad_bytes = max(self.peak_h5ad_bytes, total)
        if pid is not None:
            self.peak_tree_mb = max(self.peak_tree_mb, tree_rss_mb(pid))


def tree_rss_mb(pid: int) -> float:
    """Resident memory (MB) of a process and all its descendants; 0 once it is gone.

    Parameters
    ----------
    pid
        The root process.
    """
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total / 1e6


def write_config(workdir: Path, data: Path, extra: dict | None = None) -> Path:
    """Sample sheet and config of the run (defaults, plus ``extra`` sections merged in).

    Parameters
    ----------
    workdir
        The run's working directory.
    data
        The simulated ``.h5ad``.
    extra
        Config sections to set, e.g. ``{"cluster": {"sketch_above": 1000}}``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    sheet = {
        "dataset": [DATASET],
        "path": [str(data)],
        "sha256": [""],
        "sample_col": ["sample"],
        "patient_col": ["patient"],
        "condition_col": ["response"],
        "label_col": [""],
    }
    pd.DataFrame(sheet).to_csv(workdir / "samples.tsv", sep="\t", index=False)
    cfg: dict = {"samples": str(workdir / "samples.tsv")}
    for section, values in (extra or {}).items():
        cfg.setdefault(section, {}).update(values)
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg))
    return workdir / "config.yaml"


def run_pipeline(
    workdir: Path, *, cores: int, targets=(), poll_s: float = 2.0, mem_mb: int = 0
) -> dict:
    """Run snakemake in ``workdir`` (its ``config.yaml``) and watch it.

    Parameters
    ----------
    workdir
        Directory with ``config.yaml`` and ``samples.tsv`` (:func:`write_config`).
    cores
        ``--cores``.
    targets
        Snakemake targets (paths relative to ``workdir``); empty: rule ``all``.
    poll_s
        Seconds between two looks at the disk and the process tree.
    mem_mb
        ``--resources mem_mb=`` (the memory the scheduler may hand out at once, as a user
        of a laptop sets it: jobs whose requests would pass it wait); 0: no limit.

    Returns
    -------
    dict
        ``returncode``, ``wall_s``, ``peak_h5ad_bytes``, ``peak_tree_mb``, ``headers``, ``log``.
    """
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
        "--workflow-profile", "none", "--cores", str(cores), *targets,
    ]  # fmt: skip
    if mem_mb:
        cmd += ["--resources", f"mem_mb={int(mem_mb)}"]
    log = workdir / "snakemake.log"
    watch = Watch()
    env = {**os.environ, "MPLBACKEND": "Agg"}
    t0 = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        done = threading.Event()

        def _loop() -> None:
            while not done.wait(poll_s):
                watch.poll(workdir / "results", proc.pid)

        poller = threading.Thread(target=_loop, daemon=True)
        poller.start()
        proc.wait()
        done.set()
        poller.join()
    wall = time.perf_counter() - t0
    watch.poll(workdir / "results", None)  # what is left at the end (headers of final files)
    return {
        "returncode": proc.returncode,
        "wall_s": wall,
        "peak_h5ad_bytes": watch.peak_h5ad_bytes,
        "peak_tree_mb": watch.peak_tree_mb,
        "headers": watch.headers,
        "log": str(log),
    }


def table_targets() -> list[str]:
    """Every table (``.tsv``, ``.parquet``) the pipeline writes for the dataset: the whole
    analysis without figures, HTML pages and the findings page."""
    from tmesig.workflow_paths import WorkflowPaths

    paths = WorkflowPaths(datasets=(DATASET,), conditioned=(DATASET,))
    out = paths.dataset_outputs(DATASET)
    skip = paths.patients.format(dataset=DATASET)  # rule summary: needs the figures
    return [p for p in out if p.endswith((".tsv", ".parquet")) and p != skip]


def h5ad_bytes(results: Path) -> int:
    """Total size of the ``.h5ad`` files under ``results`` now.

    Parameters
    ----------
    results
        A run's ``results/`` directory.
    """
    return sum(p.stat().st_size for p in results.rglob("*.h5ad")) if results.exists() else 0


def _float(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out else None


def read_benchmarks(bench_dir: Path) -> pd.DataFrame:
    """Wall time and peak memory per rule from Snakemake ``benchmark:`` tables.

    Parameters
    ----------
    bench_dir
        Directory of ``<rule>.benchmark.tsv`` files (``tmesig.workflow_paths``
        ``WorkflowPaths.benchmark``); the last row of each table counts (a rerun's).

    Returns
    -------
    DataFrame
        Index ``rule``; columns ``s`` (wall seconds), ``max_rss`` (MB; NaN when Snakemake
        could not measure it, e.g. a job shorter than its sampling interval).
    """
    rows = []
    for p in sorted(Path(bench_dir).glob("*.benchmark.tsv")):
        table = pd.read_csv(p, sep="\t")
        if table.empty:
            continue
        last = table.iloc[-1]
        rows.append(
            {
                "rule": p.name.removesuffix(".benchmark.tsv"),
                "s": _float(last.get("s")),
                "max_rss": _float(last.get("max_rss")),
            }
        )
    return pd.DataFrame(rows, columns=["rule", "s", "max_rss"]).set_index("rule")


_RULE = re.compile(r"^(?:local)?rule (\w+):\s*$")
_FIELD = re.compile(r"^\s+(\w+): (.*)$")


def parse_jobs(text: str) -> dict[str, dict]:
    """Each job's ``input`` files, ``threads`` and ``resources`` from Snakemake's job banners.

    Parameters
    ----------
    text
        Snakemake's terminal output (run without ``--quiet rules``).

    Returns
    -------
    dict
        Rule -> ``{"input": [...], "threads": int, "resources": {name: value}}``; resource
        values that are numbers become ints. The last banner of a rule wins.
    """
    jobs: dict[str, dict] = {}
    current = None
    for line in text.splitlines():
        m = _RULE.match(line)
        if m:
            current = {"input": [], "threads": 1, "resources": {}}
            jobs[m.group(1)] = current
            continue
        f = _FIELD.match(line) if current is not None else None
        if f is None:
            if line and not line[0].isspace():
                current = None
            continue
        key, value = f.groups()
        if key == "input":
            current["input"] = [v.strip() for v in value.split(",") if v.strip()]
        elif key == "threads":
            current["threads"] = int(value)
        elif key == "resources":
            for item in value.split(","):
                name, _, val = item.strip().partition("=")
                current["resources"][name] = int(val) if val.isdigit() else val
    return jobs


def largest_input(inputs: list[str], headers: dict, workdir: Path) -> dict | None:
    """Header of the largest (by non-zeros) ``.h5ad`` among a job's inputs, or None.

    Parameters
    ----------
    inputs
        Input paths from :func:`parse_jobs` (relative to ``workdir`` or absolute).
    headers
        Path -> header, as collected while the run was watched.
    workdir
        The run's working directory.
    """
    found = []
    for name in inputs:
        if not name.endswith(".h5ad"):
            continue
        path = Path(name) if Path(name).is_absolute() else workdir / name
        head = headers.get(str(path)) or (matrix_header(path) if path.exists() else None)
        if head is not None:
            found.append({**head, "matrix": name})
    return max(found, key=lambda h: h["nnz"]) if found else None
