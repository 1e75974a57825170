"""Checksums and fetch_url against local HTTP servers: mismatch, unreachable, credentials, an
endless or trickling body, a huge Content-Length, a foreign redirect and SIGTERM keep nothing."""

import hashlib
import http.server
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from functools import partial

import pytest
from tmesig.io import InputError, fetch_url, verify_sha256
from tmesig.io.fetch import DownloadOptions


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
        fetch_url(url, dest, sha256="0" * 64, options=DownloadOptions(timeout_s=5))
    assert url in str(err.value) and "check the URL" in str(err.value)
    assert not any(dest.parent.iterdir())


def test_url_needs_scheme_and_checksum(tmp_path):
    with pytest.raises(InputError, match="sha256"):
        fetch_url("http://127.0.0.1:1/d.h5ad", tmp_path / "d.h5ad", sha256="")
    with pytest.raises(InputError, match="only http"):
        fetch_url("file:///etc/passwd", tmp_path / "d.h5ad", sha256="0" * 64)


class _Hostile(http.server.BaseHTTPRequestHandler):
    """Serves /endless (no length, never ends), /trickle (one byte every 20 ms), /huge (announces
    50 GB), /ftp (redirects to ftp://); every loop is bounded so the thread always ends."""

    sent: dict[str, int] = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = self.path.split("?")[0].removesuffix(".h5ad")
        if path == "/ftp":
            self.send_response(302)
            self.send_header("Location", "ftp://127.0.0.1/x.h5ad")
            self.end_headers()
            return
        if path in _ODD:
            self._send_odd(*_ODD[path])
            return
        self.send_response(200)
        if path == "/huge":
            self.send_header("Content-Length", str(50 * 10**9))
        self.end_headers()
        block, pause, rounds = {
            "/endless": (b"\0" * 65536, 0.0, 2000),  # at most 131 MB
            "/trickle": (b"x", 0.02, 1500),  # at most 30 s
            "/huge": (b"\0" * 65536, 0.0, 2000),
        }[path]
        n = 0
        try:
            for _ in range(rounds):
                self.wfile.write(block)
                self.wfile.flush()
                n += len(block)
                if pause:
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            type(self).sent[path] = n

    def _send_odd(self, headers, body):
        self.send_response(200)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


#: /cut announces 100,000 bytes and sends 1,000; /gzip a compressed body; /page a web page.
_ODD = {
    "/cut": ({"Content-Length": "100000"}, b"x" * 1000),
    "/gzip": ({"Content-Encoding": "gzip", "Content-Length": "20"}, b"\x1f\x8b" + b"\0" * 18),
    "/page": (
        {"Content-Type": "text/html; charset=utf-8", "Content-Length": "13"},
        b"<html></html>",
    ),
}


@pytest.fixture
def hostile():
    _Hostile.sent = {}
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _no_partial(dest):
    assert not dest.exists()
    assert not dest.parent.exists() or not any(dest.parent.iterdir())


def test_endless_body_cut_at_the_cap(hostile, tmp_path):
    dest = tmp_path / "resources" / "downloads" / "d.h5ad"
    t0 = time.monotonic()
    with pytest.raises(InputError) as err:
        fetch_url(
            f"{hostile}/endless", dest, sha256="0" * 64, options=DownloadOptions(max_bytes=2**20)
        )
    msg = str(err.value)
    assert msg.startswith(f"{hostile}/endless: the server sent more than 1,048,576 bytes")
    assert "download.max_bytes" in msg and "nothing was kept" in msg
    assert time.monotonic() - t0 < 10
    _no_partial(dest)


def test_content_length_over_the_cap_refused_before_reading(hostile, tmp_path):
    dest = tmp_path / "downloads" / "d.h5ad"
    with pytest.raises(InputError) as err:
        fetch_url(
            f"{hostile}/huge", dest, sha256="0" * 64, options=DownloadOptions(max_bytes=10**6)
        )
    assert "announces 50,000,000,000 bytes, over the cap of 1,000,000" in str(err.value)
    _no_partial(dest)
    deadline = time.monotonic() + 5
    while "/huge" not in _Hostile.sent and time.monotonic() < deadline:
        time.sleep(0.05)
    # the client hung up at the header: the server could push only what the socket buffers hold
    assert _Hostile.sent["/huge"] < 20 * 2**20


def test_trickling_server_stopped_at_the_deadline(hostile, tmp_path):
    dest = tmp_path / "downloads" / "d.h5ad"
    t0 = time.monotonic()
    with pytest.raises(InputError) as err:
        fetch_url(
            f"{hostile}/trickle",
            dest,
            sha256="0" * 64,
            options=DownloadOptions(deadline_s=1.5, timeout_s=5),
        )
    elapsed = time.monotonic() - t0
    msg = str(err.value)
    assert "download stopped after 1.5 s (download.deadline_s)" in msg and "bytes received" in msg
    assert 1.5 <= elapsed < 4, elapsed  # each read returns at once: the deadline, not 30 s
    _no_partial(dest)


