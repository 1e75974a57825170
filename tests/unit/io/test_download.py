"""Checksums and fetch_url against a local HTTP server: mismatch and unreachable keep nothing."""

import hashlib
import http.server
import socket
import threading
from functools import partial

import pytest
from tmesig.io import InputError, fetch_url, verify_sha256


def test_sha256_verified(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc")
    known = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")
    assert verify_sha256(p, expected=known) == known
    assert verify_sha256(p, expected="") == known
    with pytest.raises(InputError, match="sha256 mismatch"):
        verify_sha256(p, expected="0" * 64)


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_verified(server, tmp_path):
    served, base = server
    body = b"tmesig" * 50_000
    (served / "d.h5ad").write_bytes(body)
    dest = tmp_path / "out" / "d.h5ad"
    digest = fetch_url(f"{base}/d.h5ad", dest, sha256=hashlib.sha256(body).hexdigest().upper())
    assert digest == hashlib.sha256(body).hexdigest()
    assert dest.read_bytes() == body
    assert [p.name for p in dest.parent.iterdir()] == ["d.h5ad"]  # no temporary file left


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    served, base = server
    (served / "d.h5ad").write_bytes(b"abc")
    dest = tmp_path / "out" / "d.h5ad"
    with pytest.raises(InputError, match="sha256 mismatch") as err:
        fetch_url(f"{base}/d.h5ad", dest, sha256="0" * 64)
    assert f"{base}/d.h5ad" in str(err.value) and "'sha256' column" in str(err.value)
    assert not any(dest.parent.iterdir())


def test_http_error_and_unreachable(server, tmp_path):
    _, base = server
    dest = tmp_path / "out" / "d.h5ad"
    with pytest.raises(InputError, match="HTTP 404"):
        fetch_url(f"{base}/missing.h5ad", dest, sha256="0" * 64)
    url = f"http://127.0.0.1:{_closed_port()}/d.h5ad"
    with pytest.raises(InputError, match="unreachable") as err:
        fetch_url(url, dest, sha256="0" * 64, timeout=5)
    assert url in str(err.value) and "check the URL" in str(err.value)
    assert not any(dest.parent.iterdir())


def test_url_needs_scheme_and_checksum(tmp_path):
    with pytest.raises(InputError, match="sha256"):
        fetch_url("http://127.0.0.1:1/d.h5ad", tmp_path / "d.h5ad", sha256="")
    with pytest.raises(InputError, match="only http"):
        fetch_url("file:///etc/passwd", tmp_path / "d.h5ad", sha256="0" * 64)


@pytest.mark.slow
def test_workflow_downloads_then_ingests(server, tmp_path):
    import json
    import os
    import subprocess
    import sys

    import pandas as pd
    import yaml
    from conftest import REPO

    sys.path.insert(0, str(REPO / "tests" / "data"))
    from make_bad_inputs import good_adata

    served, base = server
    good_adata(n_cells=40).write_h5ad(served / "remote.h5ad")
    digest = hashlib.sha256((served / "remote.h5ad").read_bytes()).hexdigest()
    work = tmp_path / "work"
    work.mkdir()
    pd.DataFrame(
        {"dataset": ["remote"], "path": [f"{base}/remote.h5ad?x=1"], "sha256": [digest]}
    ).to_csv(work / "samples.tsv", sep="\t", index=False)
    (work / "config.yaml").write_text(yaml.safe_dump({"samples": str(work / "samples.tsv")}))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(work),
        "--configfile",
        str(work / "config.yaml"),
        "--cores",
        "1",
        "results/remote/ingest_summary.json",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ}, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    local = work / "resources" / "downloads" / "remote.h5ad"
    assert local.read_bytes() == (served / "remote.h5ad").read_bytes()
    summary = json.loads((work / "results" / "remote" / "ingest_summary.json").read_text())
    assert summary["cells"] == 40 and summary["path"] == "resources/downloads/remote.h5ad"
