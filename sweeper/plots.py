"""Figures: compute what to draw, then draw it, for every figure sweeper makes.

Learning curves (`curve_figure_data`, `draw_curves`), the study's overview and its best trials'
repeats, and a delivered model's predictions (a forecast over time, a confusion matrix, a
scatter of numbers; each task says which of them suits its predictions). Each data step is
plain numpy and testable; each `draw_*` only draws with matplotlib (Agg, no display needed) and
returns the Figure. Conventions follow the tutorial: epoch on x, loss on y,
train vs validation with a legend and a title; one line per repeat; a log y-axis when the curves
span more than a decade, so that a small absolute rise that is large relative to the loss is
visible. The best epoch, the label and the reason are marked on the plot.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

TRAIN_COLOR = "tab:blue"
VAL_COLOR = "tab:orange"
# Curves spanning more than this ratio (max / min) are drawn on a log axis.
LOG_SPAN = 10.0


class CurveFigureData(NamedTuple):
    epochs: np.ndarray  # (n_epochs,), 1-based
    train: np.ndarray  # (n_repeats, n_epochs), NaN where a repeat had stopped
    val: np.ndarray
    best_epochs: list[int | None]  # per repeat
    log_y: bool
    title: str
    caption: str  # label and reason, wrapped
    grad_norm: np.ndarray | None  # (n_repeats, n_epochs) or None
    metrics: dict[str, np.ndarray] | None = None  # validation accuracy, ...: name -> curves


def _pad(rows: list[Any]) -> np.ndarray:
    n = max((len(r) for r in rows), default=0)
    out = np.full((len(rows), n), np.nan)
    for i, r in enumerate(rows):
        out[i, : len(r)] = np.asarray(r, dtype=float)
    return out


def curve_figure_data(train: list[Any], val: list[Any], *, title: str, label: str = "",
                      reason: str = "", best_epochs: list[int | None] | None = None,
                      grad_norm: list[Any] | None = None,
                      metrics: dict[str, list[Any]] | None = None) -> CurveFigureData:
    """Everything the learning-curve figure shows, from per-repeat curves (ragged lists ok)."""
    tr, va = _pad(train), _pad(val)
    both = np.concatenate([tr[np.isfinite(tr)], va[np.isfinite(va)]])
    positive = both[both > 0]
    log_y = bool(positive.size and positive.max() / positive.min() > LOG_SPAN)
    if best_epochs is None:
        best_epochs = [int(np.nanargmin(v)) + 1 if np.isfinite(v).any() else None for v in va]
    caption = f"{label}: {reason}" if label else reason
    return CurveFigureData(
        epochs=np.arange(1, tr.shape[1] + 1), train=tr, val=va, best_epochs=list(best_epochs),
        log_y=log_y, title=title, caption="\n".join(textwrap.wrap(caption, 110)),
        grad_norm=None if grad_norm is None else _pad(grad_norm),
        metrics={k: _pad(v) for k, v in metrics.items()} if metrics else None,
    )


def _log_axis(ax: Any) -> None:
    """Log y-axis with plain labels and no minor ticks: each tick costs a copy when drawn, and
    math-text labels a parse, which together were most of a figure's drawing time."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(numticks=6))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.minorticks_off()


