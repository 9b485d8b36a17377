"""Does fit-driven sweeping hand back LSTMs that generalize? Plain Optuna vs sweeper at equal
compute.

On real series (sunspots, monthly CO2 as month-to-month changes, El Nino), split 60/20/20 in time
order, each contender runs an Optuna study over the same space until it has used the same
budget of member-epochs (one epoch of one seeded run). The test split is never seen by a sweep.

    (a) plain    TPE, one run per trial, validation-loss objective, MedianPruner
    (b) sweeper  sweeper's defaults: 3 repeats, score = val + overfit gap + spread (standard
                 error over repeats), val taken from the delivered model (the repeats at
                 their best epochs, averaged), degradation stopping, MedianPruner, screening
                 (one run first; the other 2 repeats only when it scores at or below the
                 median completed trial, else the trial is pruned)
    (c) sweeper-final-val  sweeper with the score's validation term taken from the repeats'
                 final weights (the default before study seeds 0-9 decided it)
    (d) ablations, measured earlier: repeats-no-penalty (score = val loss),
        penalty-no-repeats (1 run per trial, score = val + overfit gap), sweeper-unscreened,
        sweeper-no-spread, sweeper-2-repeats, sweeper-no-median

What each study hands back, scored once on the test split (MSE on the standardized series):
    - delivered        the study's best trial's delivered model as the sweep left it, without
                       retraining: its repeats at their best validation epochs, predictions
                       averaged (for plain, its one run at its best epoch)
    - retrained, best  the chosen configuration retrained once with a fresh seed and restored
                       at its best validation epoch: what a careful Optuna user gets (mean over
                       5 such single-seed retrains, so the number is that user's expectation)
    - retrained, final the same retrains' final weights: what a typical one gets

With --extras, also the measurements of the earlier subsections of RESULTS.md: the pick's
test loss as the mean of the last 5 epochs of 5 fresh seeds, whether it stays in the top 3
when the 5 best configurations are re-run with 3 fresh seeds, and the simplest configuration
within a standard error.

Spaces: "default" (hidden 4-48, 1-2 layers, epochs 20-160) and "users" (hidden 4-128 on a
log scale, 1-3 layers, epochs 20-300): what users search, where plain Optuna can pick large
unregularized models.

    python benchmarks/bench_sweep.py --quick      # smoke: 1 series, 1 study seed, tiny space
    python benchmarks/bench_sweep.py --seeds 10 --contenders plain sweeper --space users
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import torch
from joblib import Parallel, delayed

from sweeper import Data, FloatRange, IntRange, Space, Study, repair
from sweeper.delivery import DeliveredModel
from sweeper.frames import load_series
from sweeper.kept import from_study, trial_model
from sweeper.model import build
from sweeper.modelfile import meta_for
from sweeper.objective import score
from sweeper.pruning import make_pruner, report_steps
from sweeper.record import Record
from sweeper.review import artifact_store
from sweeper.selection import choose
from sweeper.trial import TrialObjective, judge
from sweeper.windows import make_windows

SERIES = {"sunspots": 11, "co2": 12, "elnino": 12}  # name -> window
SEASONS = {"co2": 12, "elnino": 12}  # monthly series: the same month a year earlier
SPACE = Space(hidden=IntRange(4, 48), layers=IntRange(1, 2), dropout=FloatRange(0.0, 0.5),
              weight_decay=FloatRange(1e-6, 1e-2, log=True), epochs=IntRange(20, 160, step=20),
              lr=3e-3, batch_size=32)
USERS_SPACE = dataclasses.replace(SPACE, hidden=IntRange(4, 128, log=True),
                                  layers=IntRange(1, 3), epochs=IntRange(20, 300, step=20))
SPACES = {"default": SPACE, "users": USERS_SPACE}
# name -> what differs from sweeper's defaults (Study's own field defaults: 3 repeats, both
# penalties 1.0, degradation stopping with patience 20, screening, the median pruner)
NO_PENALTY = {"gap_penalty": 0.0, "spread_penalty": 0.0}
CONTENDERS = {
    "plain": {"repeats": 1, **NO_PENALTY, "patience": None, "screen": False, "validation": "final"},
    "sweeper": {},
    "sweeper-final-val": {"validation": "final"},
    "repeats-no-penalty": NO_PENALTY,
    "penalty-no-repeats": {"repeats": 1, "spread_penalty": 0.0, "screen": False},
    "sweeper-unscreened": {"screen": False},
    "sweeper-no-spread": {"spread_penalty": 0.0},
    "sweeper-2-repeats": {"repeats": 2},
    "sweeper-no-median": {"pruner": "none"},
    # The budget spent on breadth: one run per trial (as plain), sweeper's score, stopping and
    # the delivered model chosen from the kept runs.
    "sweeper-1-repeat": {"repeats": 1, "screen": False},
    # A trial's verdict queues one child by a repair move (see sweeper/repair.py), and its
    # control: the same share of children, moves drawn at random without reading the verdict.
    "sweeper-repair": {"repair": "auto"},
    "sweeper-random-moves": {"repair": "random"},
    # A second repair design: only a verdict that names a problem queues a child; a good trial
    # queues none (its row of the move table is emptied for the study, see TABLE_CHANGES).
    "sweeper-repair-problems": {"repair": "auto"},
    # A third: a good verdict steps either way (fewer or more units, fewer or more epochs), and
    # Thompson sampling learns which way works in the study.
    "sweeper-repair-either-way": {"repair": "auto"},
}
# Contenders that run with rows of sweeper's move table replaced (problem -> moves).
TABLE_CHANGES = {
    "sweeper-repair-problems": {"good": ()},
    "sweeper-repair-either-way": {"good": (
        repair.SIMPLER_UNITS, repair.SIMPLER_EPOCHS,
        repair.MoveSpec("bolder: more units", "hidden", lambda v, e: v * 1.25),
        repair.MoveSpec("bolder: more epochs", "epochs", lambda v, e: v * 1.25))},
}
RETRAIN_SEEDS, TOP_K, REEVAL_SEEDS = 5, 5, 3
# --quick: every contender and every step above, at the smallest size that still runs them
# (one training step an epoch).
QUICK_SPACE = dataclasses.replace(SPACE, hidden=IntRange(4, 8), epochs=IntRange(2, 4),
                                  batch_size=1024)
QUICK_SIZES = {"budget": 30, "retrain_seeds": 1, "top_k": 2, "reeval_seeds": 1}
SEARCHED = ("hidden", "layers", "dropout", "weight_decay", "epochs")  # kept in a study's row


def series_for(name: str) -> np.ndarray:
    series, _ = load_series(Data(source=name))
    if name == "co2":  # the level's trend puts the test years outside the training range
        series = np.diff(series)
    return series


def windows_for(name: str):
    series = series_for(name)
    return make_windows(series, Data(source=series, window=SERIES[name], val_fraction=0.2,
                                     test_fraction=0.2, season=SEASONS.get(name)), name)


def spec_for(contender: str, series: str, seed: int, space: Space = SPACE) -> Study:
    # The budget of member-epochs ends a study, not a trial count: n_trials only has to be
    # out of reach (repair queues children only while trials are left to run them).
    return Study(name=f"{series}-{contender}-{seed}", data=Data(source=series), space=space,
                 seed=seed, trial_figures=False, engine="sequential", n_trials=1_000_000,
                 **CONTENDERS[contender])


def n_weights(config: dict) -> int:
    """Trainable numbers of the model sweeper builds for `config` on a univariate series."""
    model = build(1, int(config["hidden"]), int(config["layers"]), 0.0, "torch", 0)
    return sum(p.numel() for p in model.parameters())


def simplest_within_se(trials: list[optuna.trial.FrozenTrial]) -> dict:
    """A selection rule measured here and not adopted (see RESULTS.md): among the complete
    trials whose score is within the best trial's standard error (its spread) of the best
    score, the configuration with the fewest weights."""
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = min(done, key=lambda t: t.value)
    band = [t for t in done if t.value <= best.value + (best.user_attrs.get("spread") or 0.0)]
    return min(band, key=lambda t: (n_weights(t.user_attrs["config"]), t.value)).user_attrs[
        "config"]


def member_epochs(trial: optuna.trial.FrozenTrial) -> int:
    return Record.of(trial).member_epochs


def retrained_models(config: dict, data: Data, windows, seeds: list[int], split_seed: int = 0
                     ) -> tuple[list[DeliveredModel], list[DeliveredModel]]:
    """`config` retrained once per seed (no stopping, as a plain training loop), each run as a
    one-member model: (restored at its best validation epoch, at its final weights)."""
    from sweeper.train import train_repeats

    res = train_repeats(config, windows, seeds, torch.device("cpu"), patience=None,
                        engine="sequential")
    meta = meta_for("bench", 0, config, data, windows.task, seeds,
                    [int(e) for e in res.best_epoch], split_seed)
    return ([DeliveredModel(meta, [s]) for s in res.states],
            [DeliveredModel(meta, [s]) for s in res.final_states])


def retrained(config: dict, windows, seeds: list[int]) -> tuple[list[float], list[float]]:
    """Test loss of `config` retrained once per seed: (at the best epoch, final), per seed."""
    best, final = retrained_models(
        config, Data(source=[0.0, 1.0], window=windows.train_x.shape[1]), windows, seeds)
    return ([m.losses_on(windows, "test")[0] for m in best],
            [m.losses_on(windows, "test")[0] for m in final])


def fresh_score(config: dict, windows, seeds: list[int],
                spec: Study | None = None) -> tuple[float, float]:
    """(score by `spec`'s penalties, mean final loss) of `config` retrained with `seeds`, no
    stopping; no spec scores validation loss alone."""
    from sweeper.train import train_repeats

    res = train_repeats(config, windows, seeds, torch.device("cpu"), patience=None)
    if spec is None:
        parts = score([res.curve(r)[1] for r in range(len(seeds))], res.train_fit, 0.0)
    else:  # as a sweep scores a trial (no best trial to compare with: it decides no overfit)
        parts = judge(res, windows.baseline(config["loss"]), None, spec.gap_penalty,
                      spec.spread_penalty)[1]
    return parts.score, parts.val_loss


def candidate_tests(study: optuna.Study, windows, artifacts: str) -> dict[str, float]:
    """Test MSE of every candidate the choice of delivered model weighs, each built on the
    whole validation split without the halves' guard: what each fixed rule would deliver."""
    from sweeper.selection import Pool, kept_models

    best = min((t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE),
                key=lambda t: t.value)
    models, _ = kept_models(study, artifacts, best.user_attrs["config"]["loss"])
    if not models:
        return {}
    out = {}
    for split in ("val", "test"):
        x, k, y = windows.split(split)
        preds = [m.predict_scaled(x, k).astype(np.float64) for m in models]
        pool = Pool(np.concatenate(preds), np.repeat(np.arange(len(models)),
                                                     [len(p) for p in preds]),
                    y, windows.task, "mse")
        if split == "val":
            weights = {"best trial": pool.trials(1),
                       **{f"top {k} trials": pool.trials(k) for k in (2, 3, 5)
                          if k <= len(models)},
                       "greedy ensemble": pool.greedy(np.arange(len(y)))}
        else:
            out = {name: pool.loss(w, np.arange(len(y))) for name, w in weights.items()}
    return out


def trace(study: optuna.Study) -> list[list]:
    """[member-epochs used after the trial, its score or None, its parent or None, its move
    or None] per trial, in order."""
    used, out = 0, []
    for t in study.trials:
        used += member_epochs(t)
        value = t.value if t.state == optuna.trial.TrialState.COMPLETE else None
        out.append([used, value, t.user_attrs.get("parent"), t.user_attrs.get("move")])
    return out


def coverage(model: DeliveredModel, windows) -> dict[str, list[int]]:
    """Test targets inside the model's prediction intervals, and all of them, per level."""
    x, k, y = windows.split("test")
    residual = np.abs(model.combined(x, k) - y)
    return {f"{level:g}": [int((residual <= width).sum()), int(residual.size)]
            for level, width in model.intervals.items()}


def sweep_to_budget(spec: Study, windows, budget: int, artifacts: str
                    ) -> tuple[optuna.Study, int, float]:
    """Run `spec`'s trials (its sampler seeded by spec.seed, its pruner) one at a time until
    they have used `budget` member-epochs; model files go to `artifacts`.
    (study, member-epochs used, seconds)."""
    max_epochs = spec.space.max_epochs()
    study = optuna.create_study(
        direction="minimize", sampler=optuna.samplers.TPESampler(seed=spec.seed),
        pruner=make_pruner(spec.pruner, report_steps(max_epochs, spec.max_reports), max_epochs))
    objective = TrialObjective(spec, windows, torch.device("cpu"), store=artifact_store(artifacts))
    used, start = 0, time.perf_counter()
    while used < budget:
        study.optimize(objective, n_trials=1, catch=(Exception,))
        used += member_epochs(study.trials[-1])
    return study, used, time.perf_counter() - start


@contextlib.contextmanager
def move_table(changes: dict[str, tuple]):
    """Sweeper's move table with `changes` for the sweeps run inside (in this process)."""
    saved = repair.TABLE
    repair.TABLE = {**saved, **changes}
    try:
        yield
    finally:
        repair.TABLE = saved


def run_study(series: str, contender: str, seed: int, budget: int, quick: bool = False,
              space: str = "default", extras: bool = False) -> dict:
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    n_retrain, top_k, n_reeval = ((QUICK_SIZES["retrain_seeds"], QUICK_SIZES["top_k"],
                                   QUICK_SIZES["reeval_seeds"]) if quick
                                  else (RETRAIN_SEEDS, TOP_K, REEVAL_SEEDS))
    windows = windows_for(series)
    spec = spec_for(contender, series, seed, QUICK_SPACE if quick else SPACES[space])
    with tempfile.TemporaryDirectory() as artifacts, \
            move_table(TABLE_CHANGES.get(contender, {})):  # the model files the sweep saves
        study, used, sweep_s = sweep_to_budget(spec, windows, budget, artifacts)
        # (c) the best trial's own repeats (for plain, its one run: what a careful Optuna
        # user saves), and the model chosen from the kept runs on validation (see selection)
        best_model = trial_model(study, artifacts)
        choice = choose(study, windows, artifacts)
        selected = from_study(study, artifacts)
        candidates = candidate_tests(study, windows, artifacts)
        best_trial_test = best_model.losses_on(windows, "test")[0]
        selected_test = selected.losses_on(windows, "test")[0]
        covered = {"selected": coverage(selected, windows), "best": coverage(best_model, windows)}
    # What each contender hands back: plain Optuna its best run; sweeper the chosen model.
    delivered = best_trial_test if contender == "plain" else selected_test
    ranked = sorted((t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE),
                    key=lambda t: t.value)
    chosen = ranked[0].user_attrs["config"]
    # Fresh seeds: far from the sweep's (which come from the study seed and trial number).
    # (b) the retrained pick is plain Optuna's alternative; sweeper's rows skip it unless
    # asked for (--extras), which saves five trainings a study.
    base = 10_000 + 1000 * seed
    best_runs, final_runs = retrained(chosen, windows, [base + s for s in range(n_retrain)]) \
        if contender == "plain" or extras else ([np.nan], [np.nan])
    states = [t.state for t in study.trials]
    row = {
        "series": series, "contender": contender, "seed": seed, "budget": budget,
        "space": "quick" if quick else space,
        "member_epochs": used, "sweep_s": round(sweep_s, 1), "n_trials": len(study.trials),
        "pruned": states.count(optuna.trial.TrialState.PRUNED) / len(states),
        "chosen": {k: chosen[k] for k in SEARCHED},
        "chosen_label": ranked[0].user_attrs.get("label"),
        "delivered_test": delivered,
        "best_trial_test": best_trial_test, "selected_test": selected_test,
        "selected": {"how": choice["how"] if choice else None,
                     "runs": len(selected.members), "trials": selected.trials},
        "coverage": covered, "candidates_test": candidates,
        # Each trial in order: member-epochs used so far, its score (None unless complete),
        # and its lineage where it was a queued child; the anytime curves come from these.
        "trace": trace(study),
        "retrain_best_test": float(np.mean(best_runs)),
        "retrain_final_test": float(np.mean(final_runs)),
        "retrain_runs": {"best": best_runs, "final": final_runs},
    }
    if not extras:
        return row
    test_windows = windows.heldout_as_validation()
    test_runs = [fresh_score(chosen, test_windows, [base + s])[1] for s in range(n_retrain)]
    # The same study's pick by another rule (the search is unchanged).
    picked = simplest_within_se(study.trials)
    pick_runs = test_runs if picked == chosen else [
        fresh_score(picked, test_windows, [base + s])[1] for s in range(n_retrain)]
    reeval = [fresh_score(t.user_attrs["config"], windows,
                          [base + 100 + s for s in range(n_reeval)], spec)[0]
              for t in ranked[:top_k]]
    rank_of_chosen = int(np.argsort(np.argsort(reeval))[0]) + 1
    return {**row,
            "test_mean": float(np.mean(test_runs)), "test_std": float(np.std(test_runs)),
            "rank_after_reeval": rank_of_chosen, "top3": rank_of_chosen <= 3,
            "simplest": {k: picked[k] for k in SEARCHED},
            "test_simplest": float(np.mean(pick_runs))}


def summarize_delivery(rows: list[dict]) -> str:
    """What each contender hands back, per series: medians, spreads and worst studies over
    study seeds, and sweeper's delivered model against plain Optuna's retrained pick."""
    lines = ["| series | space | contender | studies | delivered: median / std / worst | "
             "retrained, best epoch: median / std / worst | retrained, final: median / std / "
             "worst | delivered vs plain's retrained best: median ratio, studies won |",
             "|---|---|---|---|---|---|---|---|"]

    def cell(values: np.ndarray) -> str:
        return f"{np.median(values):.4f} / {values.std():.4f} / {values.max():.4f}"

    for space in sorted({r.get("space", "default") for r in rows}):
        for series in SERIES:
            at = [r for r in rows if r["series"] == series and r.get("space", "default") == space
                  and "delivered_test" in r]
            plain = {r["seed"]: r["retrain_best_test"] for r in at if r["contender"] == "plain"}
            for contender in CONTENDERS:
                rs = [r for r in at if r["contender"] == contender]
                if not rs:
                    continue
                d = np.array([r["delivered_test"] for r in rs])
                b = np.array([r["retrain_best_test"] for r in rs])
                f = np.array([r["retrain_final_test"] for r in rs])
                paired = [(r["delivered_test"], plain[r["seed"]]) for r in rs
                          if r["seed"] in plain]
                versus = "-" if contender == "plain" or not paired else (
                    f"{np.median([x for x, _ in paired]) / np.median([y for _, y in paired]):.3f}"
                    f", {sum(x < y for x, y in paired)}/{len(paired)}")
                lines.append(f"| {series} | {space} | {contender} | {len(rs)} | {cell(d)} | "
                             f"{cell(b)} | {cell(f)} | {versus} |")
    return "\n".join(lines)


def baseline_losses(series: str) -> dict[str, float]:
    """Test MSE (standardized series) of each baseline a user gets without sweeper, fit on the
    same training windows (see sweeper.baselines)."""
    windows = windows_for(series)
    fitted = windows.task.baselines(windows, "mse")
    x, k, y = windows.split("test")
    return {name: windows.task.loss("mse", predict(x, k), y)
            for name, predict in fitted.predict.items()}


def summarize_proof(rows: list[dict]) -> str:
    """The delivered model's proof: sweeper's chosen model against plain Optuna's own best run
    (a), plain's pick retrained (b), sweeper's best trial alone (c) and the baselines, per
    series and space; the targets; the intervals' coverage pooled over studies."""
    lines = ["| series | space | contender | studies | (a) plain's best run | (b) plain's pick "
             "retrained | (c) its best trial | delivered | delivered vs better of (a), (b) | "
             "vs (c) | paired wins vs (a), (b), (c) | best baseline |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    cover: dict[tuple[str, str], list[int]] = {}  # (contender, level) -> [inside, total]
    groups = [(space, series, contender)
              for space in sorted({r.get("space", "default") for r in rows})
              for series in SERIES
              for contender in sorted({r["contender"] for r in rows if "selected_test" in r
                                       and r["contender"] != "plain"})]
    for space, series, contender in groups:
        at = [r for r in rows if r["series"] == series and r.get("space", "default") == space]
        plain = {r["seed"]: r for r in at if r["contender"] == "plain"}
        mine = {r["seed"]: r for r in at if r["contender"] == contender
                and "selected_test" in r}
        seeds = sorted(set(plain) & set(mine))
        if not seeds:
            continue
        a = np.array([plain[s]["delivered_test"] for s in seeds])
        b = np.array([plain[s]["retrain_best_test"] for s in seeds])
        c = np.array([mine[s]["best_trial_test"] for s in seeds])
        d = np.array([mine[s]["selected_test"] for s in seeds])
        for s in seeds:
            for level, (inside, total) in mine[s]["coverage"]["selected"].items():
                held = cover.setdefault((contender, level), [0, 0])
                held[0] += inside
                held[1] += total
        better = min(np.median(a), np.median(b))
        base = baseline_losses(series)
        best_base = min(base, key=base.get)

        def cell(v: np.ndarray) -> str:
            return f"{np.median(v):.4f} / {v.std():.4f} / {v.max():.4f}"

        lines.append(
            f"| {series} | {space} | {contender} | {len(seeds)} | {cell(a)} | {cell(b)} | "
            f"{cell(c)} | {cell(d)} | {np.median(d) / better - 1:+.1%} (worst {d.max():.4f} vs "
            f"{max(a.max(), b.max()):.4f}) | {np.median(d) / np.median(c) - 1:+.1%} | "
            f"{(d < a).sum()}, {(d < b).sum()}, {(d < c).sum()} of {len(seeds)} | "
            f"{best_base} {base[best_base]:.4f} |")
    lines.append("")
    lines.append("Columns: median / std / worst test MSE over study seeds. Intervals of the "
                 "delivered model on the test windows, pooled over studies: " + ", ".join(
                     f"{contender} {float(level):.0%} hold {inside / total:.1%} ({inside}/{total})"
                     for (contender, level), (inside, total) in sorted(cover.items())))
    return "\n".join(lines)


REPAIR_CONTENDERS = ("sweeper", "sweeper-repair", "sweeper-random-moves",
                     "sweeper-repair-problems", "sweeper-repair-either-way")
FRACTIONS = (0.25, 0.5, 0.75, 1.0)


def best_by(row: dict, fraction: float) -> float:
    """The best (lowest) score among the trials finished within `fraction` of the budget."""
    scores = [s for used, s, *_ in row["trace"]
              if s is not None and used <= fraction * row["budget"]]
    return min(scores) if scores else float("nan")


def move_outcomes(rows: list[dict]) -> dict[str, list[bool]]:
    """Per move, whether each child scored below its parent (a child of a parent without a
    score succeeds by completing)."""
    out: dict[str, list[bool]] = {}
    for r in rows:
        t = r["trace"]
        for _, value, parent, move in t:
            if parent is None or move is None or parent >= len(t):
                continue
            bar = t[parent][1]
            out.setdefault(move, []).append(value is not None and (bar is None or value < bar))
    return out


def summarize_repair(rows: list[dict]) -> str:
    """Repair against TPE alone and against random moves: delivered test loss, the best score
    reached after 25/50/75/100% of the budget (anytime), and each move's success rate."""
    lines = ["| series | space | contender | studies | delivered test: median / worst | "
             "vs TPE alone: median, paired wins | best score after 25% / 50% / 75% / 100% of "
             "the budget (medians) | share of the budget to reach TPE alone's final median |",
             "|---|---|---|---|---|---|---|---|"]
    present = [c for c in REPAIR_CONTENDERS if any(r["contender"] == c for r in rows)]
    if present[:1] != ["sweeper"]:
        return "(repair is compared with TPE alone: add the rows of the sweeper contender)"
    for space in sorted({r.get("space", "default") for r in rows}):
        for series in SERIES:
            at = {c: {r["seed"]: r for r in rows if r["series"] == series
                      and r.get("space", "default") == space and r["contender"] == c
                      and "trace" in r} for c in present}
            seeds = sorted(set.intersection(*(set(v) for v in at.values())))
            if not seeds:
                continue
            base = at["sweeper"]
            target = float(np.median([best_by(base[s], 1.0) for s in seeds]))
            for c in present:
                d = np.array([at[c][s]["delivered_test"] for s in seeds])
                b = np.array([base[s]["delivered_test"] for s in seeds])
                curve = [float(np.median([best_by(at[c][s], f) for s in seeds]))
                         for f in FRACTIONS]
                reach = next((f for f in np.linspace(0.05, 1.0, 20) if np.median(
                    [best_by(at[c][s], f) for s in seeds]) <= target), None)
                versus = "-" if c == "sweeper" else \
                    f"{np.median(d) / np.median(b) - 1:+.1%}, {(d < b).sum()}/{len(seeds)}"
                lines.append(f"| {series} | {space} | {c} | {len(seeds)} | {np.median(d):.4f} / "
                             f"{d.max():.4f} | {versus} | "
                             + " / ".join(f"{v:.4f}" for v in curve) + " | "
                             + (f"{reach:.0%}" if reach is not None else "not reached") + " |")
    lines.append("")
    for c in present[1:]:
        got = move_outcomes([r for r in rows if r["contender"] == c and "trace" in r])
        total = [x for v in got.values() for x in v]
        if total:
            lines.append(f"{c}: children beat their parent {sum(total)}/{len(total)} "
                         f"({np.mean(total):.0%}); " + ", ".join(
                             f"{m} {sum(v)}/{len(v)}" for m, v in sorted(got.items())))
    return "\n".join(lines)


def summarize(rows: list[dict]) -> str:
    """The earlier subsections' table (rows run with --extras)."""
    lines = ["| series | contender | median test loss over study seeds | std across study seeds "
             "| simplest within a standard error: median / std "
             "| mean retrain std | top-3 after re-eval | member-epochs | wall s | pruned |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for series in SERIES:
        for contender in CONTENDERS:
            rs = [r for r in rows if r["series"] == series and r["contender"] == contender
                  and "test_mean" in r]
            if not rs:
                continue
            test = np.array([r["test_mean"] for r in rs])
            simple = np.array([r["test_simplest"] for r in rs if "test_simplest" in r])
            lines.append(
                f"| {series} | {contender} | {np.median(test):.4f} | {test.std():.4f} | "
                + (f"{np.median(simple):.4f} / {simple.std():.4f} ({len(simple)} studies) | "
                   if simple.size else "- | ") +
                f"{np.mean([r['test_std'] for r in rs]):.4f} | "
                f"{sum(r['top3'] for r in rs)}/{len(rs)} | "
                f"{np.mean([r['member_epochs'] for r in rs]):.0f} | "
                f"{np.mean([r['sweep_s'] for r in rs]):.0f} | "
                f"{np.mean([r['pruned'] for r in rs]):.0%} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: sunspots, 1 seed, a tiny space and budget")
    p.add_argument("--budget", type=int, default=4000, help="member-epochs per study")
    p.add_argument("--seeds", type=int, default=5, help="study seeds per series and contender")
    p.add_argument("--first-seed", type=int, default=0,
                   help="study seeds run are FIRST_SEED ... FIRST_SEED + SEEDS - 1")
    p.add_argument("--also", nargs="+", default=[], metavar="JSON",
                   help="rows of earlier runs (their --out files) to summarize with these")
    p.add_argument("--series", nargs="+", default=list(SERIES), choices=list(SERIES))
    p.add_argument("--contenders", nargs="+", default=list(CONTENDERS), choices=list(CONTENDERS))
    p.add_argument("--space", choices=list(SPACES), default="default",
                   help="the space every contender searches")
    p.add_argument("--extras", action="store_true",
                   help="also the earlier measurements: 5-seed retrains' last epochs, "
                        "re-evaluation of the top 5, the simplest within a standard error")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", help="also write every study's row as JSON here; studies already "
                                 "in this file are read back, not run again")
    args = p.parse_args()
    if args.quick:
        args.budget, args.seeds, args.series = QUICK_SIZES["budget"], 1, ["sunspots"]
    def rows_of(path: str, flag: str = "--also") -> list[dict]:
        try:
            rows = json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            p.error(f"{flag}: {e}")
        if not (isinstance(rows, list) and all(isinstance(r, dict) and
                                               ("test_mean" in r or "delivered_test" in r)
                                               for r in rows)):
            p.error(f"{flag}: {path} is not a file that --out wrote (a list of study rows)")
        return rows

    earlier = [row for f in args.also for row in rows_of(f)]
    budgets = sorted({row["budget"] for row in earlier} - {args.budget})
    if budgets:
        p.error(f"--also: rows at a budget of {budgets[0]} member-epochs cannot be summarized "
                f"with studies at --budget {args.budget}")
    start = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    # Seed by seed, so that a run stopped early has every series and contender for its seeds.
    work = [(s, c, seed) for seed in seeds for s in args.series for c in args.contenders]
    extras = args.extras or args.quick  # the smoke run runs every path
    space = "quick" if args.quick else args.space
    # Rows already in --out (a run that was stopped) are kept and their studies not run again.
    rows = [r for r in (rows_of(args.out, "--out") if args.out and Path(args.out).exists()
                        else [])
            if r["budget"] == args.budget and r.get("space", "default") == space]
    done = {(r["series"], r["contender"], r["seed"]) for r in rows}
    work = [w for w in work if w not in done]
    if done:
        print(f"# {len(done)} studies read back from {args.out}; {len(work)} to run", flush=True)
    for row in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
            delayed(run_study)(s, c, seed, args.budget, args.quick, args.space, extras)
            for s, c, seed in work):
        rows.append(row)
        print(f"  [{len(rows) - len(done)}/{len(work)}] {row['series']} {row['contender']} "
              f"seed {row['seed']}: delivered test {row['delivered_test']:.4f} "
              f"({row['sweep_s']:.0f} s)", flush=True)
        if args.out:  # written after every study, so a stopped run loses nothing finished
            Path(args.out).write_text(json.dumps(rows, indent=1))
    print(f"# bench_sweep: budget {args.budget} member-epochs per study, {args.seeds} study "
          f"seeds, space {'quick' if args.quick else args.space}, {len(rows)} studies, "
          f"{args.jobs} processes x 1 torch thread on "
          f"{platform.processor() or platform.machine()}; {time.perf_counter() - start:.0f} s")
    print(summarize_delivery(rows + earlier))
    if any("selected_test" in r for r in rows + earlier):
        print()
        print(summarize_proof(rows + earlier))
    if any(r["contender"] in REPAIR_CONTENDERS[1:] for r in rows + earlier):
        print()
        print(summarize_repair(rows + earlier))
    if any("test_mean" in r for r in rows + earlier):
        print()
        print(summarize(rows + earlier))
    if earlier:
        print(f"(with {len(earlier)} studies from {', '.join(args.also)})")


if __name__ == "__main__":
    main()
