"""One colour map for every figure: lineages, their subsets/states, CNV calls, other labels.

* :data:`PALETTE` — a fixed colour per lineage (:data:`tmesig.constants.LINEAGES`), then
  ``malignant`` and ``unassigned`` (neutral grey);
* :func:`state_colors` — a subset or cell state takes a shade of its parent lineage's hue,
  so a CD8 subset is a blue like ``T_NK`` and a macrophage a red like ``myeloid``;
* :func:`compartment_colors` — lineages, subsets and any other compartment label;
* :func:`category_colors` — samples, patients, author labels (no biological meaning);
* :data:`CNV_COLORS` — ``malignant`` / ``uncertain`` / ``non-malignant`` / ``not run``.
"""

import colorsys
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import matplotlib.colors as mcolors
import scanpy as sc

from ..constants import LINEAGES, MALIGNANT, UNASSIGNED

__all__ = [
    "CNV_COLORS",
    "NEUTRAL",
    "PALETTE",
    "category_colors",
    "compartment_colors",
    "state_colors",
]

#: The neutral grey of ``unassigned`` (and of any "no call") in every figure.
NEUTRAL = "#c7c7c7"

#: Fixed colour of every lineage (in :data:`tmesig.constants.LINEAGES` order), then
#: ``malignant`` and ``unassigned``.
PALETTE: Mapping[str, str] = MappingProxyType(
    dict(
        zip(
            (*LINEAGES, MALIGNANT, UNASSIGNED),
            (
                "#1f77b4",
                "#9467bd",
                "#d62728",
                "#e377c2",
                "#ff9896",
                "#2ca02c",
                "#ff7f0e",
                "#8c564b",
                "#17becf",
                NEUTRAL,
            ),
            strict=True,
        )
    )
)

#: Colours of the copy-number calls (``malignant`` as in :data:`PALETTE`).
CNV_COLORS: Mapping[str, str] = MappingProxyType(
    {
        MALIGNANT: PALETTE[MALIGNANT],
        "uncertain": "#f2b701",
        "non-malignant": "#7f7f7f",
        "not run": NEUTRAL,
    }
)

#: Colours for labels outside :data:`PALETTE`: scanpy's 20-, 28- and 102-colour palettes
#: without the greys (kept for ``unassigned``).
_GREYS = {"#7f7f7f", "#c7c7c7", "#8c8c8c", "#bebebe"}


def _extra(n: int) -> list[str]:
    """``n`` colours: the smallest of scanpy's default palettes that holds them (cycled)."""
    for pal in (sc.pl.palettes.default_20, sc.pl.palettes.default_28, sc.pl.palettes.default_102):
        colors = [mcolors.to_hex(c) for c in pal if mcolors.to_hex(c) not in _GREYS]
        if len(colors) >= n:
            break
    return [colors[k % len(colors)] for k in range(n)]


def category_colors(labels: Sequence[str]) -> dict[str, str]:
    """A colour per label with no biological meaning (sample, patient, author label).

    Parameters
    ----------
    labels : sequence of str
        Labels (repeats allowed).

    Returns
    -------
    dict of str to str
        Each distinct label, sorted, -> hex colour from scanpy's default palettes (20 colours,
        else 28, else 102; greys left out); ``unassigned`` and ``NA`` are grey.
    """
    distinct = sorted(set(map(str, labels)))
    named = [x for x in distinct if x not in (UNASSIGNED, "NA", "nan")]
    colors = dict(zip(named, _extra(len(named)), strict=True))
    return {x: colors.get(x, NEUTRAL) for x in distinct}


def _shades(base: str, n: int) -> list[str]:
    """``n`` shades of ``base``: same hue (shifted a little), lightness spread 0.28-0.72."""
    if n == 1:
        return [mcolors.to_hex(base)]
    h, _, s = colorsys.rgb_to_hls(*mcolors.to_rgb(base))
    out = []
    for k in range(n):
        t = k / (n - 1)
        hue = (h + 0.05 * (t - 0.5)) % 1.0
        rgb = colorsys.hls_to_rgb(hue, 0.28 + 0.44 * t, max(s, 0.3))
        out.append(mcolors.to_hex(rgb))
    return out


def state_colors(parents: Mapping[str, str]) -> dict[str, str]:
    """A colour per subset / cell state: a shade of its parent lineage's :data:`PALETTE` hue.

    Parameters
    ----------
    parents : Mapping of str to str
        State -> parent lineage (e.g. ``{"CD8_exhausted": "T_NK", "macrophage": "myeloid"}``).
        A state named like a lineage, ``malignant`` or ``unassigned`` takes that
        :data:`PALETTE` colour whatever its parent.

    Returns
    -------
    dict of str to str
        Each state -> hex colour. The states of one lineage, sorted, get shades from dark to
        light, so the same states get the same colours in every figure and dataset. States
        whose parent is not in :data:`PALETTE` take :func:`category_colors`.
    """
    out: dict[str, str] = {}
    by_parent: dict[str, list[str]] = {}
    for state, parent in parents.items():
        if state in PALETTE:
            out[state] = PALETTE[state]
        elif parent in PALETTE and parent != UNASSIGNED:
            by_parent.setdefault(parent, []).append(state)
        else:
            by_parent.setdefault("", []).append(state)
    for parent, states in by_parent.items():
        states = sorted(states)
        if parent:
            out |= dict(zip(states, _shades(PALETTE[parent], len(states)), strict=True))
        else:
            out |= category_colors(states)
    return {state: out[state] for state in parents}


def compartment_colors(
    labels: Sequence[str], *, parents: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A fixed colour per compartment, subset or state name (stable across datasets).

    Parameters
    ----------
    labels : sequence of str
        Labels (repeats allowed).
    parents : Mapping of str to str, optional
        Every subset / state of the marker file -> its parent lineage (see
        :func:`state_colors`; pass all of them, not only those present, so that the shades
        do not depend on which states a dataset holds).

    Returns
    -------
    dict of str to str
        Each distinct label, sorted, -> hex colour: the :data:`PALETTE` colour for lineages,
        ``malignant`` and ``unassigned``; a shade of the parent lineage for states named in
        ``parents``; else, in sorted order, scanpy's default colours that are neither grey
        nor in :data:`PALETTE`.
    """
    states = state_colors(dict(parents)) if parents else {}
    distinct = sorted(set(map(str, labels)))
    out = {x: PALETTE.get(x, states.get(x, "")) for x in distinct}
    unknown = [x for x in distinct if not out[x]]
    used = set(PALETTE.values())
    extra = [c for c in _extra(len(unknown) + len(used)) if c not in used] or [NEUTRAL]
    out |= {x: extra[k % len(extra)] for k, x in enumerate(unknown)}
    return out
