"""Command line.

    python -m sweeper STUDY.py [flags]        run the sweep a study file describes
    python -m sweeper report STUDY.py         table, CSV and figures of what is stored
    python -m sweeper dashboard STUDY.py      optuna-dashboard on the study, with its figures
    python -m sweeper diagnose FILE... [...]  diagnose training histories (Keras, Lightning, CSV)
    python -m sweeper predict STUDY.py        the best trial's model: predictions as a CSV
    python -m sweeper export STUDY.py --out model.pt   the best trial's model as one file
    python -m sweeper repair STUDY.py         after a crash: fix the journal, reclaim lost trials

`COMMANDS` maps each name to its parser and handler; `main` picks one, and its one `try` turns
every mistake in the study file, its data or a flag into one sentence on stderr and exit code 2,
before any trial starts (`--debug` adds the traceback). A sweep that Ctrl-C stops exits 130 and
SIGTERM 143, with the running trials failed and every finished one kept; one stopped by repeated
failures or a long storage outage exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from . import __version__
from .validate import SpecError

EXIT_USAGE = 2
EXIT_STOPPED = 1


class Command(NamedTuple):
    parser: Callable[[str], argparse.ArgumentParser]
    run: Callable[[argparse.Namespace, str], int]


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = prog or "sweeper"
    name = argv[0] if argv and argv[0] in COMMANDS and argv[0] != "run" else "run"
    if name != "run":
        argv, prog = argv[1:], f"{prog} {name}"
    command = COMMANDS[name]
    args = command.parser(prog).parse_args(argv)
    try:
        return command.run(args, prog)
    except SpecError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _study_dir(args: argparse.Namespace) -> Path:
    """The study file's folder: relative data paths in it start there."""
    return Path(args.study).resolve().parent


def _load(args: argparse.Namespace, flags: dict[str, Any] | None = None) -> Any:
    """The study file's spec (a spec.Study), with command-line `flags` applied (and --name
    for every command)."""
    from .spec import load_study_file

    spec = load_study_file(args.study)
    flags = {"name": getattr(args, "name", None), **(flags or {})}
    try:
        return spec.override(**flags) if flags else spec
    except SpecError as exc:
        raise SpecError(f"command-line flags: {exc}") from None


def _where(args: argparse.Namespace, spec: Any) -> tuple[str, str]:
    """(storage URL, artifact folder): the flags', else the study file's, else the default."""
    from .storage import locate

    return locate(spec, getattr(args, "storage", None), getattr(args, "artifacts", None))


def _windows(args: argparse.Namespace, spec: Any) -> Any:
    """The study's data, prepared as the sweep does; a problem names the study file."""
    from .windows import prepare

    try:
        return prepare(spec.data, _study_dir(args), spec.seed)
    except SpecError as exc:
        raise SpecError(f"{args.study}: data: {exc}") from None


# run: the sweep.


def _run_parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Run an LSTM hyperparameter sweep with seeded repeats and fit diagnosis.",
        epilog="Other commands: 'report STUDY.py' (table, CSV, figures), 'dashboard STUDY.py' "
               "(optuna-dashboard with sweeper's figures), 'predict STUDY.py' (the best "
               "trial's model on the study's data or --data FILE.csv), 'export STUDY.py --out "
               "model.pt' (that model as one file), 'diagnose FILE...' (label any training "
               "history), 'repair STUDY.py' (after a crash). Each takes --help.",
    )
    p.add_argument("study", help="study file (Python that builds one sweeper.Study)")
    p.add_argument("--version", action="version", version=f"sweeper {__version__}")
    p.add_argument("--n-trials", type=int, help="finished trials to reach (overrides the file)")
    p.add_argument("--name", help="the study's name (default: Study.name): another name starts "
                                  "a new study from the same file")
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
    p.add_argument("--repair", help="off (default), auto (a trial's diagnosis may queue one "
                                    "child by a repair move) or random (the same share of "
                                    "children, moves drawn at random)")
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


class _Sweep(NamedTuple):
    """Everything checked before the first trial."""

    spec: Any
    device: Any
    jobs: int
    windows: Any
    url: str
    artifacts: str


