"""Reading a study back: the trial table, the best trial, a CSV and figures.

Built on `Study.trials_dataframe()`, so the same columns are at hand in pandas; sweeper adds its
stored diagnosis and score components. Works on finished, running and crashed studies alike:
it only reads what is stored.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import optuna
import pandas as pd

from . import keys

# Stored attrs too bulky for a CSV cell; they stay in the storage.
BULKY = (keys.CURVES, keys.EVIDENCE)
FIGURES_FOR_BEST = 10  # per-trial learning-curve figures written by the report

COLUMNS = [keys.LABEL, keys.AGREEMENT, keys.VAL_LOSS, keys.OVERFIT_GAP, keys.SPREAD, keys.PENALTY,
           keys.GAP]


def trial_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, searched params, label, score and its parts, state."""
    df = study.trials_dataframe(attrs=("number", "value", "params", "user_attrs", "state"))
    if df.empty:
        return df
    params = [c for c in df.columns if c.startswith("params_")]
    table = pd.DataFrame({"number": df["number"]})
    for c in params:
        table[c[len("params_"):]] = df[c]
    for key in COLUMNS:  # absent until some trial stored it
        col = f"user_attrs_{key}"
        table[key] = df[col] if col in df.columns else None
    # "value", or "value_<metric name>" once the study has named its metric.
    value = next(c for c in df.columns if c == "value" or c.startswith("value_"))
    table.insert(len(params) + 3, "score", df[value])
    table["state"] = df["state"].str.lower()
    return table


def format_table(table: pd.DataFrame) -> str:
    if table.empty:
        return "(no trials yet)"

    def fmt(v: object) -> str:
        if isinstance(v, float):
            return "-" if pd.isna(v) else f"{v:.4g}"
        return "-" if v is None else str(v)

    return table.to_string(index=False, formatters={c: fmt for c in table.columns})


def best_summary(study: optuna.Study) -> str:
    """The best complete trial: params, diagnosis and what to do next."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return "No trial completed, so there is no best trial yet."
    best = min(complete, key=lambda t: t.value)
    a = best.user_attrs
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in best.params.items())
    return "\n".join([
        f"Best trial: #{best.number}  score {best.value:.4g} = validation loss "
        f"{a.get(keys.VAL_LOSS, float('nan')):.4g} + penalty {a.get(keys.PENALTY, 0.0):.4g} "
        f"(overfit gap {a.get(keys.OVERFIT_GAP, 0.0):.4g}, spread {a.get(keys.SPREAD, 0.0):.4g})",
        f"  params:         {params}",
        f"  diagnosis:      {a.get(keys.LABEL)}: {a.get(keys.REASON)}",
        f"  recommendation: {a.get(keys.RECOMMENDATION)}",
    ])


def write_report(study: optuna.Study, out: Path) -> str:
    """Write trials.csv and figures into `out`; return the text report."""
    from .plots import draw_curves, save_png
    from .review import complete_trials, study_figures, trial_figure_data

    out.mkdir(parents=True, exist_ok=True)
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state.name.lower() for t in trials)
    labels = Counter(t.user_attrs.get(keys.LABEL) for t in trials if keys.LABEL in t.user_attrs)
    lines = [
        f"study {study.study_name!r}: {len(trials)} trials ("
        + ", ".join(f"{n} {s}" for s, n in states.most_common()) + ")"
        + ("; labels " + ", ".join(f"{n} {lbl}" for lbl, n in labels.most_common())
           if labels else ""),
        "",
        format_table(trial_table(study)),
        "",
        best_summary(study),
    ]
    problems = [t for t in trials if t.state in (optuna.trial.TrialState.FAIL,
                                                 optuna.trial.TrialState.PRUNED)]
    if problems:
        retries = {t.user_attrs[keys.RETRY_OF]: t for t in trials
                   if t.user_attrs.get(keys.RETRY_OF) is not None}
        lines += ["", "Pruned and failed trials:"]
        for t in problems:
            retry = retries.get(t.number)
            why = (t.user_attrs.get(keys.PRUNE_REASON) or t.user_attrs.get(keys.FAIL_REASON)
                   or (retry and retry.user_attrs.get(keys.RETRY_REASON))
                   or "no reason stored (the process may have been killed)")
            again = f" (its configuration ran again as #{retry.number})" if retry else ""
            lines.append(f"  #{t.number} {t.state.name.lower()}: {why}{again}")
    running = [t.number for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    if running:
        lines += ["", f"Running (or left running by a stopped process): "
                      f"{', '.join(f'#{n}' for n in running)}"]

    frame = study.trials_dataframe()
    frame = frame.drop(columns=[f"user_attrs_{k}" for k in BULKY
                                if f"user_attrs_{k}" in frame.columns])
    frame.to_csv(out / "trials.csv", index=False)
    written = [out / "trials.csv"]
    for name, fig in study_figures(study).items():
        written.append(save_png(fig, out / name))
    for t in complete_trials(study)[:FIGURES_FOR_BEST]:
        written.append(save_png(draw_curves(trial_figure_data(t.number, t.user_attrs)),
                                out / f"trial-{t.number}.png"))
    lines += ["", f"Wrote {len(written)} files to {out}/: "
              + ", ".join(p.name for p in written[:6]) + (", ..." if len(written) > 6 else "")]
    return "\n".join(lines)