def test_redirect_to_another_scheme_refused(hostile, tmp_path):
    dest = tmp_path / "downloads" / "d.h5ad"
    with pytest.raises(InputError, match="non-http"):
        fetch_url(f"{hostile}/ftp", dest, sha256="0" * 64)
    _no_partial(dest)


def test_credentials_refused_and_never_shown(tmp_path):
    url = "https://alice:hunter2@127.0.0.1:9/d.h5ad?token=s3cr3t"
    with pytest.raises(InputError) as err:
        fetch_url(url, tmp_path / "d.h5ad", sha256="0" * 64)
    msg = str(err.value)
    assert msg.startswith("https://***@127.0.0.1:9/d.h5ad?token=***: the URL carries a user name")
    assert "hunter2" not in msg and "alice" not in msg and "s3cr3t" not in msg
    assert not (tmp_path / "d.h5ad").exists()


def test_query_token_hidden_in_messages(server, tmp_path):
    _, base = server
    with pytest.raises(InputError) as err:
        fetch_url(f"{base}/missing.h5ad?token=s3cr3t", tmp_path / "d.h5ad", sha256="0" * 64)
    msg = str(err.value)
    assert "HTTP 404" in msg and f"{base}/missing.h5ad?token=***" in msg and "s3cr3t" not in msg


def test_stale_partial_of_a_killed_attempt_removed(server, tmp_path):
    served, base = server
    (served / "d.h5ad").write_bytes(b"abc")
    dest = tmp_path / "out" / "d.h5ad"
    dest.parent.mkdir()
    (dest.parent / ".d.h5ad.k1ll3d.part").write_bytes(b"half")  # left by a SIGKILL
    fetch_url(f"{base}/d.h5ad", dest, sha256=hashlib.sha256(b"abc").hexdigest())
    assert [p.name for p in dest.parent.iterdir()] == ["d.h5ad"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_download_leaves_nothing(hostile, tmp_path, sig):
    dest = tmp_path / "resources" / "downloads" / "d.h5ad"
    code = textwrap.dedent(
        f"""
        from tmesig.io.fetch import DownloadOptions, fetch_url
        fetch_url({f"{hostile}/trickle"!r}, {str(dest)!r}, sha256="0" * 64,
                  options=DownloadOptions(deadline_s=60))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (dest.parent.exists() and any(dest.parent.iterdir())):
        time.sleep(0.05)
    time.sleep(0.5)  # inside the body's reads
    partial_files = list(dest.parent.iterdir())
    assert [p.suffix for p in partial_files] == [".part"] and proc.poll() is None
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 128 + sig, err.decode()[-2000:]
    _no_partial(dest)


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


@pytest.mark.slow
def test_workflow_sigterm_leaves_no_partial_download(hostile, tmp_path):
    """SIGTERM to the running workflow's process group (Ctrl-C, scancel) mid-download: the
    download job removes its temporary file; nothing is left in resources/downloads/."""
    import pandas as pd
    import yaml
    from conftest import REPO

    work = tmp_path / "work"
    work.mkdir()
    url = f"{hostile}/trickle.h5ad?token=s3cr3t"
    pd.DataFrame({"dataset": ["remote"], "path": [url], "sha256": ["a" * 64]}).to_csv(
        work / "samples.tsv", sep="\t", index=False
    )
    (work / "config.yaml").write_text(yaml.safe_dump({"samples": str(work / "samples.tsv")}))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
    cmd += ["--directory", str(work), "--configfile", str(work / "config.yaml"), "--cores", "1"]
    proc = subprocess.Popen(
        [*cmd, "resources/downloads/remote.h5ad"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    downloads = work / "resources" / "downloads"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (downloads.exists() and any(downloads.iterdir())):
        time.sleep(0.1)
    assert [p.suffix for p in downloads.iterdir()] == [".part"]  # mid-download
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert not downloads.exists() or not any(downloads.iterdir())
    assert b"s3cr3t" not in out


def test_body_cut_short_named_as_such(hostile, tmp_path):
    dest = tmp_path / "downloads" / "d.h5ad"
    with pytest.raises(InputError) as err:
        fetch_url(f"{hostile}/cut", dest, sha256="0" * 64)
    msg = str(err.value)  # not a 'sha256 mismatch': the transfer broke, trying again may work
    assert msg.startswith(f"{hostile}/cut: download cut short")
    assert (
        "after 1,000 of the 100,000 bytes it announced" in msg and "run the workflow again" in msg
    )
    _no_partial(dest)


@pytest.mark.parametrize(
    ("path", "said"),
    [("/gzip", "it compressed, Content-Encoding: gzip"), ("/page", "a web page, text/html")],
)
def test_checksum_mismatch_says_what_the_server_sent(hostile, tmp_path, path, said):
    dest = tmp_path / "downloads" / "d.h5ad"
    with pytest.raises(InputError) as err:
        fetch_url(f"{hostile}{path}", dest, sha256="0" * 64)
    msg = str(err.value)
    assert "sha256 mismatch" in msg and f"(the server sent {said}" in msg
    _no_partial(dest)
