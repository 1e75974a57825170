"""tmesig.sheet.read_sheet / check_row: every sheet problem is one InputError naming the sheet,
the row, the problem and the fix (the workflow shows it before any job runs)."""

import pytest
from tmesig.io import InputError
from tmesig.sheet import DATASET_RE, check_row, read_sheet

SHA = "a" * 64
HEADER = "dataset\tpath\tsha256\tsample_col\tpatient_col\tcondition_col\tlabel_col\n"


def _write(tmp_path, text: str) -> str:
    path = tmp_path / "samples.tsv"
    path.write_text(text)
    return str(path)


def _fails(path: str, *words: str) -> str:
    with pytest.raises(InputError) as err:
        read_sheet(path)
    msg = str(err.value)
    assert msg.startswith(path), msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


def test_good_sheet_indexed_by_dataset(tmp_path):
    path = _write(
        tmp_path,
        "# a comment line\n"
        + HEADER
        + f"one\tdata/a.h5ad,data/b.h5ad\t{SHA},{SHA}\tsample\t\t\t\n"
        + f"two\thttps://example.org/x/tumour.h5ad?dl=1\t{SHA}\t\tpatient\tarm\tcell_type\n",
    )
    sheet = read_sheet(path)
    assert list(sheet.index) == ["one", "two"] and list(sheet["dataset"]) == ["one", "two"]
    assert sheet.loc["two", "condition_col"] == "arm" and sheet.loc["one", "patient_col"] == ""


def test_minimal_sheet_gets_every_column(tmp_path):
    sheet = read_sheet(_write(tmp_path, "dataset\tpath\nd1\tx.h5ad\n"))
    assert list(sheet.columns) == [
        "dataset",
        "path",
        "sha256",
        "sample_col",
        "patient_col",
        "condition_col",
        "label_col",
    ]
    assert (sheet.loc["d1", ["sha256", "sample_col", "label_col"]] == "").all()


def test_missing_sheet(tmp_path):
    _fails(str(tmp_path / "nope.tsv"), "sample sheet not found", "set 'samples' in the config")


def test_unreadable_sheet(tmp_path):
    path = _write(tmp_path, "dataset\tpath\nd1\tx.h5ad\nd2\ty.h5ad\textra\tmore\n")
    _fails(path, "not a readable tab-separated sample sheet", "Fix: write it as TSV")


def test_missing_columns(tmp_path):
    msg = _fails(_write(tmp_path, "name\tfile\nbad\tx.h5ad\n"), "lacks the column(s) dataset, path")
    assert "(it has: name, file)" in msg and "Fix: add them to the header" in msg


def test_url_rules(tmp_path):
    url = "https://example.org/d.h5ad"
    _fails(
        _write(tmp_path, f"dataset\tpath\tsha256\nd1\t{url},{url}\t{SHA}\n"),
        "row 1 (dataset 'd1')",
        "a URL path must name one file",
    )
    _fails(
        _write(tmp_path, f"dataset\tpath\nd1\t{url}\n"),
        "the path is a URL but the 'sha256' column is empty",
        "add the file's SHA-256",
    )
    _fails(
        _write(tmp_path, f"dataset\tpath\tsha256\nd1\thttps://example.org/d.csv\t{SHA}\n"),
        "a URL must end in .h5ad or .h5",
    )


def test_sha256_count_must_match_paths(tmp_path):
    text = f"dataset\tpath\tsha256\nok\td1.h5ad\t{SHA}\nd2\ta.h5ad,b.h5ad,c.h5ad\t{SHA},{SHA}\n"
    msg = _fails(_write(tmp_path, text), "row 2 (dataset 'd2')", "3 path(s) but 2 sha256 value(s)")
    assert "give one sha256 per path" in msg


def test_schema_problems_listed(tmp_path):
    text = "dataset\tpath\tsha256\nd1\ta.h5ad\txyz\nd2\tb;rm.h5ad\t\n"
    msg = _fails(_write(tmp_path, text), "invalid sample sheet - row 1, sha256: 'xyz'")
    assert "; row 2, path: " in msg and "Fix: correct these entries" in msg


