"""pydeseq2's inference with its per-gene linear fit done by scipy directly (same numbers).

:class:`pydeseq2.default_inference.DefaultInference` fits the first mean of every gene (when
the design has one sample group per coefficient) with a scikit-learn ``LinearRegression``
per gene; scikit-learn's input checks cost about 5 ms a gene, most of the stage's time at
3,000 genes per compartment. ``LinearRegression(fit_intercept=False)`` is
``scipy.linalg.lstsq(X, y, cond=tol)`` followed by ``X @ coef + 0.0``: :class:`FastInference`
makes those calls itself, gene by gene, so the results are bit-identical (unit test against
pydeseq2's own ``fit_lin_mu``). Every other step is pydeseq2's, run on ``n_cpus`` processes
(each gene is fitted on its own, so the number of processes does not change a result).
"""

import numpy as np
from pydeseq2.default_inference import DefaultInference
from scipy import linalg

__all__ = ["FastInference", "lin_mu"]

#: scikit-learn ``LinearRegression``'s default ``tol``, passed to ``lstsq`` as ``cond``.
_SK_TOL = 1e-6


def lin_mu(
    counts: np.ndarray, size_factors: np.ndarray, design_matrix: np.ndarray, *, min_mu: float
) -> np.ndarray:
    """Per gene, the fitted means of a least-squares fit of normalised counts on the design.

    The same numbers as ``pydeseq2.utils.fit_lin_mu`` (scikit-learn's ``LinearRegression``
    without intercept) applied to each column.

    Parameters
    ----------
    counts : numpy.ndarray
        Samples × genes raw counts.
    size_factors : numpy.ndarray
        Per sample size factor.
    design_matrix : numpy.ndarray
        Samples × coefficients.
    min_mu : float
        Lower bound of the fitted means.

    Returns
    -------
    numpy.ndarray
        Samples × genes fitted means.
    """
    out = np.empty(counts.shape, dtype=np.float64)
    for i in range(counts.shape[1]):
        coef = linalg.lstsq(design_matrix, counts[:, i] / size_factors, cond=_SK_TOL)[0]
        out[:, i] = np.maximum(size_factors * (design_matrix @ coef + 0.0), min_mu)
    return out


class FastInference(DefaultInference):
    """:class:`~pydeseq2.default_inference.DefaultInference` with :func:`lin_mu`."""

    def lin_reg_mu(
        self,
        counts: np.ndarray,
        size_factors: np.ndarray,
        design_matrix: np.ndarray,
        min_mu: float,
    ) -> np.ndarray:
        """pydeseq2's ``Inference.lin_reg_mu`` through :func:`lin_mu` (same numbers).

        Parameters
        ----------
        counts : numpy.ndarray
            Samples × genes raw counts.
        size_factors : numpy.ndarray
            Per sample size factor.
        design_matrix : numpy.ndarray
            Samples × coefficients.
        min_mu : float
            Lower bound of the fitted means.

        Returns
        -------
        numpy.ndarray
            Samples × genes fitted means.
        """
        return lin_mu(counts, size_factors, design_matrix, min_mu=min_mu)
