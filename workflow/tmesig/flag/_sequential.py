"""Sequential Monte Carlo p-values for the null calibration (Besag & Clifford 1991).

A fixed number of null sets ``n`` cannot give a p-value below ``1 / (n + 1)``; drawing many
more for every test would cost ``n_tests × n_max`` draws. Besag & Clifford (1991,
Biometrika 78:301, "Sequential Monte Carlo p-values") draw null statistics one at a time
and stop once ``h`` of them are at least as extreme as the observed one: after ``L``
draws, ``p = h / L``; when ``n_max`` draws give ``k < h`` such statistics,
``p = (k + 1) / (n_max + 1)``. The p-value is exact (``P(p <= u) <= u`` under the null),
tests far from significance stop after a few draws, and the smallest attainable p is
``1 / (n_max + 1)``.

Here the first ``n_null`` null sets are drawn for every test (batch 0, one pass over the
matrix). A test with at least ``h`` hits among them keeps the fixed-``n_null`` p-value
``(k + 1) / (n_null + 1)`` (as before); a test with fewer goes on drawing, in batches, in
the Besag–Clifford way, counting the first ``n_null`` draws. The mixture is still exact:
the fixed p-value of a test that stops at batch 0 is at least ``(h + 1) / (n_null + 1)``,
every continued p-value is below ``h / n_null``, and on each side of that gap the event
``p <= u`` is an event of a valid p-value. The batches only change when the work is done,
not the p-value: hits are counted in draw order.
"""

import logging
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

#: Null sets per extra batch (a batch is drawn for every set with a test still drawing).
BATCH = 2000


@dataclass(frozen=True)
class SequentialOptions:
    """When to draw more null sets.

    Attributes
    ----------
    n_max : int
        Most null sets of a test (smallest attainable p: ``1 / (n_max + 1)``).
    hits : int
        Stop a test once this many null statistics are at least as extreme (``h``).
    batch : int
        Null sets drawn per extra batch.
    """

    n_max: int
    hits: int = 10
    batch: int = BATCH


@dataclass
class SequentialTest:
    """One compartment × set while it draws: its statistic and its standardisation.

    Attributes
    ----------
    t_obs : float
        The observed statistic (mean standardised contrast over samples).
    mu, sd : ndarray
        Per sample: mean and SD of the first ``n_null`` null contrasts (signed); every
        further null contrast is standardised with them.
    sign : float
        +1 for ``up`` sets, -1 for ``down`` sets.
    hits, drawn : int
        Null statistics at least as extreme so far, and null sets drawn so far.
    p : float or None
        The p-value once the test has stopped.
    """

    t_obs: float
    mu: np.ndarray
    sd: np.ndarray
    sign: float
    hits: int
    drawn: int
    p: float | None = None

    def statistics(self, contrasts: np.ndarray) -> np.ndarray:
        """Null statistics of a batch: mean over samples of the standardised contrasts.

        Parameters
        ----------
        contrasts
            Samples × null sets within-sample contrasts (same samples as ``mu``).
        """
        z = (self.sign * contrasts - self.mu[:, None]) / self.sd[:, None]
        with np.errstate(all="ignore"):
            return np.nanmean(z, axis=0) if len(z) else np.full(contrasts.shape[1], np.nan)

    def advance(self, t_null: np.ndarray, *, options: SequentialOptions) -> None:
        """Count a batch's null statistics in draw order; stop at ``h`` hits or ``n_max``.

        Parameters
        ----------
        t_null
            The next null statistics, in the order they were drawn.
        options
            :class:`SequentialOptions`.
        """
        if self.p is not None:
            return
        take = max(0, min(len(t_null), options.n_max - self.drawn))
        cum = self.hits + np.cumsum(np.asarray(t_null[:take]) >= self.t_obs)
        reached = np.flatnonzero(cum >= options.hits)
        if reached.size:
            self.drawn += int(reached[0]) + 1
            self.hits = options.hits
            self.p = options.hits / self.drawn
            return
        self.hits = int(cum[-1]) if take else self.hits
        self.drawn += take
        if self.drawn >= options.n_max:
            self.p = (self.hits + 1) / (self.drawn + 1)


