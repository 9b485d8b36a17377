"""Baselines: what a user gets without sweeper, fit on the same training windows.

For numbers (forecasts and numbers per sequence) every baseline predicts in the model's scaled
units, from the same inputs the model reads:

- "last value": each target's last value in the window, for every step forecast;
- "same season last period": each step's value one season earlier, where the data have a
  season and the window holds one;
- "training mean": each target's mean over the training windows;
- "linear (ridge)": a linear model of the whole window and the known-ahead values, fit in closed
  form with its ridge penalty chosen on the validation windows (as the sweep chooses its own
  configurations).

For classes: "majority class" (the training class shares for every sequence) and "linear
classifier" (multinomial logistic regression on the whole sequence, its L2 penalty chosen on
validation). A baseline that cannot be fit is left out with the reason. Each is a function of
scaled windows (x, k) that returns the prediction (for classes: logits), so the same code that
scores the delivered model scores them (see worth). No torch at module level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Ridge penalties tried, relative to the features' count (they are standardized).
RIDGE_ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)
# L2 penalties tried for the linear classifier.
LOGISTIC_L2 = (1e-4, 1e-3, 1e-2, 1e-1)
# Fewer training windows than this fit no linear model worth the name.
MIN_WINDOWS = 5

Predict = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Baselines:
    """Fitted baselines by name, and why any other was left out."""

    predict: dict[str, Predict]
    left_out: dict[str, str]


def _features(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The whole window and the known-ahead values as one row per window."""
    return np.column_stack([x.reshape(len(x), -1), k.reshape(len(k), -1)]).astype(np.float64)


def ridge(train: tuple[np.ndarray, ...], val: tuple[np.ndarray, ...],
          loss: Callable[[np.ndarray, np.ndarray], float]) -> Predict:
    """A ridge regression of y on the window and known-ahead values, in closed form, with the
    penalty of RIDGE_ALPHAS (times the feature count) that does best on validation by `loss`.
    Features and targets are centred on the training windows (the intercept is not
    penalized); one eigendecomposition serves every penalty, of the features' Gram matrix or,
    when there are more features than windows, of the windows' (so a long sequence of many
    features costs what its windows do)."""
    (x, k, y), (vx, vk, vy) = train, val
    a, targets = _features(x, k), y.reshape(len(y), -1).astype(np.float64)
    mean_a, mean_y = a.mean(axis=0), targets.mean(axis=0)
    a, targets = a - mean_a, targets - mean_y
    n, p = a.shape
    if p <= n:
        values, vectors = np.linalg.eigh(a.T @ a)
        projected = vectors.T @ (a.T @ targets)

        def weights(alpha: float) -> np.ndarray:
            return vectors @ (projected / (values + alpha * p)[:, None])
    else:
        values, vectors = np.linalg.eigh(a @ a.T)
        projected = vectors.T @ targets

        def weights(alpha: float) -> np.ndarray:
            return a.T @ (vectors @ (projected / (values + alpha * p)[:, None]))

    def predictor(w: np.ndarray) -> Predict:
        return lambda bx, bk: (_features(bx, bk) - mean_a) @ w + mean_y

    candidates = [predictor(weights(alpha)) for alpha in RIDGE_ALPHAS]
    return min(candidates, key=lambda f: loss(f(vx, vk), vy) if len(vy) else 0.0)


def logistic(train: tuple[np.ndarray, ...], val: tuple[np.ndarray, ...], n_classes: int,
             loss: Callable[[np.ndarray, np.ndarray], float]) -> Predict:
    """Multinomial logistic regression on the whole sequence (full-batch L-BFGS), with the L2
    penalty of LOGISTIC_L2 that does best on validation by `loss`."""
    import torch

    (x, _, y), (vx, _, vy) = train, val
    a = torch.from_numpy(x.reshape(len(x), -1).astype(np.float64))
    labels = torch.from_numpy(y.reshape(-1).astype(np.int64))

    def fit(l2: float) -> tuple[torch.Tensor, torch.Tensor]:
        w = torch.zeros(a.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            opt.zero_grad()
            value = torch.nn.functional.cross_entropy(a @ w + b, labels) + l2 * (w ** 2).sum()
            value.backward()
            return value

        opt.step(closure)
        return w.detach(), b.detach()

    def predict_with(params: tuple[torch.Tensor, torch.Tensor]) -> Predict:
        w, b = params
        return lambda bx, bk: (torch.from_numpy(bx.reshape(len(bx), -1).astype(np.float64))
                               @ w + b).numpy()

    candidates = [predict_with(fit(l2)) for l2 in LOGISTIC_L2]
    return min(candidates, key=lambda p: loss(p(vx, None), vy) if len(vy) else 0.0)


def seasonal(season: int | None, window: int, horizon: int, n_targets: int
             ) -> tuple[Predict | None, str | None]:
    """The same season last period: for forecast step j, each target's value `season` steps
    before it (whole seasons back, within the window); or why it cannot be."""
    if not season:
        return None, ("the data have no season (set Data.season; monthly, quarterly, weekly, "
                      "daily or hourly dates give one)")
    if window < season:
        return None, f"the window ({window}) is shorter than the season ({season})"

    def predict(x: np.ndarray, k: np.ndarray) -> np.ndarray:
        steps = [window - season + (j % season) for j in range(horizon)]
        return x[:, steps, :n_targets].reshape(len(x), horizon * n_targets)

    return predict, None


def for_numbers(train: tuple[np.ndarray, ...], val: tuple[np.ndarray, ...], horizon: int,
                n_targets: int, season: int | None,
                loss: Callable[[np.ndarray, np.ndarray], float], window: int | None = None
                ) -> Baselines:
    """The baselines of a forecast (`window` steps read; None for whole sequences, which have
    no last value or season) or of numbers per sequence."""
    x, k, y = train
    mean = y.reshape(len(y), -1).mean(axis=0)
    predict: dict[str, Predict] = {}
    left_out: dict[str, str] = {}
    if window:
        predict["last value"] = lambda bx, bk: np.tile(bx[:, -1, :n_targets], (1, horizon))
        fn, why = seasonal(season, window, horizon, n_targets)
        if fn is not None:
            predict["same season last period"] = fn
        else:
            left_out["same season last period"] = why
    predict["training mean"] = lambda bx, bk: np.tile(mean, (len(bx), 1))
    if len(y) < MIN_WINDOWS:
        left_out["linear (ridge)"] = (f"too few training windows ({len(y)}; it needs "
                                      f"{MIN_WINDOWS})")
    else:
        predict["linear (ridge)"] = ridge(train, val, loss)
    return Baselines(predict, left_out)


def for_classes(train: tuple[np.ndarray, ...], val: tuple[np.ndarray, ...], prior: np.ndarray,
                loss: Callable[[np.ndarray, np.ndarray], float]) -> Baselines:
    """The majority class (as the training class shares) and a linear classifier."""
    logits = np.log(np.clip(prior, 1e-12, None))
    predict: dict[str, Predict] = {"majority class": lambda bx, bk: np.tile(logits,
                                                                           (len(bx), 1))}
    left_out: dict[str, str] = {}
    if len(train[2]) < MIN_WINDOWS:
        left_out["linear classifier"] = (f"too few training sequences ({len(train[2])}; it "
                                         f"needs {MIN_WINDOWS})")
    else:
        predict["linear classifier"] = logistic(train, val, len(prior), loss)
    return Baselines(predict, left_out)
