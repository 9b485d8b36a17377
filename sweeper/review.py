"""What a reviewer sees in optuna-dashboard: per-trial figures and notes, study figures and note.

Per finished trial: a PNG of its learning curves (every repeat, best epochs, label and reason)
uploaded as an Optuna artifact, and a Markdown note with the diagnosis, the per-repeat labels,
the score components and the recommendation. Per study: a note holding the spec, and figures
(each searched parameter against score coloured by label; the tutorial's "multiple runs" figure
for the best trials) uploaded as study artifacts.

Artifacts live in a FileSystemArtifactStore (runs/<study>/artifacts/ by default); start
optuna-dashboard with `--artifact-dir` pointing there to see them. Notes need the optional
optuna-dashboard package; without it they are skipped.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import optuna
from optuna.artifacts import FileSystemArtifactStore, get_all_artifact_meta, upload_artifact

from . import keys
from .holdout import heldout_sentence
from .optuna_private import trial_handle
from .plots import (
    CurveFigureData,
    curve_figure_data,
    draw_curves,
    draw_multiple_runs,
    draw_overview,
    overview_data,
    save_png,
)
from .record import Record
from .words import counted
from .worth import lines, warnings

BEST_FOR_FIGURE = 3  # trials in the study's "multiple runs" figure
# What the score's validation loss is, by Study.validation (see objective).
VALIDATION = {"delivered": "the delivered model's: the repeats at their best epochs, "
                           "predictions averaged",
              "final": "each repeat's last 5 epochs, averaged over the repeats"}


def artifact_store(path: str | Path) -> FileSystemArtifactStore:
    """Optuna's file-system artifact store on `path` (created), which it notes as `folder`
    for messages."""
    Path(path).mkdir(parents=True, exist_ok=True)
    store = FileSystemArtifactStore(str(path))
    store.folder = Path(path)  # type: ignore[attr-defined]
    return store


def trial_figure_data(rec: Record) -> CurveFigureData:
    train, val = rec.curves
    return curve_figure_data(
        train, val,
        title=f"trial {rec.number}: model train vs validation loss ({counted(len(val), 'repeat')})",
        label=rec.label or "", reason=rec.get(keys.REASON, ""),
        best_epochs=rec.best_epochs or None, grad_norm=rec.grad_norms or None,
        metrics=rec.metric_curves or None,
    )


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else ("-" if v is None else str(v))


def trial_note(rec: Record, test: dict[str, Any] | None = None) -> str:
    """Markdown summary of one trial's judgment (and the test split, for the best trial)."""
    a = rec.get
    lines = [
        f"## Trial {rec.number}: {rec.label or '?'} ({a(keys.AGREEMENT, '')})",
        "",
        f"**Reason.** {a(keys.REASON, '-')}",
        "",
        f"**Recommendation.** {a(keys.RECOMMENDATION, '-')}",
        "",
        "| score component | value |",
        "|---|---|",
        f"| validation loss (the score's: Study.validation) | {_fmt(a(keys.VAL_LOSS))} |",
        f"| training loss (last weights, dropout off) | {_fmt(a(keys.TRAIN_LOSS))} |",
        f"| gap (validation - training) | {_fmt(a(keys.GAP))} |",
        f"| overfit gap (validation's final level above its best) | "
        f"{_fmt(a(keys.OVERFIT_GAP))} |",
        f"| spread (standard error over repeats) | {_fmt(a(keys.SPREAD))} |",
        f"| penalty (gap_penalty x overfit gap + spread_penalty x spread) | "
        f"{_fmt(a(keys.PENALTY))} |",
        "",
        "| repeat | seed | label | best epoch | early stop |",
        "|---|---|---|---|---|",
    ]
    seeds, best, stops = rec.seeds, rec.best_epochs, rec.early_stops
    for r, label in enumerate(rec.repeat_labels):
        stop = stops[r] if r < len(stops) else None
        lines.append(
            f"| {r} | {seeds[r] if r < len(seeds) else '-'} | {label} | "
            f"{_fmt(best[r] if r < len(best) else None)} | "
            f"{stop['reason'] if stop else '-'} |")
    delivered, model = a(keys.DELIVERED), a(keys.MODEL)
    if delivered:
        epochs = ", ".join(str(e) for e in delivered.get("best_epochs", []))
        repeats = ", ".join(_fmt(v) for v in delivered.get("repeat_val_loss", []))
        scores = "".join(f", {k.replace('_', '-')} {v:.3f}"
                         for k, v in (delivered.get("scores") or {}).items())
        n_runs = counted(len(delivered.get("best_epochs", [])), "repeat")
        lines += ["", f"**Delivered model.** The {n_runs} "
                      f"at their best validation epochs ({epochs}), predictions averaged: "
                      f"validation loss {_fmt(delivered.get('val_loss'))}{scores} (each "
                      f"repeat's loss: {repeats})."
                  + (f" Model file `{model['file']}` ({model['bytes'] / 1e6:.2f} MB), an "
                     "artifact of this trial, kept whole while the trial is among the "
                     f"{model.get('keep', '?')} best." if model else "")]
    if test:
        lines += ["", f"**Test split.** {heldout_sentence(test)}"]
    engine = a(keys.ENGINE, {})
    lines += ["", f"Params: {', '.join(f'{k}={_fmt(v)}' for k, v in rec.params.items())}. "
              f"Trained on {a(keys.DEVICE, '?')}, {engine.get('engine', '?')} engine "
              f"({engine.get('why', '')})."]
    for key in (keys.PRUNE_REASON, keys.FAIL_REASON):
        if a(key):
            lines += ["", f"**{key.replace('_', ' ').capitalize()}.** {a(key)}"]
    if rec.lineage:
        lines += ["", f"**Lineage.** This trial is the {rec.lineage}."]
    repair = a(keys.REPAIR)
    if repair:
        lines += ["", "**Next.** " + (f"Queued a child: {repair['move']} ({repair['detail']}); "
                                      f"{repair['why']}." if repair.get("move") else
                                      f"{repair['why'][:1].upper()}{repair['why'][1:]}.")]
    return "\n".join(lines)


