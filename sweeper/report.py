"""Reading a study back: the trial table, the best trial, a CSV and figures.

Built on `Study.trials_dataframe()`, so the same columns are at hand in pandas; sweeper adds its
stored diagnosis and score components. Works on finished, running and crashed studies alike:
it only reads what is stored.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from . import keys
from .record import Record
from .words import counted, runs_of

# Stored attrs too bulky for a CSV cell; they stay in the storage.
BULKY = (keys.CURVES, keys.EVIDENCE)
# Files `write_report` writes, cleared before it writes them again.
WRITES = ("trials.csv", "overview.png", "best-trials.png", "forecast.png", "confusion.png",
          "predictions.png", "trial-*.png")
FIGURES_FOR_BEST = 10  # per-trial learning-curve figures written by the report

COLUMNS = [keys.LABEL, keys.AGREEMENT, keys.VAL_LOSS, keys.OVERFIT_GAP, keys.SPREAD, keys.PENALTY,
           keys.GAP]


def trial_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, searched params, label, score and its parts, state.

    `score` is filled for completed trials only; a pruned trial's value (the last mean
    validation loss it reported, which Optuna keeps and its sampler learns from) is in
    `last_report`, so the score column never holds a number that is not a score."""
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
    state = df["state"].str.lower()
    table.insert(len(params) + 3, "score", df[value].where(state == "complete"))
    table.insert(len(params) + 4, "last_report", df[value].where(state == "pruned"))
    delivered = f"user_attrs_{keys.DELIVERED}"
    table["delivered_val"] = (df[delivered].map(lambda d: d.get("val_loss")
                                                if isinstance(d, dict) else None)
                              if delivered in df.columns else None)
    if delivered in df.columns:  # the task's metrics of the delivered model (accuracy, ...)
        names = sorted({k for d in df[delivered] if isinstance(d, dict)
                        for k in (d.get("scores") or {})})
        for name in names:
            table[f"val_{name}"] = df[delivered].map(
                lambda d, name=name: (d.get("scores") or {}).get(name)
                if isinstance(d, dict) else None)
    table["state"] = state
    return table


def format_table(table: pd.DataFrame) -> str:
    if table.empty:
        return "(no trials yet)"

    def fmt(v: object) -> str:
        if isinstance(v, float):
            return "-" if pd.isna(v) else f"{v:.4g}"
        return "-" if v is None or v is pd.NA else str(v)

    # Every cell as text first: pandas skips the formatters of columns that hold only None.
    return table.map(fmt).to_string(index=False)


def best_summary(study: optuna.Study) -> str:
    """The best complete trial: params, diagnosis, its delivered model and what to do next."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return "No trial completed, so there is no best trial yet."
    best = Record.of(min(complete, key=lambda t: t.value))
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in best.params.items())
    loss = best.config.get("loss", "mse")
    unit = (study.user_attrs.get(keys.STUDY_UNITS) or {}).get(loss, loss)
    lines = [
        f"Best trial: #{best.number}  score {best.value:.4g} = validation loss "
        f"{best.number_of(keys.VAL_LOSS):.4g} + penalty {best.get(keys.PENALTY, 0.0):.4g} "
        f"(overfit gap {best.get(keys.OVERFIT_GAP, 0.0):.4g}, spread "
        f"{best.get(keys.SPREAD, 0.0):.4g}; {unit})",
        f"  params:         {params}",
        *([f"  judged on:      {judged_on(study)}"] if judged_on(study) else []),
        f"  diagnosis:      {best.label}: {best.get(keys.REASON)}",
        f"  recommendation: {best.get(keys.RECOMMENDATION)}",
    ]
    delivered, model = best.get(keys.DELIVERED), best.get(keys.MODEL)
    if delivered:
        epochs = ", ".join(str(e) for e in delivered["best_epochs"])
        scores = "".join(f", {k.replace('_', '-')} {v:.3f}"
                         for k, v in (delivered.get("scores") or {}).items())
        repeats = counted(len(delivered["best_epochs"]), "repeat")
        lines.append(f"  model:          {repeats} at epochs {epochs}, predictions averaged: "
                     f"validation loss {delivered['val_loss']:.4g}{scores}"
                     + (f"; file {model['file']} ({model['bytes'] / 1e6:.2f} MB)" if model
                        else "; no model file (the sweep ran without an artifact folder)"))
    line = delivery_line(study.user_attrs.get(keys.STUDY_DELIVERY), best.number, unit)
    if line:
        lines.append(f"  delivered:      {line}")
    return "\n".join(lines)


def moves_table(records: list[Record]) -> list[str]:
    """Each repair move made in the study: how often its child was judged (completed or
    pruned; a child that failed says nothing of its move, and its run again is counted), how
    often it scored below its parent, and the median change of score (child against parent),
    as the sweep's choice of moves counts them."""
    rows: dict[str, list[tuple[bool, float | None]]] = {}
    for r in records:
        move, bar = r.attrs.get(keys.MOVE), r.attrs.get(keys.PARENT_SCORE)
        if move is None or r.state not in ("complete", "pruned"):
            continue
        score = r.score
        change = (score - bar) / abs(bar) if score is not None and bar else None
        rows.setdefault(move, []).append((score is not None and (bar is None or score < bar),
                                          change))
    if not rows:
        return []
    out = ["", "Repair moves (each child's score against its parent's; a negative change is "
               "better):",
           f"  {'move':24} {'tried':>6} {'improved':>9} {'median change of score':>24}"]
    for move, got in sorted(rows.items()):
        changes = [c for _, c in got if c is not None]
        median = f"{float(np.median(changes)):+.1%}" if changes else "-"
        out.append(f"  {move:24} {len(got):>6} {sum(b for b, _ in got):>9} {median:>24}")
    return out