def _check_run(args: argparse.Namespace) -> _Sweep:
    """The study file, its flags, its data and its storage, checked: every mistake is a
    SpecError here, before any trial starts."""
    # Imports here so that a bad flag is answered before torch loads.
    import torch

    from .storage import expand_url, outage_limit_s
    from .train import resolve_device
    from .workers import default_jobs

    spec = _load(args, {
        "name": args.name, "n_trials": args.n_trials, "repeats": args.repeats,
        "storage": args.storage,
        "artifacts": args.artifacts, "device": args.device, "seed": args.seed,
        "pruner": args.pruner, "sampler": args.sampler, "engine": args.engine,
        "repair": args.repair,
        "max_failures": args.max_failures, "screen": args.screen})
    if args.threads < 1:
        raise SpecError(f"--threads must be >= 1, but got {args.threads}.")
    if args.jobs is not None and args.jobs < 1:
        raise SpecError(f"--jobs must be >= 1, but got {args.jobs}.")
    device = resolve_device(spec.device)
    jobs = args.jobs or default_jobs(device)
    windows = _windows(args, spec)
    url, artifacts = _where(args, spec)
    expand_url(url)  # an unset ${VARIABLE} is a mistake to report now
    outage_limit_s()  # so is a bad SWEEPER_OUTAGE_LIMIT_S
    if url == ":memory:" and jobs > 1:
        raise SpecError("--jobs needs a storage the workers share; ':memory:' is private to "
                        "one process (use the default SQLite file or a journal path).")
    torch.set_num_threads(args.threads)
    return _Sweep(spec, device, jobs, windows, url, artifacts)


def run_main(args: argparse.Namespace, prog: str) -> int:
    """The sweep: check everything, say what runs where, sweep, then say what came of it."""
    from .liveness import exit_code, stop_on_signals
    from .storage import StorageUnavailable
    from .sweep import TooManyFailures, duration, run_sweep
    from .workers import WorkerError, WorkerStopped, devices_for

    s = _check_run(args)
    devices = devices_for(s.device, s.jobs)
    _say_start(s, devices)
    start = time.monotonic()
    try:
        with stop_on_signals():
            study = run_sweep(s.spec, s.windows, s.device, s.url,
                              out=lambda line: print(line, flush=True), artifacts=s.artifacts,
                              jobs=s.jobs, threads=args.threads, devices=devices)
    except KeyboardInterrupt as exc:
        print(f"\n{'terminated' if exit_code(exc) == 143 else 'interrupted'}: the running "
              "trials are marked failed; finished trials are kept, and re-running the same "
              "command resumes the study.", file=sys.stderr)
        return exit_code(exc)
    except (TooManyFailures, StorageUnavailable, WorkerError, WorkerStopped) as exc:
        print(f"{prog}: stopped: {exc}", file=sys.stderr)
        return EXIT_STOPPED
    except SpecError:
        raise
    except Exception as exc:  # a bug or an environment problem: one line, the rest on --debug
        if args.debug:
            traceback.print_exc()
        print(f"{prog}: stopped on an unexpected {type(exc).__name__}: {exc} (finished trials "
              "are kept; --debug shows the traceback)", file=sys.stderr)
        return EXIT_STOPPED
    print(f"\nThe sweep took {duration(time.monotonic() - start)}.")
    _say_end(args, s, study)
    return 0


def _say_start(s: _Sweep, devices: list[str]) -> None:
    from .storage import is_journal, redact
    from .words import counted

    where = (f"{s.jobs} workers on {', '.join(sorted(set(devices)))}" if s.jobs > 1
             else f"on {s.device}")
    print(f"sweeper: study {s.spec.name!r} {where}, {counted(s.spec.repeats, 'repeat')} per trial, "
          f"storage {redact(s.url)}")
    if s.jobs > 1 and s.url.startswith("sqlite:"):
        print("note: SQLite serves several workers on this machine only (not over a network "
              "filesystem); for several machines use a PostgreSQL URL, or a journal file path "
              "on a shared filesystem.")
    elif s.jobs > 1 and is_journal(s.url):
        print("note: a journal file takes several workers and hosts if they share its "
              "filesystem.")
    print(f"data: {s.windows.summary}")


