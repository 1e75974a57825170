"""Package structure, in the style of scanpy's own test: every public name is documented and
takes its options keyword-only after the data.

Public = listed in a module's ``__all__``. At most three positional parameters (the data) come
first; after them, every parameter with a default (an option) is keyword-only. The first
parameter alone may have a default: a loader's source (``load_library(path=None)``) or a
simulator's size (``simulate(n_cells=5000)``).
Every parameter of a public function is named in its docstring.
"""

import importlib
import inspect
import pkgutil

import pytest
import tmesig

MAX_POSITIONAL = 3


def _modules():
    out = [tmesig]
    for info in pkgutil.walk_packages(tmesig.__path__, prefix="tmesig."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        out.append(importlib.import_module(info.name))
    return out


def _public():
    seen = {}
    for module in _modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__.startswith(
                "tmesig"
            ):
                seen.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return sorted(seen.items())


PUBLIC = _public()


def test_public_names_found():
    assert len(PUBLIC) > 50


@pytest.mark.parametrize(("name", "obj"), PUBLIC, ids=[n for n, _ in PUBLIC])
def test_documented(name, obj):
    doc = inspect.getdoc(obj)
    assert doc and len(doc.strip()) > 10, f"{name} has no docstring"


FUNCTIONS = [(n, o) for n, o in PUBLIC if inspect.isfunction(o)]


@pytest.mark.parametrize(("name", "fn"), FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_options_are_keyword_only(name, fn):
    params = list(inspect.signature(fn).parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    with_default = [p.name for p in positional[1:] if p.default is not p.empty]
    assert not with_default, f"{name}: options {with_default} should be keyword-only (after *)"
    assert len(positional) <= MAX_POSITIONAL, f"{name}: {len(positional)} positional parameters"


@pytest.mark.parametrize(("name", "fn"), FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_parameters_documented(name, fn):
    doc = inspect.getdoc(fn) or ""
    missing = [
        p
        for p in inspect.signature(fn).parameters
        if p not in ("self", "cls") and p not in doc and not p.startswith("_")
    ]
    assert not missing, f"{name}: parameters not described in the docstring: {missing}"
