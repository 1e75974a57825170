"""The real workflow on a corpus of bad inputs: each fails early, clearly, leaves nothing behind.

The corpus is generated at test time by ``tests/data/make_bad_inputs.py`` (no committed binaries).
For every case: non-zero exit; the message (stdout + stderr) names the file (or the sheet,
config or URL), the problem and the fix; nothing is left under ``results/<dataset>/`` or
``resources/downloads/``; the input file is unchanged; no secret of the case (a URL password, the
lines of a linked file) appears in the output or a log; no planted pickle ran; and the run
stopped at the expected stage (no job for sheet/config errors, no job after ``ingest`` for data
errors).

The signature library (``results/signatures/``, which does not depend on the data) is built
once for the corpus and copied into every case, so each case runs only the jobs it is about.
"""

import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest
from conftest import REPO

sys.path.insert(0, str(Path(__file__).parents[1] / "data"))
import make_bad_inputs as mb

pytestmark = pytest.mark.slow

BY_NAME = {c.name: c for c in mb.CASES}


def _digest(path: Path) -> str | None:
    if not path.exists():
        return None
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is


def _run(workdir: Path, *targets: str) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config.yaml"),
        "--cores",
        "1",
        *targets,
    ]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def _signature_library(tmp: Path) -> Path:
    """``results/signatures/`` built once, from a good file (the rule reads only the repo)."""
    mb._h5ad(tmp, mb.good_adata())
    res = _run(tmp, "results/signatures/library.tsv", "results/signatures/tmesig.gmt")
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp / "results" / "signatures"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    built = mb.make_all(root)
    library = _signature_library(tmp_path_factory.mktemp("library"))
    for name in built:  # copy2 keeps the times: newer than its inputs, the rule does not run
        shutil.copytree(library, root / name / "results" / "signatures", copy_function=shutil.copy2)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name, info in built.items():
        sheet = root / name / "samples.tsv"
        text = sheet.read_text()
        if info.get("needs_port"):
            port = _closed_port()
            text = text.replace("{port}", str(port))
            info["url"] = info["url"].replace("{port}", str(port))
        if info.get("needs_server"):
            text = text.replace("{serve_port}", str(server.server_address[1]))
            info["url"] = info["url"].replace("{serve_port}", str(server.server_address[1]))
        sheet.write_text(text)
        info["before"] = {
            str(p): _digest(p) for p in [info.get("data"), *info.get("also", [])] if p is not None
        }
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(built, pool.map(lambda n: _run(root / n), built), strict=True))
    server.shutdown()
    return root, built, results


def test_corpus_is_large_enough():
    assert len(mb.CASES) >= 25 and len(BY_NAME) == len(mb.CASES)


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_bad_input_fails_cleanly(corpus, name):
    root, built, results = corpus
    case, info, res = BY_NAME[name], built[name], results[name]
    d = root / name
    out = res.stdout + res.stderr
    assert res.returncode != 0, out[-3000:]
    named = {
        "data": str(info.get("data")),
        "sheet": str(d / "samples.tsv"),
        "config": str(d / "config.yaml"),
        "url": info.get("url", ""),
    }[case.names]
    assert named and named in out, f"{named!r} not named:\n{out[-3000:]}"
    assert any(p in out for p in case.problem), f"no problem word {case.problem}:\n{out[-3000:]}"
    assert any(f in out for f in case.fix), f"no fix word {case.fix}:\n{out[-3000:]}"
    assert "Traceback (most recent call last)" not in out, out[-3000:]
    results_dir = (
        d / "results" / "bad"
    )  # results/signatures/ may be built: it does not depend on the data
    left = [p for p in results_dir.rglob("*") if p.is_file()] if results_dir.exists() else []
    assert not left, left
    downloads = d / "resources" / "downloads"
    assert not downloads.exists() or not any(downloads.iterdir())
    for p, before in info["before"].items():
        assert _digest(Path(p)) == before, f"{p} changed"
    for marker in info.get("never_created", []):
        assert not Path(marker).exists(), f"{marker}: untrusted code ran"
    logged = "".join(
        f.read_text(errors="replace")
        for f in [*d.glob("logs/**/*.log"), *d.glob(".snakemake/log/*.log")]
    )
    for secret in info.get("secrets", []):
        assert secret not in out and secret not in logged, f"{secret!r} shown"
    logs = d / "logs"
    if case.stage in ("sheet", "config"):
        assert not logs.exists() or not any(logs.rglob("*.log")), (
            "a job ran before validation failed"
        )
    elif case.stage == "download":
        assert list(logs.rglob("download*.log")) and not list(logs.rglob("ingest.log"))
    elif case.stage == "ingest":
        assert list(logs.rglob("ingest.log")) or "file not found" in out
        assert not list(logs.rglob("qc.log"))
