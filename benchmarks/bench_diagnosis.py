"""How right is the fit diagnosis? Scores it on the evaluation sets against their labelling rule.

Reads the development set benchmarks/data/diagnosis_eval.npz and the held-out sets
benchmarks/data/diagnosis_holdout.npz and diagnosis_holdout2.npz (all made by
make_diagnosis_eval.py, with other seeds each), labels every run by
the rule written in RESULTS.md (using test loss and the continuation beyond epoch E, which the
diagnosis never sees), and prints accuracy, per-class recall, the confusion matrix and macro-F1
for sweeper's diagnosis next to a naive rule ("validation minimum before the last epoch ->
overfit, else underfit"), and how often a label survives +-1% multiplicative noise.
`--rule v1` applies the first rule, kept for the record.

Each set also gets a ceiling for telling good from underfit by validation loss: an oracle that
knows rule v2's overfit and train-longer verdicts exactly and the strong reference's validation
loss, and calls a run underfit when that is below t x the run's final validation loss, with t
chosen on the same set (for the best macro-F1, and for the best with every recall >= 0.8).
What it cannot know is the reference's test loss.

    python benchmarks/bench_diagnosis.py [--noise-draws 10] [--rule v2] [--data FILE ...]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import numpy as np

from sweeper.diagnosis import SEVERITY, diagnose_run, diagnose_trial

HERE = Path(__file__).resolve().parent / "data"
DATA = {"development": HERE / "diagnosis_eval.npz", "held-out": HERE / "diagnosis_holdout.npz",
        "second held-out": HERE / "diagnosis_holdout2.npz"}
LABELS = ["underfit", "good", "overfit", "diverged"]
MARGIN = 0.9  # "clearly better": at least 10% lower


def tail(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.mean(x[-5:])) if x.size else float("nan")


def window(epochs: int) -> int:
    """Rule v2's averaging window: a tenth of the epochs seen, at least 5."""
    return max(5, round(epochs / 10))


