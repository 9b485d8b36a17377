"""How right is the fit diagnosis? Scores it on the evaluation sets against their labelling rule.

Reads the development set benchmarks/data/diagnosis_eval.npz and the held-out sets
diagnosis_holdout.npz, diagnosis_holdout2.npz and diagnosis_holdout3.npz (all made by
make_diagnosis_eval.py, with other seeds each) and labels every run by rule v3 of RESULTS.md,
which uses what the diagnosis never sees: the test loss, the run continued to 3E epochs, the same
configuration better optimized, and the other configurations on the same data. Then it scores,
each against the same labels:

- sweeper's diagnosis of a lone file (`diagnose FILE --baseline B`: the curves and the naive
  forecast's loss), and of the same run inside a sweep (also the validation loss of the best
  other configuration on the same data);
- the ten-line rule written in RESULTS.md, a floor any diagnosis must clear, and a naive rule
  ("validation minimum before the last epoch -> overfit, else underfit");
- a validation oracle: rule v3's overfit and visible-underfit verdicts given exactly, and the
  reference configuration's validation loss against a threshold chosen on the same set; a
  ceiling for anything that reads validation loss, not a classifier.

It prints accuracy, per-class recall (and per kind of underfit), confusion, macro-F1, how often
a label survives +-1% multiplicative noise, the tutorial's unambiguous runs, a reliability table
(the share of labels that are right per confidence bin) and the accuracy per kind of run.
`--rule v2` and `--rule v1` score the earlier rules on the runs they were written for, as
recorded in RESULTS.md.

    python benchmarks/bench_diagnosis.py [--noise-draws 10] [--rule v3] [--data FILE ...]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sweeper.diagnosis import SEVERITY, Diagnosis, diagnose_run, diagnose_trial

HERE = Path(__file__).resolve().parent / "data"
DATA = {"development": HERE / "diagnosis_eval.npz", "held-out": HERE / "diagnosis_holdout.npz",
        "second held-out": HERE / "diagnosis_holdout2.npz",
        "third held-out": HERE / "diagnosis_holdout3.npz"}
GRID = HERE / "diagnosis_grid.npz"
# The recipe rules v1 and v2 were written for; rule v3's sets add hard cases beside it.
ORIGINAL = ("random", "tutorial")
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
    best = int(np.argmin(window_means(val, w // 2, w // 2)))
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


def evaluate_v2(path: Path, rule, noise_draws: int) -> None:
    """Rules v1 and v2 on the runs they were written for, scored as recorded in RESULTS.md."""
    d = np.load(path)
    meta = json.loads(str(d["meta"]))
    keep = [i for i, m in enumerate(meta) if m.get("case", "random") in ORIGINAL]
    curves, meta = d["curves"][keep], [meta[i] for i in keep]
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


# ---- rule v3 ------------------------------------------------------------------------------


def around(x: np.ndarray, t: int, w: int) -> float:
    """Mean over the w epochs centred on t (fewer at the ends)."""
    return float(np.mean(x[max(0, t - w // 2): t + w // 2 + 1]))


def window_means(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """np.mean(x[max(0, t - lo): t + hi + 1]) for every t, the same numbers as that loop (the
    full windows at once, the shorter ones at the ends one by one)."""
    n, width = len(x), lo + hi + 1
    out = np.empty(n)
    if n >= width:
        out[lo: n - hi] = sliding_window_view(x, width).mean(axis=-1)
    for t in [*range(min(lo, n)), *range(max(lo, n - hi), n)]:
        out[t] = np.mean(x[max(0, t - lo): t + hi + 1])
    return out


def final(x: np.ndarray, epochs: int) -> float:
    """Mean over the last w of the first `epochs` epochs."""
    return float(np.mean(x[:epochs][-window(epochs):]))


def at_best(curves: np.ndarray, epochs: int) -> tuple[float, float] | None:
    """(validation, test) averaged around the averaged validation minimum of the first `epochs`
    epochs: the model sweeper delivers. None for a run that diverged there."""
    val, test = curves[1, :epochs], curves[2, :epochs]
    if not (np.isfinite(val).all() and np.isfinite(test).all()):
        return None
    w = window(epochs)
    b = int(np.argmin(window_means(val, w // 2, w // 2)))
    return around(val, b, w), around(test, b, w)


def config_key(m: dict) -> str:
    return json.dumps([m["series"], m["config"]], sort_keys=True)


@dataclass
class EvalSet:
    """One evaluation set, with what rule v3 needs beside each run."""

    name: str
    curves: np.ndarray  # (n_runs, 3: train/val/test, longest)
    meta: list[dict]
    twins: list[list[np.ndarray]]  # per run, its twins' curves (3, E)
    # per (series, loss): {configuration: (validation, test)} over the set and the grid
    configurations: dict[str, dict[str, tuple[float, float]]]

    def reference(self, i: int) -> tuple[float, float] | None:
        """Rule v3's reference for run i: the other configuration with the lowest validation
        loss on the same series and loss, as (validation, test)."""
        m = self.meta[i]
        pool = self.configurations.get(f"{m['series']}/{m['config']['loss']}", {})
        others = [vt for key, vt in pool.items() if key != config_key(m)]
        return min(others) if others else None


def load_set(path: Path) -> EvalSet:
    d = np.load(path)
    curves, meta = d["curves"], json.loads(str(d["meta"]))
    if "twin_curves" not in d:
        raise SystemExit(f"{path} has no twins: extend it with make_diagnosis_eval.py --extend "
                         "to score rule v3.")
    twin_curves, twin_meta = d["twin_curves"], json.loads(str(d["twin_meta"]))
    twins: list[list[np.ndarray]] = [[] for _ in meta]
    for c, t in zip(twin_curves, twin_meta, strict=True):
        twins[t["run"]].append(c[:, : meta[t["run"]]["epochs"]])
    g = np.load(GRID)
    grid_curves, grid_meta = g["curves"], json.loads(str(g["meta"]))
    per_seed: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for c, m in [*zip(curves, meta, strict=True), *zip(grid_curves, grid_meta, strict=True)]:
        vt = at_best(c, m["epochs"])
        if vt is not None:
            pool = per_seed.setdefault(f"{m['series']}/{m['config']['loss']}", {})
            pool.setdefault(config_key(m), []).append(vt)
    configurations = {
        data: {key: (float(np.mean([v for v, _ in vts])), float(np.mean([t for _, t in vts])))
               for key, vts in pool.items()}
        for data, pool in per_seed.items()}
    return EvalSet(path.name, curves, meta, twins, configurations)


def true_label_v3(es: EvalSet, i: int, margin: float = MARGIN,
                  use_reference: bool = True) -> tuple[str, str]:
    """Rule v3 from RESULTS.md, as (label, kind); kind is "visible" or "reference" for
    underfit, else "". `margin` replaces 0.9 everywhere (the tutorial check varies it)."""
    c, e = es.curves[i], es.meta[i]["epochs"]
    train, val, test = c[0, :e], c[1, :e], c[2, :e]
    if not (np.isfinite(train).all() and np.isfinite(val).all()):
        return "diverged", ""
    w = window(e)
    val_final, test_final = final(val, e), final(test, e)
    best = int(np.argmin(window_means(val, w // 2, w // 2)))
    if best <= e - w - 1 and around(test, best, w) < margin * test_final:
        return "overfit", ""

    def clearly_better(v: float, t: float) -> bool:
        return v < margin * val_final and t < margin * test_final

    longer_val, longer_test = c[1, : 3 * e], c[2, : 3 * e]
    if (np.isfinite(longer_val).all() and np.isfinite(longer_test).all()
            and clearly_better(float(np.mean(longer_val[-w:])),
                               float(np.mean(longer_test[-w:])))):
        return "underfit", "visible"
    twin_finals = [(final(t[1], e), final(t[2], e)) for t in es.twins[i]
                   if np.isfinite(t[1:]).all()]
    if twin_finals and clearly_better(*min(twin_finals)):
        return "underfit", "visible"
    ref = es.reference(i) if use_reference else None
    if ref is not None and clearly_better(*ref):
        return "underfit", "reference"
    return "good", ""


def smooth_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of the given width; at the ends, the mean of what the window
    holds."""
    return window_means(x, (width - 1) // 2, width // 2)


def ten_line_label(train: np.ndarray, val: np.ndarray) -> str:
    """The ten-line rule of RESULTS.md, exactly; the floor any diagnosis must clear."""
    if not (np.isfinite(train).all() and np.isfinite(val).all()):
        return "diverged"
    n = len(val)
    width = max(1, round(n / 10))
    st, sv = smooth_mean(train, width), smooth_mean(val, width)
    b = int(np.argmin(sv))
    if (sv[-1] >= 1.1 * sv[b] and b < n - max(2, n // 20)
            and sv[-1] / st[-1] > sv[b] / st[b]):
        return "overfit"
    k = n // 5
    if (k > 0 and sv[-1] <= 0.95 * sv[n - 1 - k]) or train[-1] >= 0.5 * train[0]:
        return "underfit"
    return "good"


def oracle_v3(es: EvalSet, truth: list[str], min_recall: float = 0.7
              ) -> list[tuple[str, float, dict]]:
    """The validation oracle of RESULTS.md (rule v3) at its best t, and at the best t with every
    recall >= min_recall (left out where none reaches it), as (what, t, scores)."""
    known = []
    for i in range(len(es.meta)):
        label, _ = true_label_v3(es, i, use_reference=False)
        e = es.meta[i]["epochs"]
        ref = es.reference(i)
        val_final = final(es.curves[i, 1], e)
        known.append((label, ref[0] / val_final if ref and label == "good" else np.inf))
    tried = [(float(t), scores(truth, [("underfit" if r < t else k) for k, r in known]))
             for t in np.round(np.arange(0.3, 1.201, 0.01), 2)]
    out = [("best macro-F1", *max(tried, key=lambda ts: ts[1]["macro_f1"]))]
    constrained = [ts for ts in tried if min(ts[1]["recall"].values()) >= min_recall]
    if constrained:
        out.append((f"every recall >= {min_recall}",
                    *max(constrained, key=lambda ts: ts[1]["macro_f1"])))
    return out


TUTORIAL_LABEL = {"tutorial-100": "underfit", "tutorial-lstm1-sgd-mae": "underfit",
                  "tutorial-300": "underfit", "tutorial-800": "good", "tutorial-1200": "overfit"}
# The reliability table's bins, [low, high): the confidences the diagnosis reports are shares of
# six nearby thresholds (1/2, 2/3, 5/6, 1), so each bin holds one of them.
BINS = ((0.0, 0.6, "0.5 or less"), (0.6, 0.75, "0.67"), (0.75, 0.95, "0.83"), (0.95, 1.01, "1"))


def reliability(truth: list[str], runs: list[Diagnosis]) -> list[tuple[str, int, float]]:
    """(bin, labels in it, share right) per confidence bin, then per label."""
    rows = []
    for lo, hi, name in BINS:
        idx = [i for i, r in enumerate(runs) if lo <= r.confidence < hi]
        rows.append((f"confidence {name}", len(idx), share_right(truth, runs, idx)))
    for label in LABELS:
        idx = [i for i, r in enumerate(runs) if r.label.value == label]
        if idx:
            rows.append((f"called {label}", len(idx), share_right(truth, runs, idx)))
    return rows


def share_right(truth: list[str], runs: list[Diagnosis], idx: list[int]) -> float:
    return float(np.mean([truth[i] == runs[i].label.value for i in idx])) if idx else float("nan")


def evaluate_v3(path: Path, noise_draws: int) -> None:
    es = load_set(path)
    rng = np.random.default_rng(0)
    labelled = [true_label_v3(es, i) for i in range(len(es.meta))]
    truth = [label for label, _ in labelled]
    kinds = [kind for _, kind in labelled]
    modes: dict[str, list[Diagnosis]] = {"lone-file": [], "in-sweep": []}
    ten_line, naive = [], []
    stable: dict[str, list[bool]] = {"lone-file": [], "in-sweep": [], "ten-line": []}
    for i, m in enumerate(es.meta):
        e = m["epochs"]
        train, val = es.curves[i, 0, :e].astype(float), es.curves[i, 1, :e].astype(float)
        ref = es.reference(i)
        contexts = {"lone-file": {"baseline": m["baseline"]},
                    "in-sweep": {"baseline": m["baseline"],
                                 "reference": ref[0] if ref else None}}
        for mode, context in contexts.items():
            modes[mode].append(diagnose_run(train, val, **context))
        ten_line.append(ten_line_label(train, val))
        naive.append(naive_label(train, val))
        noisy = [(train * (1 + 0.01 * rng.uniform(-1, 1, e)),
                  val * (1 + 0.01 * rng.uniform(-1, 1, e))) for _ in range(noise_draws)]
        for mode, context in contexts.items():
            stable[mode].append(all(diagnose_run(t, v, **context).label is modes[mode][i].label
                                    for t, v in noisy))
        stable["ten-line"].append(all(ten_line_label(t, v) == ten_line[i] for t, v in noisy))

    counts = Counter(truth)
    series = sorted({m["series"] for m in es.meta})
    print(f"# {es.name}: {len(truth)} runs from {', '.join(series)}; true labels (rule v3) "
          + ", ".join(f"{k} {v}" for k, v in counts.most_common())
          + f" (underfit: {kinds.count('visible')} visible, {kinds.count('reference')} by "
          "reference)")
    preds = {"lone-file": [d.label.value for d in modes["lone-file"]],
             "in-sweep": [d.label.value for d in modes["in-sweep"]],
             "ten-line": ten_line, "naive": naive}
    for name, pred in preds.items():
        print_scores(name, scores(truth, pred))
        by_kind = {k: np.mean([pred[i] == "underfit" for i in range(len(truth))
                               if kinds[i] == k]) for k in ("visible", "reference")
                   if k in kinds}
        print(f"{'':10s} underfit recall by kind: "
              + ", ".join(f"{k} {v:.2f}" for k, v in by_kind.items()))
    for what, t, s in oracle_v3(es, truth):
        print(f"validation oracle, t = {t:.2f} ({what}; a ceiling, not a classifier):")
        print_scores("oracle", s)
    print(f"label unchanged under +-1% multiplicative noise ({noise_draws} draws): "
          + ", ".join(f"{mode} {np.mean(v):.1%}" for mode, v in stable.items()))

    # The tutorial's unambiguous runs: the rule, the tutorial and the margin agree.
    toy = [i for i, m in enumerate(es.meta) if m.get("case") == "tutorial"
           or m["config"].get("name") in TUTORIAL_LABEL]
    clear = [i for i in toy if truth[i] == TUTORIAL_LABEL[es.meta[i]["config"]["name"]]
             and all(true_label_v3(es, i, margin)[0] == truth[i] for margin in (0.95, 0.8))]
    line = f"tutorial: {len(clear)} of {len(toy)} toy runs unambiguous"
    for mode, runs in modes.items():
        wrong = [i for i in clear if runs[i].label.value != truth[i]]
        line += f"; {mode} right on {len(clear) - len(wrong)}"
        if wrong:
            line += " (wrong: " + ", ".join(
                f"run {i} {es.meta[i]['config']['name']} {runs[i].label.value}"
                for i in wrong) + ")"
    print(line)

    for mode, runs in modes.items():
        print(f"reliability, {mode}: " + "; ".join(
            f"{what}: {n} labels, {right:.0%} right" if n else f"{what}: none"
            for what, n, right in reliability(truth, runs)))

    cases = sorted({m.get("case", "random") for m in es.meta})
    print("| case | runs | true labels | lone-file | in-sweep | ten-line |")
    print("|---|---|---|---|---|---|")
    for case in cases:
        idx = [i for i, m in enumerate(es.meta) if m.get("case", "random") == case]
        acc = {name: np.mean([preds[name][i] == truth[i] for i in idx])
               for name in ("lone-file", "in-sweep", "ten-line")}
        print(f"| {case} | {len(idx)} | "
              + ", ".join(f"{k} {v}" for k, v in Counter(truth[i] for i in idx).most_common())
              + f" | {acc['lone-file']:.2f} | {acc['in-sweep']:.2f} | {acc['ten-line']:.2f} |")

    # As a sweep sees them: one configuration's seeds are one trial's repeats, labelled by
    # diagnose_trial's vote; its true label is the majority of the runs' (ties as in the vote).
    trials: dict[str, list[int]] = {}
    for i, m in enumerate(es.meta):
        trials.setdefault(config_key(m), []).append(i)
    trial_truth, trial_ours = [], []
    for idx in trials.values():
        votes = Counter(truth[i] for i in idx)
        top = max(votes.values())
        trial_truth.append(next(lbl.value for lbl in SEVERITY if votes.get(lbl.value) == top))
        trial_ours.append(diagnose_trial([modes["in-sweep"][i] for i in idx]).label.value)
    print(f"# the same runs as {len(trials)} trials (in-sweep; a configuration's seeds are its "
          "repeats)")
    print_scores("trials", scores(trial_truth, trial_ours))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--noise-draws", type=int, default=10)
    p.add_argument("--rule", choices=["v1", "v2", "v3"], default="v3")
    p.add_argument("--data", nargs="+", type=Path, help="evaluation sets (default: all)")
    args = p.parse_args()
    paths = args.data or [f for f in DATA.values() if f.exists()] or [DATA["development"]]
    missing = [str(f) for f in paths if not f.is_file()]
    if args.rule == "v3" and not GRID.is_file():
        missing.append(str(GRID))
    if missing:
        p.error(f"no evaluation set at {', '.join(missing)}; build one with "
                "benchmarks/make_diagnosis_eval.py.")
    for path in paths:
        if args.rule == "v3":
            evaluate_v3(path, args.noise_draws)
        else:
            evaluate_v2(path, true_label if args.rule == "v2" else true_label_v1,
                        args.noise_draws)


if __name__ == "__main__":
    main()
