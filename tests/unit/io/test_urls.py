"""URL rules: credentials detected, every URL in a message redacted (user information, query
values and fragments), nothing else touched."""

import pytest
from tmesig.io.urls import has_credentials, has_scheme, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://alice:hunter2@h.org/x.h5ad", "https://***@h.org/x.h5ad"),
        ("http://tok@h.org:8080/x.h5ad", "http://***@h.org:8080/x.h5ad"),
        (
            "https://h.org/x.h5ad?X-Amz-Signature=abc&dl=1",
            "https://h.org/x.h5ad?X-Amz-Signature=***&dl=***",
        ),
        ("https://h.org/x.h5ad#access_token=abc", "https://h.org/x.h5ad#***"),
        ("https://h.org/x.h5ad", "https://h.org/x.h5ad"),
        (
            "see ftp://u:p@h/x, then 'https://a:b@h/y?k=v'",
            "see ftp://***@h/x, then 'https://***@h/y?k=***'",
        ),
        ("data/local#1.h5ad: not found", "data/local#1.h5ad: not found"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_credentials_and_schemes():
    assert has_credentials("https://a:b@h/x.h5ad") and has_credentials(" http://a@h/x ")
    assert not has_credentials("https://h/x.h5ad?user=a@b") and not has_credentials("a@b.h5ad")
    assert has_scheme("ftp://h/x") and has_scheme("S3://b/k") and has_scheme("file:///etc")
    assert not has_scheme("data/x.h5ad") and not has_scheme("C:\\data\\x.h5ad")
