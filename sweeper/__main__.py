"""Command line.

    python -m sweeper STUDY.py [flags]        run the sweep a study file describes
    python -m sweeper report STUDY.py         table, CSV and figures of what is stored
    python -m sweeper dashboard STUDY.py      optuna-dashboard on the study, with its figures
    python -m sweeper diagnose FILE... [...]  diagnose training histories (Keras, Lightning, CSV)
    python -m sweeper predict STUDY.py        the best trial's model: predictions as a CSV
    python -m sweeper export STUDY.py --out model.pt   the best trial's model as one file
    python -m sweeper repair STUDY.py         after a crash: fix the journal, reclaim lost trials

Every mistake in the study file, its data or a flag is one sentence on stderr and exit code 2,
before any trial starts (`--debug` adds the traceback). Ctrl-C exits 130 and SIGTERM 143, with the
running trials failed and every finished one kept; a sweep stopped by repeated failures or a long
storage outage exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .validate import SpecError

EXIT_USAGE = 2
EXIT_STOPPED = 1


def _parser(prog: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog or "sweeper",
        description="Run an LSTM hyperparameter sweep with seeded repeats and fit diagnosis.",
        epilog="Other commands: 'report STUDY.py' (table, CSV, figures), 'dashboard STUDY.py' "
               "(optuna-dashboard with sweeper's figures), 'predict STUDY.py' (the best "
               "trial's model on the study's data or --data FILE.csv), 'export STUDY.py --out "
               "model.pt' (that model as one file), 'diagnose FILE...' (label any training "
               "history), 'repair STUDY.py' (after a crash). Each takes --help.",
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
    p.add_argument("--sampler", help="tpe (default), random, gp, cmaes or qmc")
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
    if argv[:1] == ["predict"]:
        return predict_main(argv[1:], f"{prog or 'sweeper'} predict")
    if argv[:1] == ["export"]:
        return export_main(argv[1:], f"{prog or 'sweeper'} export")
    args = _parser(prog).parse_args(argv)
    prog = prog or "sweeper"
    try:
        # Imports here so that a bad flag is answered before torch loads.
        import torch

        from .data import prepare
        from .spec import load_study_file
        from .storage import (
            default_artifacts,
            default_storage,
            expand_url,
            is_journal,
            outage_limit_s,
            redact,
        )
        from .train import resolve_device
        from .workers import default_jobs, devices_for

        spec = load_study_file(args.study)
        flags = {"n_trials": args.n_trials, "repeats": args.repeats, "storage": args.storage,
                 "artifacts": args.artifacts,
                 "device": args.device, "seed": args.seed, "pruner": args.pruner,
                 "sampler": args.sampler,
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
            windows = prepare(spec.data, Path(args.study).resolve().parent, spec.seed)
        except SpecError as exc:
            raise SpecError(f"{args.study}: data: {exc}") from None
        url = spec.storage or default_storage(spec.name)
        expand_url(url)  # an unset ${VARIABLE} is a mistake to report now
        outage_limit_s()  # so is a bad SWEEPER_OUTAGE_LIMIT_S
        if url == ":memory:" and jobs > 1:
            raise SpecError("--jobs needs a storage the workers share; ':memory:' is private to "
                            "one process (use the default SQLite file or a journal path).")
        artifacts = spec.artifacts or default_artifacts(spec.name)
        torch.set_num_threads(args.threads)
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)

    # The review commands need the same storage and artifacts, when they are not the file's.
    import shlex

    from .delivery import score_test, test_line
    from .liveness import exit_code, stop_on_signals
    from .report import best_summary, format_table, trial_table
    from .review import publish_forecast, publish_test
    from .storage import StorageUnavailable
    from .sweep import TooManyFailures, run_sweep
    from .workers import WorkerError, WorkerStopped

    storage_flag = "".join(f" --{name} {shlex.quote(redact(value))}" for name, value in
                           (("storage", args.storage), ("artifacts", args.artifacts)) if value)
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
    print(f"data: {windows.summary}")
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
    except (TooManyFailures, StorageUnavailable, WorkerError, WorkerStopped) as exc:
        print(f"{prog}: stopped: {exc}", file=sys.stderr)
        return EXIT_STOPPED
    except Exception as exc:  # a bug or an environment problem: one line, the rest on --debug
        if args.debug:
            traceback.print_exc()
        print(f"{prog}: stopped on an unexpected {type(exc).__name__}: {exc} (finished trials "
              "are kept; --debug shows the traceback)", file=sys.stderr)
        return EXIT_STOPPED
    print()
    print(format_table(trial_table(study)))
    print()
    print(best_summary(study))
    try:
        test = score_test(study, windows, artifacts)
    except SpecError as exc:
        print(f"Test split not scored: {exc}")
    else:
        if test is not None:
            print(test_line(test))
            with contextlib.suppress(Exception):  # the note is a courtesy; the attr is stored
                publish_test(study, test)
    if spec.study_figures:
        with contextlib.suppress(SpecError, OSError):  # a figure for the dashboard's study page
            publish_forecast(study, artifacts, Path(args.study).resolve().parent)
    print()
    print("Review it in the dashboard:")
    print(f"  {dashboard_command(url, artifacts)}")
    print(f"  (or: python -m sweeper dashboard {args.study}{storage_flag})")
    print(f"Predict with the best trial's model: python -m sweeper predict {args.study}"
          f"{storage_flag}")
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
    from .record import json_safe

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
    spec = _spec(args)
    return spec.name, _where(args, spec)[0], _where(args, spec)[1]


def _spec(args: argparse.Namespace):  # noqa: ANN202 (spec.Study; imported late)
    from .spec import load_study_file

    return load_study_file(args.study)


def _where(args: argparse.Namespace, spec: Any) -> tuple[str, str]:
    from .storage import default_artifacts, default_storage

    return (args.storage or spec.storage or default_storage(spec.name),
            args.artifacts or spec.artifacts or default_artifacts(spec.name))


def report_main(argv: Sequence[str], prog: str) -> int:
    """`report`: the trial table, the best trial, failures, a CSV and figures on disk."""
    p = _review_parser(prog, "Print the trial table and best trial of a study, and write a "
                             "CSV and figures to runs/<study>/report/.")
    p.add_argument("--out", help="folder for the CSV and figures (default runs/<study>/report)")
    args = p.parse_args(argv)
    try:
        from .data import prepare
        from .delivery import from_study, score_test
        from .report import write_report
        from .storage import load_existing_study

        spec = _spec(args)
        url, artifacts = _where(args, spec)
        study = load_existing_study(spec.name, url)
        try:
            windows = prepare(spec.data, Path(args.study).resolve().parent, spec.seed)
        except SpecError as exc:
            raise SpecError(f"{args.study}: data: {exc}") from None
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)
    test = forecast = None
    notes = []
    try:  # the model's parts of the report; the rest stands without them
        test = score_test(study, windows, artifacts)
        if study.best_trials:
            forecast = from_study(study, artifacts,
                                  base_dir=Path(args.study).resolve().parent).predict()
    except SpecError as exc:
        notes.append(f"The best trial's model could not be used: {exc}")
    # Beside the artifacts: runs/<study>/report by default.
    print(write_report(study, Path(args.out or Path(artifacts).parent / "report"), test,
                       forecast))
    for line in notes:
        print(line)
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
        from .liveness import reclaim_stale
        from .storage import expand_url, is_journal, load_existing_study, repair_journal

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


def _model_parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = _review_parser(prog, description)
    p.add_argument("--trial", type=int, metavar="N",
                   help="a completed trial's model instead of the best trial's")
    return p


def predict_main(argv: Sequence[str], prog: str) -> int:
    """`predict`: the delivered model's predictions, one row per window, as a CSV and a
    figure."""
    p = _model_parser(prog, "Predict with a study's best trial's model (its repeats at their "
                            "best validation epochs, averaged): one row per window, forecast "
                            "step and target, with its position or time, split, target, "
                            "prediction and the repeats' lowest and highest prediction, plus "
                            "the forecast past the data's end.")
    p.add_argument("--data", metavar="FILE.csv",
                   help="new data in the study's format (default: the study's own data); "
                        "rows after the last target value give future covariates for the "
                        "forecast")
    p.add_argument("--out", metavar="FILE.csv",
                   help="where to write (default runs/<study>/predictions.csv); a PNG figure "
                        "goes beside it")
    args = p.parse_args(argv)
    try:
        from .delivery import from_study
        from .storage import load_existing_study

        name, url, artifacts = _locate(args)
        model = from_study(load_existing_study(name, url), artifacts, args.trial,
                           Path(args.study).resolve().parent)
        rows = model.predict(args.data)
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)
    from .plots import model_figure, save_png

    out = Path(args.out or Path(artifacts).parent / "predictions.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(out, index=False)
    what = f"{args.data}" if args.data else "the study's data"
    figure = save_png(model_figure(
        rows, f"{name} trial #{model.meta['trial']} on {what}: {model.n_repeats} repeats")[1],
        out.with_suffix(".png"))
    print(model.describe())
    for line in prediction_summary(rows, what):
        print(line)
    print(f"wrote {out} and {figure}")
    return 0


def prediction_summary(rows: Any, what: str, show: int = 6) -> list[str]:
    """Windows per split, and the first few values forecast past the data's end (for
    sequences: per split, the accuracy where labels are known)."""
    if "sequence" in rows:
        lines = []
        for split, part in rows.groupby("split", sort=False):
            n = part["sequence"].nunique()
            hit = (f": accuracy {(part['label'] == part['prediction']).mean():.3f}"
                   if "label" in part else "")
            lines.append(f"{n} {split} sequences{hit}")
        return [f"on {what}: " + "; ".join(lines)]
    first = rows
    for column in ("step", "variable"):
        if column in rows:
            first = first[first[column] == first[column].iloc[0]]
    counts = first["split"].value_counts()
    lines = [f"{len(first)} windows on {what} ({len(rows)} rows): " + ", ".join(
        f"{counts[s]} {s}" for s in ("train", "validation", "test", "new", "future")
        if s in counts)]
    future = rows[rows["split"] == "future"]
    if future.empty:
        lines.append("no forecast past the data's end: it needs the future covariates of the "
                     "steps it forecasts (give them in rows after the last target value, with "
                     "--data)")
    for _, row in future.head(show).iterrows():
        where = ", ".join(f"{c} {_plain(row[c])}" for c in ("series", "time", "position",
                                                             "step", "variable") if c in row)
        lines.append(f"forecast ({where}): {row['prediction']:.6g} (repeats "
                     f"{row['lowest']:.6g} to {row['highest']:.6g})")
    if len(future) > show:
        lines.append(f"... and {len(future) - show} more forecast rows in the file")
    return lines


def _plain(value: Any) -> str:
    """A time at midnight as its date; anything else as it prints."""
    if hasattr(value, "normalize") and value == value.normalize():
        return str(value.date())
    return str(value)


def export_main(argv: Sequence[str], prog: str) -> int:
    """`export`: the delivered model as one self-contained file."""
    p = _model_parser(prog, "Write a study's best trial's model (every repeat's weights at "
                            "its best epoch, the configuration, the data spec and the scaler) "
                            "to one file; sweeper.load_model(path) reads it.")
    p.add_argument("--out", required=True, metavar="MODEL.pt", help="file to write")
    args = p.parse_args(argv)
    try:
        from .delivery import from_study, to_bytes
        from .storage import load_existing_study

        name, url, artifacts = _locate(args)
        model = from_study(load_existing_study(name, url), artifacts, args.trial)
        out = Path(args.out)
        if out.is_dir():
            raise SpecError(f"--out {out} is a folder; give a file name such as "
                            f"{out / 'model.pt'}.")
        content = to_bytes(model.meta, [m.state_dict() for m in model.members])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
    except SpecError as exc:
        return _error(prog, str(exc), args.debug)
    print(model.describe())
    print(f"wrote {out} ({len(content) / 1e6:.2f} MB); load it with "
          f"sweeper.load_model({str(out)!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m sweeper"))
