"""Command line: `python -m sweeper STUDY.py [flags]` runs the sweep a study file describes.

Every mistake in the study file, its data or a flag is one sentence on stderr and exit code 2,
before any trial starts (`--debug` adds the traceback).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from .validate import SpecError

EXIT_USAGE = 2


def _parser(prog: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog or "sweeper",
        description="Run an LSTM hyperparameter sweep with seeded repeats and fit diagnosis.",
    )
    p.add_argument("study", help="study file (Python that builds one sweeper.Study)")
    p.add_argument("--n-trials", type=int, help="finished trials to reach (overrides the file)")
    p.add_argument("--repeats", type=int, help="seeded runs per trial")
    p.add_argument("--storage", help="Optuna storage URL, or a journal file path")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, help="study seed: sampler and every repeat's seed")
    p.add_argument("--pruner", help="none, median, percentile, successive_halving, hyperband, "
                                    "patient")
    p.add_argument("--engine", help="auto, vectorized or sequential: how repeats train")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads for torch (default 1: small LSTMs run fastest on one)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _error(prog: str, message: str, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    args = _parser(prog).parse_args(argv)
    prog = prog or "sweeper"
    try:
        # Imports here so that a bad flag is answered before torch loads.
        import torch

        from .data import prepare
        from .spec import load_study_file
        from .storage import default_storage, redact
        from .train import resolve_device

        spec = load_study_file(args.study)
        flags = {"n_trials": args.n_trials, "repeats": args.repeats, "storage": args.storage,
                 "device": args.device, "seed": args.seed, "pruner": args.pruner,
                 "engine": args.engine}
        try:
            spec = spec.override(**flags)
        except SpecError as exc:
            raise SpecError(f"command-line flags: {exc}") from None
        if args.threads < 1:
            raise SpecError(f"--threads must be >= 1, but got {args.threads}.")
        device = resolve_device(spec.device)
        try:
            windows = prepare(spec.data, Path(args.study).resolve().parent)
        except SpecError as exc:
            raise SpecError(f"{args.study}: data: {exc}") from None
        url = spec.storage or default_storage(spec.name)
        torch.set_num_threads(args.threads)
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)

    from .report import best_summary, format_table, trial_table
    from .sweep import run_sweep

    print(f"sweeper: study {spec.name!r} on {device}, {spec.repeats} repeats per trial, "
          f"storage {redact(url)}")
    print(f"data: {windows.name}, {windows.n_train} training and {windows.n_val} validation "
          f"windows of length {spec.data.window}")
    try:
        study = run_sweep(spec, windows, device, url, out=lambda line: print(line, flush=True))
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)
    except KeyboardInterrupt:
        print("\ninterrupted: the running trial is marked failed; finished trials are kept.",
              file=sys.stderr)
        return 130
    print()
    print(format_table(trial_table(study)))
    print()
    print(best_summary(study))
    print()
    print("Review it in the dashboard:")
    print(f"  {dashboard_command(url)}")
    return 0


def dashboard_command(url: str) -> str:
    from .storage import redact

    return f"optuna-dashboard {redact(url)}"


if __name__ == "__main__":
    sys.exit(main(prog="python -m sweeper"))