def _save_note(study_or_trial: Any, body: str) -> bool:
    try:
        from optuna_dashboard import save_note
    except ImportError:  # a broken install: figures still go up, and `report` fills notes in
        return False
    save_note(study_or_trial, body)
    return True


def fill_missing_notes(study: optuna.Study) -> list[int]:
    """Write the note of every finished trial that has none (swept where optuna-dashboard
    could not be imported, say); returns their numbers."""
    from optuna_dashboard import get_note

    done = []
    for frozen in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                           optuna.trial.TrialState.PRUNED)):
        handle = trial_handle(study, frozen)
        if not get_note(handle):
            _save_note(handle, trial_note(Record.of(frozen)))
            done.append(frozen.number)
    return done


def publish_trial(trial: optuna.Trial, attrs: dict[str, Any],
                  store: FileSystemArtifactStore) -> None:
    """Upload the trial's learning-curve PNG and save its note (one figure per trial)."""
    rec = Record.from_attrs(trial.number, attrs, trial.params)
    fig = draw_curves(trial_figure_data(rec))
    with tempfile.TemporaryDirectory() as tmp:
        path = save_png(fig, Path(tmp) / f"trial-{trial.number}-curves.png")
        upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=trial,
                        mimetype="image/png")
    _save_note(trial, trial_note(rec))


def publish_test(study: optuna.Study, test: dict[str, Any]) -> None:
    """Add the test split's result to the best trial's note (notes live on the study, so a
    finished trial's note can still be replaced)."""
    frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == test["trial"])
    _save_note(trial_handle(study, frozen), trial_note(Record.of(frozen), test))


