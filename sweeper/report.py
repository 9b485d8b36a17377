"""Reading a study back: the trial table and the best trial's summary, as text.

Built on `Study.trials_dataframe()`, so the same columns are at hand in pandas; sweeper adds its
stored diagnosis and score components.
"""

from __future__ import annotations

import optuna
import pandas as pd

from . import keys

COLUMNS = [keys.LABEL, keys.AGREEMENT, keys.VAL_LOSS, keys.GAP, keys.PENALTY]


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
        f"{a.get(keys.VAL_LOSS, float('nan')):.4g} + gap penalty {a.get(keys.PENALTY, 0.0):.4g}",
        f"  params:         {params}",
        f"  diagnosis:      {a.get(keys.LABEL)}: {a.get(keys.REASON)}",
        f"  recommendation: {a.get(keys.RECOMMENDATION)}",
    ])
