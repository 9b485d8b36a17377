"""Command line.

    python -m sweeper STUDY.py [flags]        run the sweep a study file describes
    python -m sweeper report STUDY.py         table, CSV and figures of what is stored
    python -m sweeper dashboard STUDY.py      optuna-dashboard on the study, with its figures
    python -m sweeper diagnose FILE... [...]  diagnose training histories (Keras, Lightning, CSV)
    python -m sweeper repair STUDY.py         after a crash: fix the journal, reclaim lost trials

Every mistake in the study file, its data or a flag is one sentence on stderr and exit code 2,
before any trial starts (`--debug` adds the traceback). Ctrl-C exits 130 and SIGTERM 143, with the
running trials failed and every finished one kept; a sweep stopped by repeated failures or a long
storage outage exits 1.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from .validate import SpecError

EXIT_USAGE = 2
EXIT_STOPPED = 1


def _parser(prog: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog or "sweeper",
        description="Run an LSTM hyperparameter sweep with seeded repeats and fit diagnosis.",
        epilog="Other commands: 'report STUDY.py' (table, CSV, figures), 'dashboard STUDY.py' "
               "(optuna-dashboard with sweeper's figures), 'diagnose FILE...' (label any "
               "training history), 'repair STUDY.py' (after a crash). Each takes --help.",
    )
    p.add_argument("study", help="study file (Python that builds one sweeper.Study)")
    p.add_argument("--n-trials", type=int, help="finished trials to reach (overrides the file)")
    p.add_argument("--repeats", type=int, help="seeded runs per trial")
    p.add_argument("--storage", help="Optuna storage URL, or a journal file path")
    p.add_argument("--artifacts", help="folder for trial and study figures "
                                       "(default runs/<study name>/artifacts)")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, help="study seed: sampler and every repeat's seed")
    p.add_argument("--screen", action=argparse.BooleanOptionalAction,
                   help="train one repeat first and the rest only for trials scoring at or "
                        "below the median (the default; --no-screen trains every repeat)")
    p.add_argument("--pruner", help="none, median, percentile, successive_halving, hyperband, "
                                    "patient")
    p.add_argument("--engine", help="auto, vectorized or sequential: how repeats train")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads for torch per worker (default 1: small LSTMs run fastest "
                        "on one)")
    p.add_argument("--jobs", type=int,
                   help="worker processes on this machine (default 1, or one per visible GPU "
                        "on CUDA); run the same command on other hosts to add more")
    p.add_argument("--max-failures", type=int,
                   help="stop after this many failed trials in a row (default 5)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _error(prog: str, message: str, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["diagnose"]:
        return diagnose_main(argv[1:], f"{prog or 'sweeper'} diagnose")
    if argv[:1] == ["report"]:
        return report_main(argv[1:], f"{prog or 'sweeper'} report")
    if argv[:1] == ["dashboard"]:
        return dashboard_main(argv[1:], f"{prog or 'sweeper'} dashboard")
    if argv[:1] == ["repair"]:
        return repair_main(argv[1:], f"{prog or 'sweeper'} repair")
    args = _parser(prog).parse_args(argv)
    prog = prog or "sweeper"
    try:
        # Imports here so that a bad flag is answered before torch loads.
        import torch

        from .data import prepare
        from .spec import load_study_file
        from .storage import default_artifacts, default_storage, expand_url, is_journal, redact
        from .train import resolve_device
        from .workers import default_jobs, devices_for

        spec = load_study_file(args.study)
        flags = {"n_trials": args.n_trials, "repeats": args.repeats, "storage": args.storage,
                 "artifacts": args.artifacts,
                 "device": args.device, "seed": args.seed, "pruner": args.pruner,
                 "engine": args.engine, "max_failures": args.max_failures,
                 "screen": args.screen}
        try:
            spec = spec.override(**flags)
        except SpecError as exc:
            raise SpecError(f"command-line flags: {exc}") from None
        if args.threads < 1:
            raise SpecError(f"--threads must be >= 1, but got {args.threads}.")
        if args.jobs is not None and args.jobs < 1:
            raise SpecError(f"--jobs must be >= 1, but got {args.jobs}.")
        device = resolve_device(spec.device)
        jobs = args.jobs or default_jobs(device)
        try:
            windows = prepare(spec.data, Path(args.study).resolve().parent)
        except SpecError as exc:
            raise SpecError(f"{args.study}: data: {exc}") from None
        url = spec.storage or default_storage(spec.name)
        expand_url(url)  # an unset ${VARIABLE} is a mistake to report now
        if url == ":memory:" and jobs > 1:
            raise SpecError("--jobs needs a storage the workers share; ':memory:' is private to "
                            "one process (use the default SQLite file or a journal path).")
        artifacts = spec.artifacts or default_artifacts(spec.name)
        torch.set_num_threads(args.threads)
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)

    from .report import best_summary, format_table, trial_table
    from .storage import StorageUnavailable
    from .sweep import run_sweep
    from .workers import TooManyFailures, WorkerError, exit_code, stop_on_signals

    devices = devices_for(device, jobs)
    where = (f"{jobs} workers on {', '.join(sorted(set(devices)))}" if jobs > 1
             else f"on {device}")
    print(f"sweeper: study {spec.name!r} {where}, {spec.repeats} repeats per trial, "
          f"storage {redact(url)}")
    if jobs > 1 and url.startswith("sqlite:"):
        print("note: SQLite serves several workers on this machine only (not over a network "
              "filesystem); for several machines use a PostgreSQL URL, or a journal file path "
              "on a shared filesystem.")
    elif jobs > 1 and is_journal(url):
        print("note: a journal file takes several workers and hosts if they share its "
              "filesystem.")
    print(f"data: {windows.name}, {windows.n_train} training and {windows.n_val} validation "
          f"windows of length {spec.data.window}")
    try:
        with stop_on_signals():
            study = run_sweep(spec, windows, device, url,
                              out=lambda line: print(line, flush=True), artifacts=artifacts,
                              jobs=jobs, threads=args.threads, devices=devices)
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)
    except KeyboardInterrupt as exc:
        print(f"\n{'terminated' if exit_code(exc) == 143 else 'interrupted'}: the running "
              "trials are marked failed; finished trials are kept, and re-running the same "
              "command resumes the study.", file=sys.stderr)
        return exit_code(exc)
    except (TooManyFailures, StorageUnavailable, WorkerError) as exc:
        print(f"{prog}: stopped: {exc}", file=sys.stderr)
        return EXIT_STOPPED
    print()
    print(format_table(trial_table(study)))
    print()
    print(best_summary(study))
    print()
    print("Review it in the dashboard:")
    print(f"  {dashboard_command(url, artifacts)}")
    print(f"  (or: python -m sweeper dashboard {args.study})")
    return 0


def dashboard_command(url: str, artifacts: str) -> str:
    from .storage import redact

    return f"optuna-dashboard {redact(url)} --artifact-dir {artifacts}"


def _diagnose_parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Label training histories underfit, good, overfit or diverged, with the "
                    "reason and what to change. Reads Keras CSVLogger files, Lightning "
                    "metrics.csv, and any CSV or JSON with per-epoch losses.",
    )
    p.add_argument("files", nargs="+", help="history files (.csv or .json)")
    p.add_argument("--train-col", help="training-loss column (default: loss, train_loss, ...)")
    p.add_argument("--val-col", help="validation-loss column (default: val_loss, ...)")
    p.add_argument("--epoch-col", help="epoch column; rows sharing an epoch are averaged")
    p.add_argument("--baseline", type=float,
                   help="validation loss of a naive forecast: a plateau above it is underfit")
    p.add_argument("--reference", type=float,
                   help="the best validation loss a comparable run reached on the same data: a "
                        "plateau well above it is underfit (without it, the curves alone decide)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--plot", metavar="OUT.png",
                   help="draw the annotated curves (one file: OUT.png; several: OUT-1.png, ...)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def diagnose_main(argv: Sequence[str], prog: str) -> int:
    """`diagnose`: read each history, label it, print (or --json) and optionally --plot."""
    args = _diagnose_parser(prog).parse_args(argv)
    from .diagnosis import diagnose_run
    from .history import read_history
    from .storage import json_safe

    try:
        histories = [read_history(f, args.train_col, args.val_col, args.epoch_col)
                     for f in args.files]
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)
    results = []
    for h in histories:
        d = diagnose_run(h.train, h.val, baseline=args.baseline, reference=args.reference)
        results.append({"file": h.source, "label": d.label.value, "reason": d.reason,
                        "recommendation": d.recommendation, "confidence": d.confidence,
                        "n_epochs": len(h.val), "columns": list(h.columns),
                        "evidence": d.evidence})
        if args.plot:
            from .plots import curve_figure_data, draw_curves, save_png

            out = Path(args.plot)
            if len(histories) > 1:
                out = out.with_name(f"{out.stem}-{len(results)}{out.suffix or '.png'}")
            data = curve_figure_data([h.train], [h.val], title=Path(h.source).name,
                                     label=d.label.value, reason=d.reason,
                                     best_epochs=[d.evidence.get("best_epoch")])
            results[-1]["plot"] = str(save_png(draw_curves(data), out))
    if args.json:
        import json

        print(json.dumps(json_safe(results), indent=2))
        return 0
    for r in results:
        print(f"{r['file']}: {r['label']} ({r['n_epochs']} epochs)")
        print(f"  reason:         {r['reason']}")
        print(f"  recommendation: {r['recommendation']}")
        print(f"  confidence:     {r['confidence']:.2f} (1: no threshold between half and twice "
              "its value changes the label)")
        if "plot" in r:
            print(f"  plot:           {r['plot']}")
    return 0


def _review_parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("study", help="the study file the sweep ran")
    p.add_argument("--storage", help="Optuna storage URL, if not the file's or the default")
    p.add_argument("--artifacts", help="artifact folder, if not the file's or the default")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _locate(args: argparse.Namespace) -> tuple[str, str, str]:
    """(study name, storage URL, artifact folder) for a study file and its flags."""
    from .spec import load_study_file
    from .storage import default_artifacts, default_storage

    spec = load_study_file(args.study)
    return (spec.name, args.storage or spec.storage or default_storage(spec.name),
            args.artifacts or spec.artifacts or default_artifacts(spec.name))


def report_main(argv: Sequence[str], prog: str) -> int:
    """`report`: the trial table, the best trial, failures, a CSV and figures on disk."""
    p = _review_parser(prog, "Print the trial table and best trial of a study, and write a "
                             "CSV and figures to runs/<study>/report/.")
    p.add_argument("--out", help="folder for the CSV and figures (default runs/<study>/report)")
    args = p.parse_args(argv)
    try:
        from .report import write_report
        from .storage import load_existing_study

        name, url, artifacts = _locate(args)
        study = load_existing_study(name, url)
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)
    # Beside the artifacts: runs/<study>/report by default.
    print(write_report(study, Path(args.out or Path(artifacts).parent / "report")))
    return 0


def dashboard_main(argv: Sequence[str], prog: str) -> int:
    """`dashboard`: optuna-dashboard on the study's storage with its artifact folder."""
    p = _review_parser(prog, "Start optuna-dashboard on a study, with sweeper's figures.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080)
    args = p.parse_args(argv)
    try:
        name, url, artifacts = _locate(args)
        try:
            import optuna_dashboard
        except ImportError:
            raise SpecError("optuna-dashboard is not installed; install it with "
                            "pip install -e \".[dashboard]\" (or pip install optuna-dashboard)."
                            ) from None
        from .review import artifact_store
        from .storage import load_existing_study, redact

        study = load_existing_study(name, url)
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: optuna-dashboard has no authentication; anyone who can reach "
              f"{args.host}:{args.port} can read and change this study.", file=sys.stderr)
    print(f"optuna-dashboard on {redact(url)}, artifacts in {artifacts}")
    print(f"open http://{args.host}:{args.port}/dashboard/studies/{study._study_id}  "
          "(Ctrl-C stops it)", flush=True)
    try:
        optuna_dashboard.run_server(study._storage, host=args.host, port=args.port,
                                    artifact_store=artifact_store(artifacts))
    except KeyboardInterrupt:
        pass
    except (OSError, OverflowError) as exc:  # port taken, or not a port
        return _error(prog, f"cannot listen on {args.host}:{args.port} ({exc}); choose "
                            "another with --port.", args.debug)
    return 0


def repair_main(argv: Sequence[str], prog: str) -> int:
    """`repair`: what a crashed worker can leave behind, fixed while no worker is running."""
    p = _review_parser(prog, "After a worker was killed: cut a partial last record from a "
                             "journal file, remove its abandoned lock, and fail the trials left "
                             "running by workers that are gone (their configurations are queued "
                             "again). Run it only while no sweeper works on the study.")
    args = p.parse_args(argv)
    try:
        from .storage import expand_url, is_journal, load_existing_study, repair_journal
        from .workers import reclaim_stale

        name, url, _ = _locate(args)
        done = repair_journal(Path(expand_url(url))) if is_journal(url) else []
        study = load_existing_study(name, url)
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)
    for line in done:
        print(line)
    if not reclaim_stale(study, print) and not done:
        print(f"study {name!r}: nothing to repair.")
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m sweeper"))
