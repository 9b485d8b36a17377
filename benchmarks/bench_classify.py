"""Sequence classification at equal compute: what plain Optuna and sweeper hand back on the
shipped Japanese Vowels study (who of 9 speakers said the vowel), scored once on its test split.

Per study seed the seed draws the split (per speaker: 70% train, 20% validation, 10% test) and
seeds both contenders' samplers; each searches the study file's space until it has used the
same budget of member-epochs (one epoch of one seeded run), with bench_sweep's contenders:
plain (TPE, one run per trial, validation-loss objective, median pruner) and sweeper's
defaults. Test accuracy and cross-entropy of:
    - sweeper, delivered   the best trial's repeats at their best validation epochs, their
                           class probabilities averaged, as the sweep left them
    - plain, delivered     plain Optuna's best trial, its one run at its best validation epoch
    - plain, retrained     plain's pick retrained with a fresh seed, restored at its best
                           validation epoch (mean over 5 such retrains: what a careful Optuna
                           user gets on average)
    - majority             always the training set's most common speaker

    python benchmarks/bench_classify.py --quick          # smoke: 1 seed, a tiny budget
    python benchmarks/bench_classify.py --seeds 5        # the measurement in RESULTS.md
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
import torch
from bench_sweep import (
    CONTENDERS,
    SEARCHED,
    TABLE_CHANGES,
    move_table,
    retrained_models,
    sweep_to_budget,
    trace,
)
from joblib import Parallel, delayed

from sweeper import IntRange
from sweeper.kept import from_study
from sweeper.selection import choose
from sweeper.spec import load_study_file
from sweeper.windows import prepare

STUDY_FILE = Path(__file__).parent.parent / "studies" / "japanese_vowels.py"
RETRAIN_SEEDS = 5
QUICK = {"budget": 60, "retrain_seeds": 1}


def run_study(contender: str, seed: int, budget: int, quick: bool) -> dict:
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    base = load_study_file(STUDY_FILE)
    space = base.space if not quick else dataclasses.replace(
        base.space, hidden=IntRange(4, 8), layers=1, epochs=IntRange(5, 10, step=5),
        batch_size=1024)  # one step an epoch
    spec = dataclasses.replace(base, name=f"vowels-{contender}-{seed}", seed=seed, space=space,
                               trial_figures=False, engine="sequential", n_trials=1_000_000,
                               **CONTENDERS[contender])
    windows = prepare(spec.data, STUDY_FILE.parent, seed=seed)
    with tempfile.TemporaryDirectory() as artifacts, \
            move_table(TABLE_CHANGES.get(contender, {})):
        study, used, sweep_s = sweep_to_budget(spec, windows, budget, artifacts)
        if contender != "plain":  # sweeper delivers the model chosen from its kept runs
            choose(study, windows, artifacts)
        model = from_study(study, artifacts)
        delivered_loss = model.losses_on(windows, "test")[0]
        delivered_acc = model.scores_on(windows, "test")["accuracy"]
    chosen = model.config
    row = {"contender": contender, "seed": seed, "budget": budget, "member_epochs": used,
           "sweep_s": round(sweep_s, 1), "n_trials": len(study.trials),
           "chosen": {k: chosen[k] for k in SEARCHED + ("lr",)},
           "test_windows": int(windows.n_test),
           "majority": windows.task.majority(windows.split("test")[2]),
           "delivered_loss": delivered_loss, "delivered_accuracy": delivered_acc,
           "trace": trace(study)}
    if contender == "plain":  # what a careful user of plain Optuna retrains from its pick
        n = QUICK["retrain_seeds"] if quick else RETRAIN_SEEDS
        best, _ = retrained_models(chosen, spec.data, windows,
                                   [10_000 + 1000 * seed + s for s in range(n)], seed)
        row["retrained_loss"] = float(np.mean([m.losses_on(windows, "test")[0] for m in best]))
        row["retrained_accuracy"] = float(np.mean([m.scores_on(windows, "test")["accuracy"]
                                                   for m in best]))
    return row


def summarize(rows: list[dict]) -> str:
    plain = {r["seed"]: r for r in rows if r["contender"] == "plain"}
    swept = {r["seed"]: r for r in rows if r["contender"] == "sweeper"}
    seeds = sorted(set(plain) & set(swept))
    lines = ["| study seed | test sequences | majority | plain, delivered | plain, retrained "
             "(mean of 5) | sweeper, delivered | sweeper's pick (hidden, layers, dropout, "
             "weight decay, epochs, lr) |", "|---|---|---|---|---|---|---|"]

    def cell(r: dict, what: str) -> str:
        return f"{r[what + '_accuracy']:.3f} ({r[what + '_loss']:.3f})"

    for seed in seeds:
        p, s = plain[seed], swept[seed]
        c = s["chosen"]
        lines.append(f"| {seed} | {s['test_windows']} | {s['majority']:.3f} | "
                     f"{cell(p, 'delivered')} | {cell(p, 'retrained')} | "
                     f"{cell(s, 'delivered')} | {c['hidden']}, {c['layers']}, "
                     f"{c['dropout']:.2f}, {c['weight_decay']:.1e}, {c['epochs']}, "
                     f"{c['lr']:.1e} |")
    if seeds:
        def median(rows: dict, key: str) -> float:
            return float(np.median([rows[s][key] for s in seeds]))

        ours = [swept[s]["delivered_accuracy"] for s in seeds]
        theirs = [plain[s]["retrained_accuracy"] for s in seeds]
        wins = sum(a > b for a, b in zip(ours, theirs, strict=True))
        ties = sum(a == b for a, b in zip(ours, theirs, strict=True))
        lines.append(f"| median | | {median(swept, 'majority'):.3f} | "
                     f"{median(plain, 'delivered_accuracy'):.3f} | "
                     f"{median(plain, 'retrained_accuracy'):.3f} | "
                     f"{median(swept, 'delivered_accuracy'):.3f} | sweeper above plain "
                     f"retrained in {wins}/{len(seeds)} seeds ({ties} ties) |")
    lines.append("(accuracy on the test split, cross-entropy in brackets)")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: 1 seed, a tiny space")
    p.add_argument("--budget", type=int, default=3000, help="member-epochs per study")
    p.add_argument("--seeds", type=int, default=5, help="study seeds (0 ... SEEDS - 1)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--contenders", nargs="+", default=["plain", "sweeper"],
                   choices=list(CONTENDERS))
    p.add_argument("--out", help="also write every study's row as JSON here; studies already "
                                 "in it are read back, not run again")
    args = p.parse_args()
    if args.quick:
        args.budget, args.seeds = QUICK["budget"], 1
    if args.budget < 1 or args.seeds < 1:
        p.error("--budget and --seeds must be at least 1")
    start = time.perf_counter()
    work = [(c, seed) for seed in range(args.seeds) for c in args.contenders]
    rows = [r for r in (json.loads(Path(args.out).read_text())
                        if args.out and Path(args.out).exists() else [])
            if r["budget"] == args.budget]
    done = {(r["contender"], r["seed"]) for r in rows}
    work = [w for w in work if w not in done]
    for row in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
            delayed(run_study)(c, seed, args.budget, args.quick) for c, seed in work):
        rows.append(row)
        print(f"  [{len(rows) - len(done)}/{len(work)}] {row['contender']} seed "
              f"{row['seed']}: test accuracy {row['delivered_accuracy']:.3f} "
              f"({row['sweep_s']:.0f} s)", flush=True)
        if args.out:
            Path(args.out).write_text(json.dumps(rows, indent=1))
    print(f"# bench_classify: {STUDY_FILE.name}, budget {args.budget} member-epochs per study, "
          f"{args.seeds} study seeds, {args.jobs} processes x 1 torch thread on "
          f"{platform.processor() or platform.machine()}; {time.perf_counter() - start:.0f} s")
    print(summarize(rows))
    print()
    print(summarize_contenders(rows))


def summarize_contenders(rows: list[dict]) -> str:
    """Each contender's median test accuracy and cross-entropy over its study seeds, and the
    best score its trials reached after 25, 50, 75 and 100% of the budget (medians)."""
    from bench_sweep import FRACTIONS, best_by

    lines = ["| contender | studies | test accuracy: median / worst | test cross-entropy: "
             "median | best score after 25% / 50% / 75% / 100% of the budget |",
             "|---|---|---|---|---|"]
    for c in dict.fromkeys(r["contender"] for r in rows):
        rs = [r for r in rows if r["contender"] == c]
        acc = [r["delivered_accuracy"] for r in rs]
        curve = " / ".join(f"{np.median([best_by(r, f) for r in rs]):.4f}" for f in FRACTIONS) \
            if all("trace" in r for r in rs) else "-"
        lines.append(f"| {c} | {len(rs)} | {np.median(acc):.3f} / {min(acc):.3f} | "
                     f"{np.median([r['delivered_loss'] for r in rs]):.3f} | {curve} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