def run_sequential(
    tests: Mapping[str, Mapping[Hashable, SequentialTest]],
    more: Callable[[str, int, int, list], Mapping[Hashable, np.ndarray]],
    *,
    options: SequentialOptions,
) -> None:
    """Draw batches for every set until each of its tests has stopped.

    Every test that still draws has drawn the same number of null sets (batch 0, then
    whole batches), so the size of batch ``b`` is the same for all of them: one draw of a
    batch serves every test of the set (of either level).

    Parameters
    ----------
    tests
        ``{set: {key: SequentialTest}}`` of the tests that go on drawing (key: a
        compartment, or any label of one, e.g. ``(level, compartment)``).
    more
        ``more(set, batch, size, keys)``: ``{key: samples × size contrasts}`` of batch
        ``batch`` (1, 2, ...) of the set's further null sets, for the tests ``keys`` that
        are still drawing.
    options
        :class:`SequentialOptions`.
    """
    for name, by_key in tests.items():
        batch = 0
        while going := [k for k, t in by_key.items() if t.p is None]:
            batch += 1
            drawn = min(by_key[k].drawn for k in going)
            size = min(options.batch, options.n_max - drawn)
            contrasts = more(name, batch, size, going)
            for key in going:
                test = by_key[key]
                test.advance(test.statistics(contrasts[key]), options=options)


def needs_more(flags: pd.DataFrame, *, hits: int, n_null: int) -> set[tuple[str, str]]:
    """The compartment × set rows whose final p can change with more null sets.

    A row's p is ``max(p_samples, p_null)``. A test that goes on drawing ends with
    ``p_null < hits / n_null``, and one that stops at batch 0 has ``p_null <= hits /
    (n_null + 1)`` when it has fewer than ``hits`` hits: with ``p_samples >= hits / n_null``
    (or no sample-level test) the row's p is the same either way, and no more null sets are
    drawn for it.

    Parameters
    ----------
    flags
        :func:`tmesig.flag.flag_compartments` (``compartment``, ``set``, ``p``).
    hits, n_null
        ``h`` and the null sets of batch 0.
    """
    keep = flags["p"].notna() & (flags["p"] < hits / max(n_null, 1))
    return set(zip(flags.loc[keep, "compartment"], flags.loc[keep, "set"], strict=True))


def log_resolution(
    flags: pd.DataFrame, *, alpha: float, n_null: int, n_null_max: int | None
) -> str:
    """Log (and return) the smallest attainable p beside ``alpha / n_primary``.

    Parameters
    ----------
    flags
        :func:`tmesig.flag.calibrate_flags` (``family``, ``p``).
    alpha
        The FDR level.
    n_null, n_null_max
        Null sets of batch 0, and the most null sets of a test (``None``: no sequential
        draws).
    """
    n_max = max(n_null, n_null_max or 0)
    n_primary = int(((flags["family"] == "primary") & flags["p"].notna()).sum())
    smallest = 1.0 / (n_max + 1)
    need = alpha / max(n_primary, 1)
    line = (
        f"null calibration: smallest attainable p_null = 1/({n_max}+1) = {smallest:.3g}; "
        f"alpha / n_primary = {alpha:g}/{n_primary} = {need:.3g}"
    )
    if smallest < need:
        logger.info("%s: a single primary test can reach FDR <= alpha", line)
    else:
        line += (
            f"; too coarse for the smallest p to pass: set flag.n_null_max above "
            f"{int(np.ceil(n_primary / alpha))}"
        )
        logger.warning(line)
    return line


def drawn_counts(tests: Iterable[tuple[tuple[str, str], SequentialTest]]) -> pd.DataFrame:
    """``compartment``, ``set``, ``p_null``, ``n_null`` of stopped tests.

    Parameters
    ----------
    tests
        ``((compartment, set), SequentialTest)`` pairs.
    """
    rows = [{"compartment": c, "set": s, "p_null": t.p, "n_null": t.drawn} for (c, s), t in tests]
    return pd.DataFrame(rows, columns=["compartment", "set", "p_null", "n_null"])