def judged_on(study: optuna.Study) -> str | None:
    """The data the study's trials were judged on, as the sweep read them."""
    return (study.user_attrs.get(keys.STUDY_DATA) or {}).get("summary")


def units_caption(study: optuna.Study) -> str:
    """What the losses in the trial table and the trial lines are measured in."""
    named = study.user_attrs.get(keys.STUDY_UNITS) or {}
    used = {Record.of(t).config.get("loss", "mse") for t in study.get_trials(deepcopy=False)}
    units = sorted({named.get(loss, loss) for loss in used}) or ["loss"]
    return (f"(Losses above: {' or '.join(units)}, as the sweep minimizes them; the data's own "
            "units are in the comparison with the baselines.)")


def delivery_line(choice: dict | None, best: int, unit: str = "") -> str | None:
    """What the sweep delivers, when it chose it around trial `best` (see selection)."""
    if not choice or choice.get("best_trial") != best:
        return None
    trials = sorted({m["trial"] for m in choice["members"]},
                    key=lambda t: -sum(m["weight"] for m in choice["members"] if m["trial"] == t))
    what = (f"the best trial's {counted(len(choice['members']), 'repeat')}"
            if choice["how"] == "best trial"
            else f"{choice['how']}: {runs_of(len(choice['members']), trials)}")
    loss = (f"validation loss {choice['val_loss']:.4g}" if choice["how"] == "best trial" else
            f"validation loss {choice['val_loss']:.4g} (the best trial's alone "
            f"{choice['best_trial_val_loss']:.4g})") + (f", {unit}" if unit else "")
    return (f"{what}, chosen from {choice['n_runs']} kept runs of {choice['n_trials']} trials "
            f"on validation: {loss}; {choice['reason']}")


def write_report(study: optuna.Study, out: Path, test: dict | None = None,
                 figure: tuple[str, Any] | None = None, card: dict | None = None) -> str:
    """Write trials.csv and figures into `out` (replacing what an earlier report wrote there);
    return the text report. `test` is the test split's result, `figure` (file name, Figure)
    the delivered model on the study's data, and `card` the delivered model beside the
    baselines (see worth), when there are."""
    from .holdout import heldout_sentence
    from .plots import draw_curves, save_png
    from .review import complete_trials, study_figures, trial_figure_data
    from .worth import lines as worth_lines

    out.mkdir(parents=True, exist_ok=True)
    for pattern in WRITES:
        for old in out.glob(pattern):
            old.unlink()
    trials = study.get_trials(deepcopy=False)
    records = [Record.of(t) for t in trials]
    states = Counter(r.state for r in records)
    labels = Counter(r.label for r in records if r.label)
    lines = [
        f"study {study.study_name!r}: {len(trials)} trials ("
        + ", ".join(f"{n} {s}" for s, n in states.most_common()) + ")"
        + ("; labels " + ", ".join(f"{n} {lbl}" for lbl, n in labels.most_common())
           if labels else ""),
        "",
        format_table(trial_table(study)),
        units_caption(study),
        "",
        best_summary(study),
    ]
    if test:
        lines.append(f"  test split:     {heldout_sentence(test)}")
    if card:
        lines += ["", *worth_lines(card, with_warnings=False)]
    problems = [r for r in records if r.state in ("fail", "pruned")]
    if problems:
        retries = {r.retry_of: r for r in records if r.retry_of is not None}
        lines += ["", "Pruned and failed trials:"]
        for r in problems:
            retry = retries.get(r.number)
            why = (r.why or (retry and retry.get(keys.RETRY_REASON))
                   or "no reason stored (the process may have been killed)")
            again = f" (its configuration ran again as #{retry.number})" if retry else ""
            lines.append(f"  #{r.number} {r.state}: {why}{again}")
    lines += moves_table(records)
    running = [r.number for r in records if r.state == "running"]
    if running:
        lines += ["", f"Running (or left running by a stopped process): "
                      f"{', '.join(f'#{n}' for n in running)}"]

    frame = study.trials_dataframe()
    frame = frame.drop(columns=[c for c in frame.columns
                                if c in {f"user_attrs_{k}" for k in BULKY}
                                or c.startswith("system_attrs_artifacts:")])
    frame.to_csv(out / "trials.csv", index=False)
    written = [out / "trials.csv"]
    for name, fig in study_figures(study).items():
        written.append(save_png(fig, out / name))
    if figure is not None:
        written.append(save_png(figure[1], out / figure[0]))
    for t in complete_trials(study)[:FIGURES_FOR_BEST]:
        written.append(save_png(draw_curves(trial_figure_data(Record.of(t))),
                                out / f"trial-{t.number}.png"))
    lines += ["", f"Wrote {len(written)} file{'s' if len(written) != 1 else ''} to {out}/: "
              + ", ".join(p.name for p in written[:6]) + (", ..." if len(written) > 6 else "")]
    return "\n".join(lines)
