"""Smoke runs of the proof benchmarks' quick modes: they run end to end and print their tables.
(Their numbers are measured by hand and recorded in benchmarks/RESULTS.md, never asserted.)
Each runs in the test's process, as `python benchmarks/NAME.py ARGS` would run its main();
that every one of them imports in a fresh process is checked by test_dependencies."""

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parent.parent / "benchmarks"


@pytest.fixture
def bench(monkeypatch, capsys):
    """bench(script, *args, cwd=...) runs the benchmark's main() with those arguments in `cwd`
    and returns what it printed."""
    def run(script, *args, cwd):
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", [str(script), *map(str, args)])
        capsys.readouterr()
        importlib.import_module(Path(script).stem).main()
        return capsys.readouterr().out

    return run


@pytest.mark.slow
def test_bench_sweep_quick(tmp_path, capsys, bench):
    out = bench(BENCH / "bench_sweep.py", "--quick", "--jobs", 1, "--out", tmp_path / "rows.json",
                cwd=BENCH)
    for contender in ("plain", "sweeper", "sweeper-final-val", "repeats-no-penalty",
                      "penalty-no-repeats", "sweeper-unscreened", "sweeper-no-spread",
                      "sweeper-2-repeats", "sweeper-no-median", "sweeper-1-repeat",
                      "sweeper-repair", "sweeper-random-moves", "sweeper-repair-problems",
                      "sweeper-repair-either-way"):
        assert f"| sunspots | quick | {contender} | 1 |" in out  # what each hands back
        assert f"| sunspots | {contender} |" in out  # the earlier measurements
    # Its rows summarize again with --also, and rows it cannot use get one sentence.
    def main(*args):
        return bench(BENCH / "bench_sweep.py", *args, cwd=BENCH)

    budget = importlib.import_module("bench_sweep").QUICK_SIZES["budget"]  # what --quick ran
    again = main("--seeds", "0", "--budget", budget, "--also", tmp_path / "rows.json")
    assert "| sunspots | plain |" in again and "(with 14 studies from" in again
    (tmp_path / "bad.json").write_text('{"not": "rows"}')
    for args, message in [(["--also", tmp_path / "bad.json"], "is not a file that --out wrote"),
                          (["--also", tmp_path / "rows.json"], "cannot be summarized with")]:
        with pytest.raises(SystemExit) as exit_:
            main("--seeds", "0", *args)
        assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.slow
def test_bench_pruning_quick(bench):
    out = bench(BENCH / "bench_pruning.py", "--quick", cwd=BENCH)
    assert "## fixed trials" in out and "## fixed time" in out and "| median+deg |" in out


@pytest.mark.slow
def test_bench_intervals_quick(bench):
    out = bench(BENCH / "bench_intervals.py", "--quick", cwd=BENCH)
    for design in ("all", "later half", "drift"):
        assert f"| pooled | {design} |" in out


def test_compare_configs(tmp_path, bench):
    out = bench(BENCH / "compare_configs.py", "--quick", "--out", tmp_path / "runs.png",
                cwd=tmp_path)
    for name in ("100 epochs", "LSTM(1), sgd, mae, 300 epochs", "800 epochs", "1200 epochs",
                 "multiple runs"):
        assert name in out
    assert "quick: each configuration at a tenth of its epochs" in out
    assert (tmp_path / "runs.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_bench_diagnosis_scores_every_set_and_every_rule(tmp_path, bench):
    out = bench(BENCH / "bench_diagnosis.py", "--noise-draws", "1", cwd=tmp_path)
    sets = [line for line in out.splitlines() if line.startswith("# diagnosis_")]
    assert sets and sets[0].startswith("# diagnosis_eval.npz:")
    assert sets[1].startswith("# diagnosis_holdout.npz:")
    for who in ("lone-file", "in-sweep", "ten-line", "naive", "trials"):
        assert sum(line.startswith(f"{who} ") and "macro-F1" in line
                   for line in out.splitlines()) == len(sets)
    # the validation oracle, and the reliability table of both modes, per set
    assert sum(line.startswith("oracle ") for line in out.splitlines()) >= len(sets)
    assert out.count("reliability, ") == 2 * len(sets) and out.count("tutorial: ") == len(sets)
    # The earlier rules share one evaluation: each on one set, the noise path once.
    for rule, draws in (("v2", 0), ("v1", 1)):
        assert "macro-F1" in bench(BENCH / "bench_diagnosis.py", "--rule", rule, "--noise-draws",
                                   draws, "--data", BENCH / "data" / "diagnosis_eval.npz",
                                   cwd=tmp_path)


def test_bench_selection_quick(bench):
    out = bench(BENCH / "bench_selection.py", "--quick", "--jobs", 1, cwd=BENCH)
    for score in ("one run", "3 seeds", "3 periods", "one run, equal compute"):
        assert f"| sunspots | {score} " in out


def test_bench_checkpoints_quick(bench):
    out = bench(BENCH / "bench_checkpoints.py", "--quick", cwd=BENCH)
    assert "training with / without checkpoints" in out and "of a trial" in out


def test_bench_inputs_quick(bench):
    out = bench(BENCH / "bench_inputs.py", "--quick", cwd=BENCH)
    assert "| 5 inputs, future covariates at the head |" in out and "5 inputs / 1 input:" in out


@pytest.mark.slow
def test_bench_classify_quick(tmp_path, bench):
    out = bench(BENCH / "bench_classify.py", "--quick", "--jobs", "1", "--out",
                tmp_path / "rows.json", cwd=BENCH)
    assert "| 0 | 63 |" in out and "| median |" in out  # one seed, its 63 test sequences