def _say_end(args: argparse.Namespace, s: _Sweep, study: Any) -> None:
    """The trial table, the best trial, the test split, the forecast figure and what next."""
    import shlex

    from .holdout import heldout_sentence, score_heldout
    from .report import best_summary, format_table, trial_table, units_caption
    from .review import publish_forecast, publish_test, publish_worth
    from .storage import redact

    print()
    print(format_table(trial_table(study)))
    print(units_caption(study))
    print()
    print(best_summary(study))
    card = _worth(args, s.spec, study, s.windows, s.artifacts)
    try:
        test = score_heldout(study, s.windows, s.artifacts)
    except SpecError as exc:
        print(f"Test split not scored: {exc}")
    else:
        if test is not None:
            print(f"Test split: {heldout_sentence(test)}")
            with contextlib.suppress(Exception):  # the note is a courtesy; the attr is stored
                publish_test(study, test)
    if card:
        with contextlib.suppress(Exception):
            publish_worth(study, card)
    if s.spec.study_figures:
        with contextlib.suppress(SpecError, OSError):  # a figure for the dashboard's study page
            publish_forecast(study, s.artifacts, _study_dir(args))
    # The review commands need the same storage and artifacts, when they are not the file's.
    flags = "".join(f" --{name} {shlex.quote(redact(value))}" for name, value in
                    (("name", args.name), ("storage", args.storage),
                     ("artifacts", args.artifacts)) if value)
    print()
    print("Review it in the dashboard:")
    print(f"  optuna-dashboard {redact(s.url)} --artifact-dir {s.artifacts}")
    print(f"  (or: python -m sweeper dashboard {args.study}{flags})")
    print(f"Predict with the delivered model: python -m sweeper predict {args.study}{flags}")
    _warn(card)


def _worth(args: argparse.Namespace, spec: Any, study: Any, windows: Any,
           artifacts: str) -> dict[str, Any] | None:
    """The delivered model beside the baselines (see worth), printed; None where there is
    no model to compare."""
    from .worth import assess, lines

    try:
        card = assess(study, windows, artifacts, _study_dir(args))
    except SpecError as exc:
        print(f"Not compared with the baselines: {exc}")
        return None
    if card:
        print()
        print("\n".join(lines(card, with_warnings=False)))
    return card


def _warn(card: dict[str, Any] | None, stored: list[str] | None = None) -> None:
    """The warnings of a delivered model that loses to a baseline (from its card, or as a
    model file keeps them), last, where they are seen."""
    from .worth import warnings

    for line in warnings(card) if card else stored or []:
        print()
        print(line)


# diagnose: any training history.


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


def diagnose_main(args: argparse.Namespace, prog: str) -> int:
    """`diagnose`: read each history, label it, print (or --json) and optionally --plot."""
    from .diagnosis import diagnose_run
    from .history import read_history
    from .record import json_safe

    histories = [read_history(f, args.train_col, args.val_col, args.epoch_col)
                 for f in args.files]
    results = []
    for i, h in enumerate(histories):
        d = diagnose_run(h.train, h.val, baseline=args.baseline, reference=args.reference)
        results.append({"file": h.source, "label": d.label.value, "reason": d.reason,
                        "recommendation": d.recommendation, "confidence": d.confidence,
                        "n_epochs": len(h.val), "columns": list(h.columns),
                        "evidence": d.evidence})
        if args.plot:
            results[-1]["plot"] = _plot_history(h, d, Path(args.plot),
                                                i + 1 if len(histories) > 1 else None)
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


def _plot_history(h: Any, d: Any, out: Path, number: int | None) -> str:
    """The annotated curves of one history, saved as OUT.png (OUT-<number>.png of several)."""
    from .plots import curve_figure_data, draw_curves, save_png

    if number is not None:
        out = out.with_name(f"{out.stem}-{number}{out.suffix or '.png'}")
    data = curve_figure_data([h.train], [h.val], title=Path(h.source).name,
                             label=d.label.value, reason=d.reason,
                             best_epochs=[d.evidence.get("best_epoch")])
    return str(save_png(draw_curves(data), out))


# The review commands: a stored study.


def _review_parser(description: str) -> Callable[[str], argparse.ArgumentParser]:
    def parser(prog: str) -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(prog=prog, description=description)
        p.add_argument("study", help="the study file the sweep ran")
        p.add_argument("--name", help="the study's name, if the sweep ran with --name")
        p.add_argument("--storage", help="Optuna storage URL, if not the file's or the default")
        p.add_argument("--artifacts", help="artifact folder, if not the file's or the default")
        p.add_argument("--debug", action="store_true", help="show tracebacks")
        return p

    return parser


