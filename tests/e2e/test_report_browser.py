"""End-to-end, as a reader sees it: a small run's terminal output, its tables' column
definitions, and its report opened in a real headless browser (Chromium) with the network
blocked: the categories are shown, each table page renders its rows, a screenshot is not blank.

Skipped only when no Chromium is installed outside CI; in CI (``CI`` set) a missing browser
fails the test (``.ci/run`` installs Debian's ``chromium``).
"""

import base64
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from test_workflow import PATHS
from tmesig import columns, tables
from tmesig.workflow_paths import WorkflowPaths

pytestmark = pytest.mark.slow

#: Stages of a default run: each prints exactly one line on the terminal.
STAGES = (
    "signatures",
    "ingest",
    "qc",
    "cluster",
    "annotate",
    "umap",
    "subsets",
    "cnv",
    "subset_figures",
    "score",
    "flag",
    "conditions",
    "enrichment",
    "figures",
    "tables",
)
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="module")
def browser():
    found = next((shutil.which(b) for b in _BROWSERS if shutil.which(b)), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium in CI: .ci/run must install it (apt-get install chromium)")
        pytest.skip("no headless browser here (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def run(mini_run):
    """The shared small run (tests/conftest.py ``mini_run``): workdir and terminal output."""
    return mini_run[0], mini_run[2]


@pytest.fixture(scope="module")
def report(mini_report):
    """The shared small run's report (tests/conftest.py ``mini_report``, built once)."""
    return mini_report[0]


def _chromium(browser, page, *args, tmp):
    """Chromium, headless, offline (every http(s) request goes to a closed port)."""
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--proxy-server=http://127.0.0.1:9",
        f"--user-data-dir={tmp / 'chromium-profile'}",
        "--virtual-time-budget=15000",
        "--window-size=1400,900",
        *args,
        page.as_uri(),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def _visible_text(dom):
    """The rendered text of a dumped DOM (scripts and styles removed)."""
    dom = re.sub(r"<(script|style|noscript)\b[^>]*>.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


def _rendered_rows(dom, name):
    """Rows DataTables drew in the body of table ``t_<name>`` (``None``: it did not run)."""
    m = re.search(rf'<table[^>]*id="t_{name}"[^>]*>.*?</table>', dom, flags=re.S)
    if m is None or "dataTable" not in m.group(0)[:400]:
        return None
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", m.group(0), flags=re.S)
    return body.group(1).count("<tr")


def _report_var(html, name):
    """A JSON variable of the Snakemake report (``var results = {...};``)."""
    m = re.search(rf"^\s*var {name} = (\{{.*\}});?\s*$", html, flags=re.M)
    return json.loads(m.group(1))


def _probe(report_path, tmp, *, result_suffix, category):
    """The report with a script that does what a reader's clicks do: open a result, then its
    category in the menu."""
    html = report_path.read_text()
    script = f"""<script>
window.addEventListener("load", function () {{
  setTimeout(function () {{
    var path = Object.keys(results).find(function (p) {{ return p.endsWith({result_suffix!r}); }});
    app.setView({{content: "html", contentPath: results[path].data_uri, resultPath: path}});
    setTimeout(function () {{ app.showCategory({category!r}); }}, 300);
  }}, 300);
}});
</script>"""
    i = html.rindex("</body>")
    probe = tmp / "probe.html"
    probe.write_text(html[:i] + script + html[i:])
    return probe


def test_terminal_output_is_short_and_ends_with_what_to_open(run):
    _, out = run
    lines = out.splitlines()
    # ~3 lines a stage (its own and Snakemake's two scheduler lines; 22 stages, 78 lines
    # seen) and 3 for the scoring checkpoint (tmesig.score scatter plan)
    assert len(lines) <= 80, "\n".join(lines)
    assert max(len(line) for line in lines) <= 300
    for stage in STAGES:
        mine = [line for line in lines if re.match(rf"tmesig {stage}( \[mini\])?: ", line)]
        assert len(mine) == 1, (stage, mine)
    assert "tmesig done. Report: snakemake --report results/report.html" in lines
    assert any(line.startswith("  mini: ") and "tests flagged" in line for line in lines)
    for noise in ("Warning", "Traceback", "it/s]", "%|", "rule flag:", "input: "):
        assert noise not in out, noise


def test_every_column_of_every_table_has_a_definition(run):
    tmp, _ = run
    paths = WorkflowPaths(datasets=("mini",))
    checked = 0
    for name in columns.TABLES:
        template = getattr(paths, name, None)
        if template is None:  # a reader view, made from another table
            continue
        table = pd.read_csv(tmp / template.format(dataset="mini"), sep="\t", nrows=3)
        assert not columns.undefined(name, table.columns), name
        checked += 1
    assert checked == len(columns.TABLES) - 2
    comps = pd.read_csv(tmp / PATHS.compartments.format(dataset="mini"), sep="\t", nrows=1)
    scores = pd.read_parquet(tmp / PATHS.scores.format(dataset="mini"))
    assert set(comps.columns) - {"level", "compartment", "parent", "sample", "n_cells"} == set(
        scores.columns
    )


def test_table_pages_render_their_rows_offline(run, report, browser, tmp_path):
    tmp, _ = run
    results = _report_var(report.read_text(), "results")
    pages = {p: r for p, r in results.items() if "/tables/" in p and p.endswith(".html")}
    assert len(pages) == len(tables.SPECS)
    for path, entry in pages.items():
        name = path.rsplit("/", 1)[1].removesuffix(".html")
        spec = tables.SPECS[name]
        page = tmp_path / f"{name}.html"
        page.write_bytes(base64.b64decode(entry["data_uri"].split(",", 1)[1]))
        dom = _chromium(browser, page, "--dump-dom", tmp=tmp_path)
        text = _visible_text(dom)
        source = tables.read_table(tmp / getattr(PATHS, spec.source).format(dataset="mini"))
        n = min(len(spec.view(source)) if spec.view else len(source), 1000)
        # a page of 25 rows for long tables, every row for short ones, one "no data" row if none
        drawn = _rendered_rows(dom, name)
        assert drawn == (25 if n > 30 else max(n, 1)), (name, drawn, n, text[:300])
        if n > 30:
            assert f"Showing 1 to 25 of {n:,} entries" in text, name
        assert "Columns" in text and spec.title in text


def test_report_shows_categories_tables_and_findings(report, browser, tmp_path):
    html = report.read_text()
    categories = _report_var(html, "categories")
    results = _report_var(html, "results")
    assert {"1. Quality control", "2. Compartments", "4. Flags"} <= set(categories)
    findings = [p for p in results if p.endswith("/summary.html")]
    if findings:  # made by the findings stage: its category comes first
        assert "0. Findings" in categories
    menu = _visible_text(_chromium(browser, report, "--dump-dom", tmp=tmp_path))
    for category in categories:
        assert category in menu, category
    probe = _probe(report, tmp_path, result_suffix="/tables/flags.html", category="4. Flags")
    listing = _visible_text(_chromium(browser, probe, "--dump-dom", tmp=tmp_path))
    assert "Flags: compartment x gene set (sortable)" in listing
    assert "Mean score per compartment x sample (sortable)" in listing
    if findings:
        probe = _probe(report, tmp_path, result_suffix="/summary.html", category="0. Findings")
        listing = _visible_text(_chromium(browser, probe, "--dump-dom", tmp=tmp_path))
        for label in results[findings[0]]["labels"].values():
            assert str(label) in listing, label


def test_report_screenshot_is_not_blank(report, browser, tmp_path):
    from PIL import Image

    probe = _probe(report, tmp_path, result_suffix="/tables/flags.html", category="4. Flags")
    shot = tmp_path / "report.png"
    _chromium(browser, probe, f"--screenshot={shot}", tmp=tmp_path)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (900, 1400)
    content = pixels[:, 840:]  # the right 40%: the table's iframe, whatever the menu's width
    assert pixels.std() > 20 and content.std() > 20
    dark = (content < 128).mean()  # text and rules of the rendered table
    assert 0.01 < dark < 0.5, dark
