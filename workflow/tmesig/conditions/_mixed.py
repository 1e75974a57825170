"""Linear mixed model of sample means with a random intercept per patient (statsmodels MixedLM).

Used when some patients were sampled in both conditions and others in one only: the model
``value ~ 1 + condition + (1 | patient)`` uses every patient. Patients seen in both conditions
inform the effect within patients, the others between patients; the random intercept weighs
the two by the estimated variance components (REML). In a balanced design where every
patient has one sample per condition, the estimate and its standard error equal those of the
paired t-test on the differences.

statsmodels reports z-tests, which are too liberal with the few patients of a cohort: the
p-value and interval use a t distribution with Satterthwaite's degrees of freedom instead
(Satterthwaite 1946; as lmerTest, Kuznetsova et al. 2017, doi:10.18637/jss.v082.i13),
computed from the REML variance components, bounded to ``[1, n_samples − 2]``. In the
balanced paired design they are ``n − 1``, as for the paired t-test.
The fit is deterministic (derivative-free Powell search, then BFGS). A fit that fails
(an exception, no convergence, a non-finite or zero standard error) is reported with its
reason, never silently: the caller falls back to an exact test and says so.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM

__all__ = ["MixedFit", "mixed_model", "satterthwaite_df"]

#: Optimisers tried in turn: Powell copes with a variance at the boundary (0).
_METHODS = ("powell", "bfgs")
#: Between-patient variance below this fraction of the residual variance counts as 0.
_BOUNDARY = 1e-6


@dataclass(frozen=True)
class MixedFit:
    """Result of :func:`mixed_model`.

    Parameters
    ----------
    effect, se : float
        Estimated ``test − reference`` difference and its standard error (NaN on failure).
    ci_low, ci_high, p : float
        ``1 − alpha`` interval and two-sided p (t with ``df`` degrees of freedom).
    df : float
        Satterthwaite's degrees of freedom of the effect.
    var_patient, var_residual : float
        REML variance components: between patients, within patients (residual).
    note : str
        What the reader should know (a variance at the boundary).
    failed : str
        Why the fit failed; ``""`` when it succeeded.
    """

    effect: float = np.nan
    se: float = np.nan
    ci_low: float = np.nan
    ci_high: float = np.nan
    p: float = np.nan
    df: float = np.nan
    var_patient: float = np.nan
    var_residual: float = np.nan
    note: str = ""
    failed: str = ""

    @property
    def std_effect(self) -> float:
        """``effect`` over the total SD, ``sqrt(var_patient + var_residual)``."""
        total = self.var_patient + self.var_residual
        return float(self.effect / np.sqrt(total)) if total > 0 else np.nan


def mixed_model(
    values: pd.Series, *, patient: pd.Series, is_test: pd.Series, alpha: float = 0.05
) -> MixedFit:
    """Fit ``value ~ 1 + is_test + (1 | patient)`` by REML and test the condition effect.

    Parameters
    ----------
    values
        One value per sample (e.g. a sample's mean score in a compartment).
    patient
        The patient of each sample (the random-intercept groups), aligned with ``values``.
    is_test
        True where the sample is from the test condition, aligned with ``values``.
    alpha
        The interval is ``1 − alpha``.

    Returns
    -------
    MixedFit
        With ``failed`` naming the reason when no usable fit was found.
    """
    df = pd.DataFrame(
        {"y": values.to_numpy(float), "g": patient.astype(str).to_numpy(), "x": is_test.to_numpy()}
    )
    df = df.sort_values(["g", "x"], kind="stable").reset_index(drop=True)
    n_patients = int(df["g"].nunique())
    if n_patients < 3 or df["x"].nunique() < 2:
        return MixedFit(failed="fewer than 3 patients or one condition only")
    if np.ptp(df["y"].to_numpy()) == 0:
        return MixedFit(failed="no variation between samples")
    exog = np.column_stack([np.ones(len(df)), df["x"].to_numpy(float)])
    model = MixedLM(df["y"].to_numpy(), exog, groups=df["g"].to_numpy())
    reason = ""
    for method in _METHODS:
        # statsmodels' warnings are read here, and turned into notes or a failure
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit, reason = _try_fit(model, method, caught)
            if fit is not None:
                return _result(fit, exog, df["g"].to_numpy(), alpha)
    return MixedFit(failed=reason)


def _try_fit(
    model: MixedLM, method: str, caught: list[warnings.WarningMessage]
) -> tuple[object | None, str]:
    """One REML fit; ``(fit, "")`` when usable, else ``(None, reason)``."""
    try:
        fit = model.fit(reml=True, method=method)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as err:
        return None, f"{type(err).__name__}: {err}"
    if not fit.converged:
        said = [str(w.message) for w in caught if "converge" in str(w.message).lower()]
        return None, said[-1] if said else "the optimiser did not converge"
    est, se = float(fit.fe_params[1]), float(fit.bse_fe[1])
    if not (np.isfinite(est) and np.isfinite(se) and se > 0):
        return None, "singular fit (no finite standard error)"
    var_u = float(np.asarray(fit.cov_re)[0, 0])
    if not float(fit.scale) > _BOUNDARY * max(var_u, 0.0):
        return None, "singular fit (within-patient variance estimated at 0)"
    return fit, ""


def satterthwaite_df(
    exog: np.ndarray, groups: np.ndarray, *, var_patient: float, var_residual: float
) -> float:
    """Satterthwaite's degrees of freedom of the second fixed effect of a random-intercept model.

    ``df = 2 C² / Var(C)`` with ``C = [(X'V⁻¹X)⁻¹]₁₁`` the effect's variance and ``Var(C)``
    from its gradient in the two variance components and their REML information
    ``½ tr(P Vₖ P Vₗ)`` (Giesbrecht & Burns 1985).

    Parameters
    ----------
    exog
        Fixed-effects design (samples × 2: intercept, test indicator).
    groups
        The patient of each sample.
    var_patient, var_residual
        The variance components (between patients, residual).

    Returns
    -------
    float
    """
    z = (groups[:, None] == np.unique(groups)[None, :]).astype(float)
    derivs = (z @ z.T, np.eye(len(groups)))
    v_inv = np.linalg.inv(var_residual * derivs[1] + var_patient * derivs[0])
    a = np.linalg.inv(exog.T @ v_inv @ exog)
    p = v_inv - v_inv @ exog @ a @ exog.T @ v_inv
    w = a @ exog.T @ v_inv
    grad = np.array([(w @ d @ w.T)[1, 1] for d in derivs])
    info = 0.5 * np.array([[np.trace(p @ da @ p @ db) for db in derivs] for da in derivs])
    return float(2 * a[1, 1] ** 2 / (grad @ np.linalg.pinv(info) @ grad))


def _result(fit: object, exog: np.ndarray, groups: np.ndarray, alpha: float) -> MixedFit:
    est, se = float(fit.fe_params[1]), float(fit.bse_fe[1])
    var_e = float(fit.scale)
    var_u = float(np.asarray(fit.cov_re)[0, 0])
    note = ""
    if var_u <= _BOUNDARY * var_e:
        var_u = 0.0
        note = "mixed model: between-patient variance estimated at 0 (the fit equals least squares)"
    df = satterthwaite_df(exog, groups, var_patient=var_u, var_residual=var_e)
    df = float(np.clip(df, 1, max(len(groups) - 2, 1))) if np.isfinite(df) else 1.0
    half = float(stats.t.ppf(1 - alpha / 2, df)) * se
    return MixedFit(
        effect=est,
        se=se,
        ci_low=est - half,
        ci_high=est + half,
        p=float(2 * stats.t.sf(abs(est / se), df)),
        df=df,
        var_patient=var_u,
        var_residual=var_e,
        note=note,
    )