def publish_forecast(study: optuna.Study, artifacts: str, base_dir: Path | None = None) -> None:
    """The best trial's delivered model on the study's data as a study figure: for forecasts
    target against prediction and the repeats' band (forecast.png), for classes the
    validation confusion matrix (confusion.png)."""
    from .kept import from_study

    if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        return
    model = from_study(study, artifacts, base_dir=base_dir)
    name, figure = model.figure(model.predict(), f"{study.study_name}: best trial "
                                                 f"#{model.meta['trial']}'s delivered model")
    publish_study_figures(study, artifact_store(artifacts), {name: figure})


def study_note(spec: dict[str, Any], baseline: dict[str, float],
               baseline_name: str = "naive forecast", card: dict[str, Any] | None = None
               ) -> str:
    """Markdown: how the study scores its trials, its task's baseline, the delivered model
    beside the baselines once there is one (`card`, see worth), and the spec."""
    worth = [] if not card else [
        "## The delivered model", "",
        *(f"**{line}**" for line in warnings(card)), "",
        "```", *lines(card, with_warnings=False), "```", ""]
    return "\n".join([
        f"## sweeper study {spec.get('name')}",
        "",
        f"Score = validation loss ({VALIDATION[spec.get('validation', 'delivered')]}) + "
        "gap_penalty x overfit gap (how far validation ended above its own best, on repeats "
        "diagnosed overfit) + spread_penalty x spread (the standard error of the repeats' "
        f"validation losses), over {counted(spec.get('repeats', 0), 'seeded repeat')} per "
        "trial. The "
        f"{baseline_name}'s validation loss: "
        + ", ".join(f"{k} {v:.4g}" for k, v in baseline.items()) + ".",
        "",
        *worth,
        "```json",
        json.dumps(spec, indent=2),
        "```",
    ])


def publish_study_note(study: optuna.Study, spec: dict[str, Any],
                       baseline: dict[str, float], baseline_name: str) -> None:
    _save_note(study, study_note(spec, baseline, baseline_name))


def publish_worth(study: optuna.Study, card: dict[str, Any]) -> None:
    """The study note again, with the delivered model beside the baselines and any warning."""
    _save_note(study, study_note(study.user_attrs.get(keys.STUDY_SPEC) or {},
                                 study.user_attrs.get(keys.STUDY_BASELINE) or {},
                                 card.get("baseline_name", "naive forecast"), card))


def complete_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return sorted(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)),
                  key=lambda t: t.value)


def study_figures(study: optuna.Study) -> dict[str, Any]:
    """{file name: Figure} for the study: the overview and the best trials' repeats."""
    done = complete_trials(study)
    figures = {}
    if done:
        records = [Record.of(t) for t in done]
        figures["overview.png"] = draw_overview(overview_data(
            [{"params": r.params, "score": r.value, "label": r.label,
              "child": r.lineage is not None} for r in records],
            f"{study.study_name}: searched parameters vs score"))
        panels = [trial_figure_data(r)._replace(
                      title=f"#{r.number} {r.label or ''} score {r.value:.3g}")
                  for r in records[:BEST_FOR_FIGURE]]
        figures["best-trials.png"] = draw_multiple_runs(
            panels, f"{study.study_name}: best {len(panels)} trials, every repeat")
    return figures


def publish_study_figures(study: optuna.Study, store: FileSystemArtifactStore,
                          figures: dict[str, Any] | None = None) -> list[str]:
    """Upload the study figures (or these) as study artifacts, or replace the ones an earlier
    run uploaded (same artifact, new picture), so that they never pile up; returns their
    names."""
    names = []
    earlier = {m.filename: m.artifact_id for m in get_all_artifact_meta(study)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fig in (study_figures(study) if figures is None else figures).items():
            path = save_png(fig, Path(tmp) / name)
            if name in earlier:
                with open(path, "rb") as f:
                    store.write(earlier[name], f)
            else:
                upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=study,
                                mimetype="image/png")
            names.append(name)
    return names
