"""A small, readable figure holding one sentence, for an output that has nothing to draw."""

import textwrap

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["note_figure"]


def note_figure(text: str, *, title: str = "Nothing to show") -> Figure:
    """A framed 8.5 x 2.4 in figure with a title and one wrapped sentence (no empty strip).

    Parameters
    ----------
    text : str
        The sentence: what is missing and why (and what to do about it).
    title : str
        Bold first line.

    Returns
    -------
    matplotlib.figure.Figure
        One axes, frame kept and ticks off, so that saving with ``bbox_inches="tight"`` keeps
        the whole box (at 120 dpi about 1,000 x 300 px).
    """
    fig = plt.figure(figsize=(8.5, 2.4))
    ax = fig.add_axes((0.01, 0.02, 0.98, 0.96))
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("0.8")
    ax.text(0.5, 0.68, title, ha="center", va="center", fontsize=13, weight="bold")
    ax.text(0.5, 0.35, textwrap.fill(text, 80), ha="center", va="center", fontsize=10)
    return fig