def draw_curves(data: CurveFigureData) -> Any:
    """A matplotlib Figure of the learning curves (and gradient norms, when present)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    panels = ["loss"] + (["grad"] if data.grad_norm is not None else []) + \
        list(data.metrics or {})
    rows = len(panels)
    # Fixed margins: a layout engine would double the drawing time, once per trial.
    fig = Figure(figsize=(8, 4.8 + 1.6 * (rows - 1)))
    fig.subplots_adjust(left=0.12, right=0.98, top=0.94, bottom=0.08, hspace=0.06)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False,
                        height_ratios=[3] + [1] * (rows - 1))[:, 0]
    ax = axes[0]
    for r in range(data.train.shape[0]):
        ax.plot(data.epochs, data.train[r], color=TRAIN_COLOR, alpha=0.8, lw=1,
                label="train" if r == 0 else None)
        ax.plot(data.epochs, data.val[r], color=VAL_COLOR, alpha=0.8, lw=1,
                label="validation" if r == 0 else None)
        best = data.best_epochs[r] if r < len(data.best_epochs) else None
        if best is not None and best <= data.val.shape[1]:
            ax.plot([best], [data.val[r, best - 1]], "o", color=VAL_COLOR, ms=4,
                    label="best epoch" if r == 0 else None)
    if data.log_y:
        _log_axis(ax)
    ax.set_ylabel("loss" + (" (log scale)" if data.log_y else ""))
    ax.set_title(data.title)
    ax.legend(loc="upper right")
    ax.text(0.01, 0.02, data.caption, transform=ax.transAxes, fontsize=8, va="bottom",
            bbox={"boxstyle": "round", "fc": "white", "alpha": 0.85, "lw": 0.5})
    if data.grad_norm is not None:
        g = axes[panels.index("grad")]
        for r in range(data.grad_norm.shape[0]):
            g.plot(data.epochs[: data.grad_norm.shape[1]], data.grad_norm[r], color="tab:gray",
                   lw=1, alpha=0.8)
        _log_axis(g)
        g.set_ylabel("grad norm")
    for name, curves in (data.metrics or {}).items():
        m = axes[panels.index(name)]
        for r in range(curves.shape[0]):
            m.plot(data.epochs[: curves.shape[1]], curves[r], color=VAL_COLOR, lw=1, alpha=0.8)
        m.set_ylabel(f"val {name.replace('_', '-')}")
    axes[-1].set_xlabel("epoch")
    return fig


def _fixed_margins(fig: Any, rows: int = 1, cols: int = 1, *, left: float = 0.75,
                   right: float = 0.2, bottom: float = 0.55, top: float = 0.45,
                   wgap: float = 0.8, hgap: float = 0.65) -> None:
    """Margins and gaps between panels in inches, whatever the figure's size: room for tick
    labels, axis labels and titles. A layout engine measures every label instead and doubles
    the drawing time of the figures each sweep ends with."""
    w, h = fig.get_size_inches()
    panel_w = (w - left - right - (cols - 1) * wgap) / cols
    panel_h = (h - top - bottom - (rows - 1) * hgap) / rows
    fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h,
                        wspace=wgap / panel_w, hspace=hgap / panel_h)


def save_png(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Fast zlib level: a third of the encoding time for a slightly larger file.
    fig.savefig(path, format="png", dpi=90, pil_kwargs={"compress_level": 1})
    return path


LABEL_COLORS = {"underfit": "tab:purple", "good": "tab:green", "overfit": "tab:red",
                "mixed": "tab:olive", "diverged": "black", "": "tab:gray"}


class OverviewData(NamedTuple):
    """Each searched parameter against score, one point per finished trial."""

    params: dict[str, tuple[list[Any], list[float], list[str]]]  # name -> (values, scores, labels)
    title: str
    children: dict[str, list[bool]] = {}  # name -> whether each point is a repair's child


def overview_data(trials: list[dict[str, Any]], title: str) -> OverviewData:
    """From [{"params": {...}, "score": float, "label": str, "child": bool}], complete trials
    only."""
    params: dict[str, tuple[list[Any], list[float], list[str]]] = {}
    children: dict[str, list[bool]] = {}
    for t in trials:
        for name, value in t["params"].items():
            values, scores, labels = params.setdefault(name, ([], [], []))
            values.append(value)
            scores.append(t["score"])
            labels.append(t.get("label") or "")
            children.setdefault(name, []).append(bool(t.get("child")))
    return OverviewData(params, title, children)


def draw_overview(data: OverviewData) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    n = max(1, len(data.params))
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(4 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    _fixed_margins(fig, rows, cols)
    for ax, (name, (values, scores, labels)) in zip(axes, sorted(data.params.items()),
                                                    strict=False):
        child = data.children.get(name) or [False] * len(values)
        for label in LABEL_COLORS:
            for is_child, marker in ((False, "o"), (True, "^")):
                pts = [(v, s) for v, s, lbl, c in zip(values, scores, labels, child, strict=True)
                       if lbl == label and c is is_child]
                if pts:
                    ax.scatter(*zip(*pts, strict=True), color=LABEL_COLORS[label], s=18,
                               marker=marker, label=(label or "no label") +
                               (" (a repair's child)" if is_child else ""))
        numeric = all(isinstance(v, (int, float)) for v in values)
        positive = numeric and min(values) > 0
        if positive and max(values) / min(values) > 50:
            ax.set_xscale("log")
        if scores and min(scores) > 0 and max(scores) / min(scores) > LOG_SPAN:
            ax.set_yscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel("score")
    for ax in axes[len(data.params):]:
        ax.set_visible(False)
    if data.params:
        axes[0].legend(fontsize=8)
    fig.suptitle(data.title)
    return fig


def draw_multiple_runs(panels: list[CurveFigureData], title: str) -> Any:
    """The tutorial's "multiple runs" figure: every repeat's train (blue) and validation
    (orange) curves, one panel per trial."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    n = max(1, len(panels))
    fig = Figure(figsize=(4.5 * n, 3.6))
    axes = fig.subplots(1, n, squeeze=False)[0]
    _fixed_margins(fig, 1, n, top=0.7)  # the figure's title and each panel's
    for ax, d in zip(axes, panels, strict=False):
        for r in range(d.train.shape[0]):
            ax.plot(d.epochs, d.train[r], color=TRAIN_COLOR, lw=1, alpha=0.8,
                    label="train" if r == 0 else None)
            ax.plot(d.epochs, d.val[r], color=VAL_COLOR, lw=1, alpha=0.8,
                    label="validation" if r == 0 else None)
        if d.log_y:
            ax.set_yscale("log")
        ax.set_title(d.title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend(fontsize=8, loc="upper right")
    fig.suptitle(title)
    return fig


SPLIT_SHADES = {"validation": "tab:orange", "test": "tab:red", "new": "tab:gray",
                "future": "tab:green"}


class ForecastPath(NamedTuple):
    """One window's forecast of every step of its horizon."""

    split: str  # validation, test, new or future
    x: np.ndarray  # (horizon,) times or positions of the steps forecast
    prediction: np.ndarray  # (horizon,)
    bands: dict[str, tuple[np.ndarray, np.ndarray]]  # level in percent -> (lower, upper)
    naive: np.ndarray  # (horizon,) the last known value repeated


class ForecastFigureData(NamedTuple):
    """A delivered model's forecasts for one series and target: the whole history of the
    target, the one-step-ahead predictions, a few windows' forecasts of every step (from the
    validation and test periods, and the forecast past the end) with their intervals and the
    naive forecast, and the periods shaded by split."""

    history: tuple[np.ndarray, np.ndarray]  # x, target: every known value, in order
    one_step: tuple[np.ndarray, np.ndarray]  # x, prediction of each window's first step
    paths: list[ForecastPath]
    spans: list[tuple[str, Any, Any]]  # (split, first x, last x)
    title: str
    xlabel: str
    ylabel: str


# Windows per period whose every step the forecast figure draws (the latest ones, spaced).
PATHS_PER_SPLIT = 2


def forecast_figure_data(rows: Any, title: str, target: str = "value") -> ForecastFigureData:
    """From `DeliveredModel.predict`'s table: the first series and target (`target` names a
    lone one; with several the table says which)."""
    if "series" in rows:
        first = rows["series"].iloc[0]
        rows = rows[rows["series"] == first]
        title = f"{title}, series {first}"
    if "variable" in rows:
        target = str(rows["variable"].iloc[0])
        rows = rows[rows["variable"] == target]
    rows = rows.reset_index(drop=True)
    x = "time" if "time" in rows else "position"
    h = int(rows["step"].max()) if "step" in rows else 1
    known = rows[rows["target"].notna()].drop_duplicates(x).sort_values(x)
    history = (known[x].to_numpy(), known["target"].to_numpy(float))
    starts = rows.iloc[::h]
    past = starts[starts["split"] != "future"]
    one_step = (past[x].to_numpy(), past["prediction"].to_numpy(float))
    levels = sorted((c[len("lower_"):] for c in rows.columns if c.startswith("lower_")),
                    key=float, reverse=True)
    chosen = [at for split in ("validation", "test", "new")
              for at in _spaced(np.flatnonzero(starts["split"].to_numpy() == split), h)]
    chosen += list(np.flatnonzero(starts["split"].to_numpy() == "future"))
    paths = [_path(rows.iloc[k * h:(k + 1) * h], x, levels, history) for k in chosen]
    spans = [(str(split), part[x].min(), part[x].max())
             for split, part in rows.groupby("split", sort=False)]
    return ForecastFigureData(history, one_step, paths, spans, title, x,
                              f"{target} (the data's own units)")


def _spaced(windows: np.ndarray, horizon: int) -> list[int]:
    """The last PATHS_PER_SPLIT windows of a period, a horizon or more apart."""
    picked: list[int] = []
    for k in windows[::-1]:
        if len(picked) == PATHS_PER_SPLIT:
            break
        if not picked or picked[-1] - k >= horizon:
            picked.append(int(k))
    return picked[::-1]


def _path(window: Any, x: str, levels: list[str], history: tuple[np.ndarray, np.ndarray]
          ) -> ForecastPath:
    """One window's steps, with the naive forecast: the last value known before them."""
    first = window[x].iloc[0]
    before = history[1][history[0] < first]
    last = before[-1] if len(before) else np.nan
    return ForecastPath(str(window["split"].iloc[0]), window[x].to_numpy(),
                        window["prediction"].to_numpy(float),
                        {level: (window[f"lower_{level}"].to_numpy(float),
                                 window[f"upper_{level}"].to_numpy(float)) for level in levels},
                        np.full(len(window), last))


PATH_COLORS = {"validation": "tab:purple", "test": "tab:red", "new": "tab:purple",
               "future": "tab:green"}


def draw_forecast(data: ForecastFigureData) -> Any:
    """The target, the one-step-ahead predictions, and each chosen window's forecast of every
    step with its intervals and the naive forecast; the legend sits beside the plot."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.5))
    ax = fig.subplots()
    _fixed_margins(fig, top=0.45, right=3.2)
    for split, first, last in data.spans:
        if split in SPLIT_SHADES:
            ax.axvspan(first, last, color=SPLIT_SHADES[split], alpha=0.07, lw=0,
                       label=f"{split} period")
    ax.plot(*data.history, color="black", lw=1, label="target")
    ax.plot(*data.one_step, color=VAL_COLOR, lw=0.9, alpha=0.8,
            label="one step ahead (every window)")
    said = set()
    for path in data.paths:
        color = PATH_COLORS.get(path.split, "tab:purple")
        for i, (level, (low, high)) in enumerate(path.bands.items()):
            ax.fill_between(path.x, low, high, color=color, alpha=0.12 + 0.1 * i, lw=0,
                            label=None if (level, color) in said else
                            f"{level}% interval ({path.split})")
            said.add((level, color))
        kind = "forecast past the end" if path.split == "future" else \
            f"every step of a {path.split} window"
        ax.plot(path.x, path.prediction, color=color, lw=1.6, marker=".",
                label=None if kind in said else kind)
        ax.plot(path.x, path.naive, color="gray", lw=1, ls="--",
                label=None if "naive" in said else "naive forecast (last value)")
        said.update({kind, "naive"})
    ax.set_xlabel(data.xlabel)
    ax.set_ylabel(data.ylabel)
    ax.set_title(data.title, fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


class ConfusionData(NamedTuple):
    """Counts of (true class, predicted class) for one split."""

    counts: np.ndarray  # (n_classes, n_classes): rows true, columns predicted
    names: list[str]  # each class's label, as the data gave it
    title: str
    subtitle: str  # which split, how many sequences, the accuracy


def confusion_data(rows: Any, split: str, title: str) -> ConfusionData:
    """From a classification model's `predict` table (label, prediction and p_<class> per
    sequence): the counts on `split` (every row when the table has no such split)."""
    part = rows[rows["split"] == split] if split in set(rows["split"]) else rows
    names = [c[len("p_"):] for c in rows.columns if c.startswith("p_")]
    index = {name: i for i, name in enumerate(names)}
    counts = np.zeros((len(names), len(names)), dtype=int)
    if "label" in part:
        for true, pred in zip(part["label"], part["prediction"], strict=True):
            counts[index[str(true)], index[str(pred)]] += 1
    accuracy = np.trace(counts) / max(1, counts.sum())
    which = split if split in set(rows["split"]) else "every"
    return ConfusionData(counts, names, title,
                         f"{which} sequences ({counts.sum()}): accuracy {accuracy:.3f}")


def draw_confusion(data: ConfusionData) -> Any:
    """The confusion matrix with the classes' names on both axes, big enough to read."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    k = len(data.counts)
    side = max(4.5, 0.45 * k + 2.5)
    fig = Figure(figsize=(side + 0.8, side), layout="constrained")
    ax = fig.subplots()
    ax.imshow(data.counts, cmap="Blues")
    for i in range(k):
        for j in range(k):
            if data.counts[i, j]:
                ax.text(j, i, str(data.counts[i, j]), ha="center", va="center", fontsize=9,
                        color="white" if data.counts[i, j] > data.counts.max() / 2 else "black")
    ax.set_xticks(range(k), data.names, rotation=45 if max(map(len, data.names)) > 3 else 0,
                  ha="right" if max(map(len, data.names)) > 3 else "center")
    ax.set_yticks(range(k), data.names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.suptitle("\n".join(textwrap.wrap(data.title, 60)), fontsize=10)
    ax.set_title(data.subtitle, fontsize=9)
    return fig


def draw_scatter(rows: Any, title: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.subplots()
    for split, color in (("train", TRAIN_COLOR), ("validation", VAL_COLOR), ("test", "tab:red"),
                         ("new", "tab:gray")):
        part = rows[rows["split"] == split]
        if len(part) and part["target"].notna().any():
            ax.scatter(part["target"], part["prediction"], s=8, color=color, label=split)
    ax.set_xlabel("target")
    ax.set_ylabel("prediction (mean of repeats)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return fig