def _with(parser: Callable[[str], argparse.ArgumentParser],
          *arguments: tuple[tuple[str, ...], dict[str, Any]]
          ) -> Callable[[str], argparse.ArgumentParser]:
    """`parser` with more arguments: (names, keyword arguments of add_argument) each."""
    def more(prog: str) -> argparse.ArgumentParser:
        p = parser(prog)
        for names, kwargs in arguments:
            p.add_argument(*names, **kwargs)
        return p

    return more


def report_main(args: argparse.Namespace, prog: str) -> int:
    """`report`: the trial table, the best trial, failures, a CSV and figures on disk."""
    from .holdout import score_heldout
    from .kept import from_study
    from .report import write_report
    from .review import fill_missing_notes
    from .storage import load_existing_study
    from .worth import assess

    spec = _load(args)
    url, artifacts = _where(args, spec)
    study = load_existing_study(spec.name, url)
    windows = _windows(args, spec)
    filled = fill_missing_notes(study)
    test = figure = card = None
    notes = []
    try:  # the model's parts of the report; the rest stands without them
        test = score_heldout(study, windows, artifacts)
        card = assess(study, windows, artifacts, _study_dir(args))
        if study.best_trials:
            model = from_study(study, artifacts, base_dir=_study_dir(args))
            figure = model.figure(model.predict(),
                                  f"{study.study_name}: the delivered model")
    except SpecError as exc:
        notes.append(f"The delivered model could not be used: {exc}")
    # Beside the artifacts: runs/<study>/report by default.
    print(write_report(study, Path(args.out or Path(artifacts).parent / "report"), test,
                       figure, card))
    for line in notes:
        print(line)
    if filled:
        print(f"Wrote the dashboard notes of {len(filled)} trials that had none.")
    _warn(card)
    return 0


def dashboard_main(args: argparse.Namespace, prog: str) -> int:
    """`dashboard`: optuna-dashboard on the study's storage with its artifact folder."""
    import optuna_dashboard

    from .optuna_private import storage_of, study_id
    from .review import artifact_store, fill_missing_notes
    from .storage import load_existing_study, redact

    spec = _load(args)
    url, artifacts = _where(args, spec)
    study = load_existing_study(spec.name, url)
    filled = fill_missing_notes(study)
    if filled:
        print(f"wrote the notes of {len(filled)} trials that had none")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: optuna-dashboard has no authentication; anyone who can reach "
              f"{args.host}:{args.port} can read and change this study.", file=sys.stderr)
    print(f"optuna-dashboard on {redact(url)}, artifacts in {artifacts}")
    print(f"open http://{args.host}:{args.port}/dashboard/studies/{study_id(study)}  "
          "(Ctrl-C stops it)", flush=True)
    try:
        optuna_dashboard.run_server(storage_of(study), host=args.host, port=args.port,
                                    artifact_store=artifact_store(artifacts))
    except KeyboardInterrupt:
        pass
    except (OSError, OverflowError) as exc:  # port taken, or not a port
        raise SpecError(f"cannot listen on {args.host}:{args.port} ({exc}); choose another "
                        "with --port.") from None
    return 0


def repair_main(args: argparse.Namespace, prog: str) -> int:
    """`repair`: what a crashed worker can leave behind, fixed while no worker is running."""
    from .journal import repair_journal
    from .liveness import reclaim_stale
    from .storage import expand_url, is_journal, load_existing_study

    spec = _load(args)
    url, _ = _where(args, spec)
    done = repair_journal(Path(expand_url(url))) if is_journal(url) else []
    study = load_existing_study(spec.name, url)
    for line in done:
        print(line)
    if not reclaim_stale(study, print) and not done:
        print(f"study {spec.name!r}: nothing to repair.")
    return 0


def _model(args: argparse.Namespace, spec: Any, base_dir: Path | None = None) -> Any:
    """The delivered model of the study's best trial, or of --trial N."""
    from .kept import from_study
    from .storage import load_existing_study

    url, artifacts = _where(args, spec)
    return from_study(load_existing_study(spec.name, url), artifacts, args.trial, base_dir)