def test_short_row_reads_as_empty_fields(tmp_path):
    sheet = read_sheet(_write(tmp_path, "dataset\tpath\tsample_col\nd1\ta.h5ad\n"))
    assert sheet.loc["d1", "sample_col"] == ""


def test_empty_sheet(tmp_path):
    _fails(_write(tmp_path, HEADER), "has no dataset rows")


def test_duplicated_datasets(tmp_path):
    text = "dataset\tpath\nb\tx.h5ad\na\ty.h5ad\nb\tz.h5ad\na\tw.h5ad\n"
    _fails(_write(tmp_path, text), "dataset ids must be unique; repeated: a, b", "rename one")


@pytest.mark.parametrize("ds", ["ok", "A.1_b-2", "x" * 64])
def test_dataset_ids_accepted(ds):
    check_row("s.tsv", 0, {"dataset": ds, "path": "x.h5ad"})


@pytest.mark.parametrize("ds", ["x" * 65, "-lead", "a/b", "a..b/c"])
def test_dataset_ids_refused(ds):
    import re

    assert not re.fullmatch(DATASET_RE, ds)
    with pytest.raises(InputError, match="invalid dataset id"):
        check_row("s.tsv", 4, {"dataset": ds, "path": "x.h5ad"})


@pytest.mark.parametrize("ds", ["summary", "signatures"])
def test_reserved_dataset_ids_refused(ds):
    """results/summary/ and results/signatures/ are run-wide folders, not datasets."""
    with pytest.raises(InputError, match=rf"s.tsv: row 2 \(dataset '{ds}'\).*reserved.*rename"):
        check_row("s.tsv", 1, {"dataset": ds, "path": "x.h5ad"})


def test_check_row_without_sha256_column():
    check_row("s.tsv", 0, {"dataset": "d", "path": "a.h5ad,b.h5ad"})
    check_row("s.tsv", 0, {"dataset": "d", "path": "a.h5ad", "sha256": None})


def test_hash_inside_a_path_keeps_the_row_and_its_sha256(tmp_path):
    # pandas' comment="#" used to cut the row at '#', dropping the sha256 that follows
    sha = "b" * 64
    text = (
        f"# comment\n{HEADER}  # indented comment\nd1\tdata/run#2/x#1.h5ad\t{sha}\tsample\t\t\t\n"
    )
    sheet = read_sheet(_write(tmp_path, text))
    assert list(sheet.index) == ["d1"]
    assert sheet.loc["d1", "path"] == "data/run#2/x#1.h5ad"
    assert sheet.loc["d1", "sha256"] == sha and sheet.loc["d1", "sample_col"] == "sample"


@pytest.mark.parametrize(
    "url",
    [
        "https://alice:hunter2@example.org/d.h5ad",
        "http://hunter2@example.org/d.h5ad?x=1",
        "HTTPS://alice:hunter2@example.org/d.h5",
    ],
)
def test_credentials_in_a_url_refused_and_not_shown(tmp_path, url):
    path = _write(tmp_path, f"dataset\tpath\tsha256\nd1\t{url}\t{SHA}\n")
    before = (tmp_path / "samples.tsv").read_bytes()
    msg = _fails(path, "row 1 (dataset 'd1')", "carries a user name or password", "Fix: use a")
    assert "hunter2" not in msg and "alice" not in msg and "://***@example.org/d.h5" in msg
    assert (tmp_path / "samples.tsv").read_bytes() == before


def test_other_schemes_and_urls_among_files_refused(tmp_path):
    _fails(
        _write(tmp_path, f"dataset\tpath\tsha256\nd1\tftp://example.org/d.h5ad\t{SHA}\n"),
        "ftp://example.org/d.h5ad is not an http(s) URL",
        "download the file yourself",
    )
    msg = _fails(
        _write(tmp_path, "dataset\tpath\nd1\ta.h5ad,s3://b:tok@x/d.h5ad\n"),
        "carries a user name or password",
    )
    assert "tok" not in msg
    _fails(
        _write(tmp_path, "dataset\tpath\nd1\ta.h5ad,https://example.org/d.h5ad\n"),
        "a URL path must name one file",
    )


