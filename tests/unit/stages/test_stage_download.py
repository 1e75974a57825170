"""Stage download: the sheet URL fetched to the rule's output, verified by its sha256."""

import hashlib
import http.server
import threading
from functools import partial

import pytest
from tmesig.io import InputError
from tmesig.stages import StageIO
from tmesig.stages import download as stage


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "served"
    folder.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _io(dest, url, sha256, download=None):
    params = {"url": url, "sha256": sha256}
    if download is not None:
        params["download"] = download
    return StageIO(input={}, output={"data": str(dest)}, params=params)


def test_downloads_to_the_output_and_names_the_digest(served, tmp_path):
    folder, base = served
    body = b"h5ad bytes" * 1000
    (folder / "remote.h5ad").write_bytes(body)
    digest = hashlib.sha256(body).hexdigest()
    dest = tmp_path / "resources" / "downloads" / "remote.h5ad"
    line = stage.run(_io(dest, f"{base}/remote.h5ad?x=1", digest))
    assert line == f"downloaded {base}/remote.h5ad?x=*** (sha256 {digest})"  # query values hidden
    assert dest.read_bytes() == body


def test_mismatch_leaves_no_output(served, tmp_path):
    folder, base = served
    (folder / "remote.h5ad").write_bytes(b"abc")
    dest = tmp_path / "downloads" / "remote.h5ad"
    with pytest.raises(InputError, match="sha256 mismatch"):
        stage.run(_io(dest, f"{base}/remote.h5ad", "0" * 64))
    assert not any(dest.parent.iterdir())


def test_config_cap_applies(served, tmp_path):
    folder, base = served
    body = b"x" * 5000
    (folder / "remote.h5ad").write_bytes(body)
    dest = tmp_path / "downloads" / "remote.h5ad"
    with pytest.raises(InputError, match="announces 5,000 bytes, over the cap of 4,096"):
        stage.run(
            _io(dest, f"{base}/remote.h5ad", hashlib.sha256(body).hexdigest(), {"max_bytes": 4096})
        )
    assert not any(dest.parent.iterdir())