def true_label(curves: np.ndarray, epochs: int, reference: list[float] | None) -> str:
    """Rule v2 from RESULTS.md, verbatim."""
    train, val, test = curves[0, :epochs], curves[1, :epochs], curves[2, :epochs]
    if not (np.isfinite(train).all() and np.isfinite(val).all()):
        return "diverged"
    w = window(epochs)

    def around(x: np.ndarray, t: int) -> float:  # mean over the w epochs centred on t
        return float(np.mean(x[max(0, t - w // 2): t + w // 2 + 1]))

    val_final, test_final = float(np.mean(val[-w:])), float(np.mean(test[-w:]))
    best = int(np.argmin([around(val, t) for t in range(epochs)]))
    if best <= epochs - w - 1 and around(test, best) < MARGIN * test_final:
        return "overfit"
    longer_val, longer_test = curves[1, : 3 * epochs], curves[2, : 3 * epochs]
    if (np.isfinite(longer_val).all() and np.isfinite(longer_test).all()
            and np.mean(longer_val[-w:]) < MARGIN * val_final
            and np.mean(longer_test[-w:]) < MARGIN * test_final):
        return "underfit"
    if reference is not None and (reference[0] < MARGIN * val_final
                                  and reference[1] < MARGIN * test_final):
        return "underfit"
    return "good"


def true_label_v1(curves: np.ndarray, epochs: int, reference: list[float] | None) -> str:
    """Rule v1 from RESULTS.md, verbatim; kept for the record."""
    train, val, test = curves[0, :epochs], curves[1, :epochs], curves[2, :epochs]
    if not (np.isfinite(train).all() and np.isfinite(val).all()):
        return "diverged"
    best = int(np.argmin(val))
    test_final = tail(test)
    if test[best] < MARGIN * test_final:
        return "overfit"
    longer_val, longer_test = curves[1, : 3 * epochs], curves[2, : 3 * epochs]
    finite = np.isfinite(longer_val) & np.isfinite(longer_test)
    if finite.sum() == 3 * epochs and (tail(longer_val) < MARGIN * tail(val)
                                       and tail(longer_test) < MARGIN * test_final):
        return "underfit"
    if reference is not None and (reference[0] < MARGIN * tail(val)
                                  and reference[1] < MARGIN * test_final):
        return "underfit"
    return "good"


def oracle_ceiling(curves: np.ndarray, meta: list[dict], reference: dict,
                   truth: list[str]) -> list[tuple[str, float, dict]]:
    """The validation oracle described above at two choices of t: the best macro-F1, and the
    best macro-F1 with every class recall at least 0.8 (the target's constraint), as
    (what, t, scores); the second is left out where no t meets the constraint."""
    known = []
    for c, m in zip(curves, meta, strict=True):
        e = m["epochs"]
        ref = reference.get(f"{m['series']}/{m['config']['loss']}")
        val_final = float(np.mean(c[1, :e][-window(e):]))
        known.append((true_label(c, e, None), ref[0] / val_final if ref else np.inf))
    tried = [(float(t), scores(truth, [("underfit" if k == "good" and r < t else k)
                                       for k, r in known]))
             for t in np.round(np.arange(0.3, 1.201, 0.01), 2)]
    out = [("best macro-F1", *max(tried, key=lambda ts: ts[1]["macro_f1"]))]
    constrained = [ts for ts in tried if min(ts[1]["recall"].values()) >= 0.8]
    if constrained:
        out.append(("every recall >= 0.8", *max(constrained, key=lambda ts: ts[1]["macro_f1"])))
    return out


def naive_label(train: np.ndarray, val: np.ndarray) -> str:
    if not (np.isfinite(train).all() and np.isfinite(val).all()):
        return "diverged"
    return "overfit" if int(np.argmin(val)) < len(val) - 1 else "underfit"


def scores(truth: list[str], pred: list[str]) -> dict:
    present = [c for c in LABELS if c in truth]
    confusion = {t: Counter(p for tt, p in zip(truth, pred, strict=True) if tt == t)
                 for t in present}
    recall, f1 = {}, {}
    for c in present:
        tp = confusion[c][c]
        n_true, n_pred = sum(confusion[c].values()), pred.count(c)
        recall[c] = tp / n_true
        precision = tp / n_pred if n_pred else 0.0
        f1[c] = 2 * precision * recall[c] / (precision + recall[c]) if tp else 0.0
    accuracy = sum(t == p for t, p in zip(truth, pred, strict=True)) / len(truth)
    return {"accuracy": accuracy, "recall": recall, "macro_f1": float(np.mean(list(f1.values()))),
            "confusion": confusion, "present": present}


def print_scores(name: str, s: dict) -> None:
    recalls = ", ".join(f"{c} {s['recall'][c]:.2f}" for c in s["present"])
    print(f"{name:10s} accuracy {s['accuracy']:.3f}  macro-F1 {s['macro_f1']:.3f}  "
          f"recall: {recalls}")
    print(f"{'':10s} confusion (rows true, columns predicted): "
          + "  ".join(f"{t}: [" + " ".join(f"{s['confusion'][t][p]:3d}" for p in LABELS) + "]"
                      for t in s["present"]) + f"   columns {'/'.join(LABELS)}")


def evaluate(path: Path, rule, noise_draws: int) -> None:
    d = np.load(path)
    curves, meta = d["curves"], json.loads(str(d["meta"]))
    reference = json.loads(str(d["reference"]))
    rng = np.random.default_rng(0)
    # What a sweep knows besides a trial's own curves: the best final validation loss other
    # runs on the same data reached (its best trial so far). Never the test split.
    finals = [(m["series"], m["config"]["loss"], tail(c[1, : m["epochs"]]))
              for c, m in zip(curves, meta, strict=True)]

    def best_other(i: int) -> float | None:
        same = [f for j, (s, loss, f) in enumerate(finals)
                if j != i and (s, loss) == finals[i][:2] and np.isfinite(f)]
        return min(same) if same else None

    truth, ours, naive, stable, series, runs = [], [], [], [], [], []
    for i, (c, m) in enumerate(zip(curves, meta, strict=True)):
        e = m["epochs"]
        train, val = c[0, :e].astype(float), c[1, :e].astype(float)
        ref = reference.get(f"{m['series']}/{m['config']['loss']}")
        truth.append(rule(c, e, ref))
        context = {"baseline": m["baseline"], "reference": best_other(i)}
        run = diagnose_run(train, val, **context)
        label = run.label.value
        runs.append(run)
        ours.append(label)
        naive.append(naive_label(train, val))
        same = all(
            diagnose_run(train * (1 + 0.01 * rng.uniform(-1, 1, e)),
                         val * (1 + 0.01 * rng.uniform(-1, 1, e)),
                         **context).label.value == label
            for _ in range(noise_draws))
        stable.append(same)
        series.append(m["series"])
    print(f"# {path.name}: {len(truth)} runs from {', '.join(sorted(set(series)))}; true labels "
          + ", ".join(f"{k} {v}" for k, v in Counter(truth).most_common()))
    print_scores("sweeper", scores(truth, ours))
    print_scores("naive", scores(truth, naive))
    print(f"label unchanged under +-1% multiplicative noise ({noise_draws} draws): "
          f"{np.mean(stable):.1%} of runs")
    if rule is true_label:
        for what, t, s in oracle_ceiling(curves, meta, reference, truth):
            print(f"validation oracle, t = {t:.2f} ({what}; a ceiling, not a classifier):")
            print_scores("oracle", s)
    # As a sweep sees them: one configuration's seeds are one trial's repeats, labelled by
    # diagnose_trial's vote; its true label is the majority of the runs' (ties as in the vote).
    trials: dict[str, list[int]] = {}
    for i, m in enumerate(meta):
        trials.setdefault(json.dumps([m["series"], m["config"]], sort_keys=True), []).append(i)
    trial_truth, trial_ours = [], []
    for idx in trials.values():
        votes = Counter(truth[i] for i in idx)
        top = max(votes.values())
        trial_truth.append(next(lbl.value for lbl in SEVERITY if votes.get(lbl.value) == top))
        trial_ours.append(diagnose_trial([runs[i] for i in idx]).label.value)
    print(f"# the same runs as {len(trials)} trials (a configuration's seeds are its repeats)")
    print_scores("trials", scores(trial_truth, trial_ours))
    for name in sorted(set(series)):
        idx = [i for i, s in enumerate(series) if s == name]
        acc = np.mean([truth[i] == ours[i] for i in idx])
        print(f"  {name:9s} {len(idx):3d} runs, sweeper accuracy {acc:.2f}, true "
              + ", ".join(f"{k} {v}" for k, v in Counter(truth[i] for i in idx).most_common()))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--noise-draws", type=int, default=10)
    p.add_argument("--rule", choices=["v1", "v2"], default="v2")
    p.add_argument("--data", nargs="+", type=Path, help="evaluation sets (default: all three)")
    args = p.parse_args()
    rule = true_label if args.rule == "v2" else true_label_v1
    paths = args.data or [f for f in DATA.values() if f.exists()] or [DATA["development"]]
    missing = [str(f) for f in paths if not f.is_file()]
    if missing:
        p.error(f"no evaluation set at {', '.join(missing)}; build one with "
                "benchmarks/make_diagnosis_eval.py.")
    for path in paths:
        evaluate(path, rule, args.noise_draws)


if __name__ == "__main__":
    main()