def _config_file(tmp_path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "key", "first", "second"),
    [
        (
            "samples: s.tsv\nqc:\n  nmads: 4\ncluster:\n  n_pcs: 20\nqc:\n  min_genes: 50\n",
            "qc",
            2,
            6,
        ),
        ("samples: s.tsv\nqc:\n  nmads: 4\n  doublets: false\n  nmads: 6\n", "nmads", 3, 5),
        ("samples: a.tsv\nseed: 1\nsamples: b.tsv\n", "samples", 1, 3),
    ],
)
def test_duplicate_config_keys_refused(tmp_path, text, key, first, second):
    import yaml
    from tmesig.sheet import check_config

    path = _config_file(tmp_path, text)
    config = yaml.safe_load(text)  # what Snakemake sees: the last block silently wins
    with pytest.raises(InputError) as err:
        check_config(config, files=[path])
    msg = str(err.value)
    assert msg.startswith(f"{path}: line {second}: the key {key!r} appears a second time")
    assert f"(first at line {first})" in msg and "Fix: merge the two into one block" in msg
    assert (tmp_path / "config.yaml").read_text() == text


def test_config_without_duplicates_and_anchors_accepted(tmp_path):
    import yaml
    from tmesig.sheet import check_config

    text = "samples: s.tsv\nqc: &q\n  nmads: 4\nflag:\n  min_cells: 5\n"
    path = _config_file(tmp_path, text)
    config = check_config(yaml.safe_load(text), files=[path])
    assert config["qc"]["nmads"] == 4 and config["flag"]["min_cells"] == 5


def test_spreadsheet_and_editor_artefacts_read_as_meant(tmp_path):
    # a BOM, CRLF line ends, trailing tabs (header and rows), a whitespace-only line and
    # spaces around values; pandas read the row's trailing tab as an index column, so that
    # 'dataset' held the path
    text = (
        "\ufeffdataset\tpath\tsha256\tsample_col \t\r\n"
        f" one \t data/a.h5ad \t {SHA} \t sample \t\r\n"
        " \t \r\n"
        "two\tdata/b.h5ad\t\t\t\t\r\n"
    )
    sheet = read_sheet(_write(tmp_path, text))
    assert list(sheet.index) == ["one", "two"]
    assert sheet.loc["one", "path"] == "data/a.h5ad" and sheet.loc["one", "sha256"] == SHA
    assert sheet.loc["one", "sample_col"] == "sample" and sheet.loc["two", "sha256"] == ""


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            b"dataset\tpath\nd1\tx.h5ad\tsecret\n",
            ("row 1 has 3 values but the header has 2 columns", "'secret'", "one tab between"),
        ),
        (b"dataset\tpath\tpath\nd1\tx.h5ad\ty.h5ad\n", ("header names path twice", "one distinct")),
        (b"dataset,path\nd1,x.h5ad\n", ("lacks the column(s) dataset, path", "comma-separated")),
        (
            "dataset\tpath\nd1\tcaf\u00e9.h5ad\n".encode("latin-1"),
            ("not UTF-8 text: byte 0xe9 at line 2", "save it as UTF-8"),
        ),
        ("dataset\tpath\nd1\tx.h5ad\n".encode("utf-16"), ("UTF-16 text", "save it as UTF-8")),
        (b"dataset\tpath\nd1\tx\0.h5ad\n", ("line 2", "NUL byte", "plain UTF-8 text")),
    ],
)
def test_malformed_sheet_files_refused_by_name(tmp_path, content, words):
    path = tmp_path / "samples.tsv"
    path.write_bytes(content)
    msg = _fails(str(path), *words)
    assert "Fix:" in msg