def predict_main(args: argparse.Namespace, prog: str) -> int:
    """`predict`: the delivered model's predictions, one row per window, as a CSV and a
    figure."""
    from .plots import save_png

    if Path(args.study).suffix != ".py":  # a model file (from export), not a study file
        from .delivery import load_file

        model = load_file(args.study)
        name, card = model.meta.get("study", "model"), None
        out = Path(args.out or f"{Path(args.study).stem}-predictions.csv")
    else:
        spec = _load(args)
        model = _model(args, spec, _study_dir(args))
        name = spec.name
        card = None if args.trial is not None else _stored_worth(args, spec)
        out = Path(args.out or Path(_where(args, spec)[1]).parent / "predictions.csv")
    rows = model.predict(args.data)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(out, index=False)
    what = f"{args.data}" if args.data else "the study's data"
    figure = save_png(model.figure(
        rows, f"{name}: the delivered model on {what} ({model.n_repeats} runs)")[1],
        out.with_suffix(".png"))
    print(model.describe())
    for line in model.summary(rows, what):
        print(line)
    if card:
        from .worth import lines

        print("\n".join(lines(card, with_warnings=False)))
    print(f"wrote {out} and {figure}")
    _warn(card, model.meta.get("warnings"))
    return 0


def _stored_worth(args: argparse.Namespace, spec: Any) -> dict[str, Any] | None:
    """The delivered model beside the baselines on the study's own windows (stored on the
    study, or measured now), without printing; None where it cannot be."""
    from .storage import load_existing_study
    from .worth import assess

    url, artifacts = _where(args, spec)
    try:
        return assess(load_existing_study(spec.name, url), _windows(args, spec), artifacts,
                      _study_dir(args))
    except SpecError:
        return None


def export_main(args: argparse.Namespace, prog: str) -> int:
    """`export`: the delivered model as one self-contained file."""
    model = _model(args, _load(args))
    out = Path(args.out)
    if out.is_dir():
        raise SpecError(f"--out {out} is a folder; give a file name such as "
                        f"{out / 'model.pt'}.")
    card = None if args.trial is not None else _stored_worth(args, _load(args))
    if card:  # the file says it too: predict on it repeats them
        from .worth import warnings

        model.meta["warnings"] = warnings(card)
    content = model.to_bytes()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    print(model.describe())
    print(f"wrote {out} ({len(content) / 1e6:.2f} MB); load it with "
          f"sweeper.load_model({str(out)!r})")
    _warn(card)
    return 0


_TRIAL = (("--trial",), {"type": int, "metavar": "N",
                         "help": "a completed trial's model instead of the best trial's"})

COMMANDS: dict[str, Command] = {
    "run": Command(_run_parser, run_main),
    "diagnose": Command(_diagnose_parser, diagnose_main),
    "report": Command(_with(
        _review_parser("Print the trial table and best trial of a study, and write a CSV and "
                       "figures to runs/<study>/report/."),
        (("--out",), {"help": "folder for the CSV and figures (default runs/<study>/report)"})),
        report_main),
    "dashboard": Command(_with(
        _review_parser("Start optuna-dashboard on a study, with sweeper's figures."),
        (("--host",), {"default": "127.0.0.1",
                       "help": "address to listen on (default 127.0.0.1: this machine only)"}),
        (("--port",), {"type": int, "default": 8080})), dashboard_main),
    "repair": Command(_review_parser(
        "After a worker was killed: cut a partial last record from a journal file, remove its "
        "abandoned lock, and fail the trials left running by workers that are gone (their "
        "configurations are queued again). Run it only while no sweeper works on the study."),
        repair_main),
    "predict": Command(_with(
        _review_parser("Predict with a study's best trial's model (its repeats at their best "
                       "validation epochs, averaged): one row per window, forecast step and "
                       "target, with its position or time, split, target, prediction and the "
                       "repeats' lowest and highest prediction, plus the forecast past the "
                       "data's end."), _TRIAL,
        (("--data",), {"metavar": "FILE.csv",
                       "help": "new data in the study's format (default: the study's own "
                               "data); rows after the last target value give future "
                               "covariates for the forecast"}),
        (("--out",), {"metavar": "FILE.csv",
                      "help": "where to write (default runs/<study>/predictions.csv); a PNG "
                              "figure goes beside it"})), predict_main),
    "export": Command(_with(
        _review_parser("Write a study's best trial's model (every repeat's weights at its best "
                       "epoch, the configuration, the data spec and the scaler) to one file; "
                       "sweeper.load_model(path) reads it."), _TRIAL,
        (("--out",), {"required": True, "metavar": "MODEL.pt", "help": "file to write"})),
        export_main),
}


if __name__ == "__main__":
    sys.exit(main(prog="python -m sweeper"))