def test_one_file_named_twice_or_dataset_ids_equal_but_for_case_refused(tmp_path):
    url = "https://example.org/x/tumour.h5ad"
    for rows, words in [
        (
            "one\ta.h5ad\ntwo\t./a.h5ad\n",
            ("datasets 'one' and 'two' both name ./a.h5ad", "one row per file"),
        ),
        (
            f"one\t{url}\t{SHA}\ntwo\t{url}\t{SHA}\n",
            ("datasets 'one' and 'two' both name", "one row per file"),
        ),
        (
            "one\ta.h5ad,b.h5ad,a.h5ad\n",
            ("dataset 'one' names a.h5ad twice", "name each file once"),
        ),
        ("Tumour\ta.h5ad\ntumour\tb.h5ad\n", ("unique ignoring letter case", "Tumour and tumour")),
    ]:
        _fails(_write(tmp_path, "dataset\tpath\tsha256\n" + rows), *words)
    # the same file read two ways (one cohort by response and by timepoint) is two analyses
    header = "dataset\tpath\tsample_col\tcondition_col\n"
    two_ways = "by_response\ta.h5ad\tsample\tresponse\nby_time\ta.h5ad\tsample\ttimepoint\n"
    sheet = read_sheet(_write(tmp_path, header + two_ways))
    assert list(sheet["dataset"]) == ["by_response", "by_time"]
    same = "one\ta.h5ad\tsample\tresponse\ntwo\t./a.h5ad\tsample\tresponse \n"
    _fails(_write(tmp_path, header + same), "read it the same way", "one row per file")


def test_presigned_and_upper_case_urls_accepted(tmp_path):
    # the credentials message recommends a pre-signed link: its '&' must not be refused
    signed = "https://bucket.example.org/t.h5ad?X-Amz-Algorithm=AWS4&X-Amz-Signature=abc"
    text = f"dataset\tpath\tsha256\nd1\t{signed}\t{SHA}\nd2\thttps://example.org/T.H5AD\t{SHA}\n"
    sheet = read_sheet(_write(tmp_path, text))
    assert sheet.loc["d1", "path"] == signed and sheet.loc["d2", "path"].endswith(".H5AD")


def test_yte_template_config_refused(tmp_path):
    from tmesig.sheet import check_config

    text = "__use_yte__: true\nsamples: s.tsv\nseed: ?1 + 1\n"
    path = _config_file(tmp_path, text)
    with pytest.raises(InputError) as err:
        check_config({"samples": "s.tsv", "seed": 2}, files=[path])  # what yte left
    msg = str(err.value)
    assert msg.startswith(f"{path}: the configuration is a yte template (__use_yte__)")
    assert "Fix: remove __use_yte__" in msg


@pytest.mark.parametrize("role", ["sample", "patient"])
def test_condition_col_that_is_the_sample_or_patient_col_refused(role):
    row = {"dataset": "d", "path": "x.h5ad", f"{role}_col": "response", "condition_col": "response"}
    with pytest.raises(InputError) as err:
        check_row("s.tsv", 0, row)
    msg = str(err.value)
    assert msg.startswith("s.tsv: row 1 (dataset 'd'): condition_col and ")
    assert f"{role}_col both name the column 'response'" in msg and "Fix: set condition_col" in msg
    check_row("s.tsv", 0, {**row, "condition_col": "arm"})
    check_row("s.tsv", 0, {"dataset": "d", "path": "x.h5ad", "sample_col": "p", "patient_col": "p"})


def test_headerless_sheet_does_not_show_a_url_password(tmp_path):
    # without a header the first row is read as one: its URL must be shown redacted
    path = _write(tmp_path, f"d1\thttps://alice:hunter2@example.org/x.h5ad\t{SHA}\n")
    msg = _fails(path, "lacks the column(s) dataset, path", "https://***@example.org/x.h5ad")
    assert "hunter2" not in msg and "alice" not in msg


def test_url_in_the_dataset_column_shown_redacted(tmp_path):
    # columns swapped: the URL, password included, is the 'dataset' value
    text = f"path\tdataset\tsha256\nd1\thttps://alice:hunter2@example.org/x.h5ad\t{SHA}\n"
    msg = _fails(_write(tmp_path, text), "invalid dataset id", "https://***@example.org/x.h5ad")
    assert "hunter2" not in msg and "alice" not in msg
