"""Storage: where a study lives, opening or resuming it, and riding out outages on the way.

Results live in an ordinary Optuna storage, so optuna-dashboard, pandas and Optuna's own tools
read them unchanged. The default is a SQLite file under runs/<study name>/ (`locate` decides);
any Optuna URL works, and every call is retried through a brief outage (`RetryingStorage`).
A full disk is no outage: it stops the sweep at once, in one sentence (`DiskFull`).
What a trial stores is in `record`; checking and repairing journal files is in `journal`.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import optuna

from . import keys
from .journal import check_journal, torn_tail
from .optuna_private import RDB_MODELS, BaseHeartbeat, storage_of, study_id
from .record import store_study_attr, worker_name, write_by_id
from .validate import SpecError

RUNS_DIR = Path("runs")
# Seconds SQLite waits for a lock before failing; generous, because a trial's writes are few.
SQLITE_TIMEOUT_S = 60
# A running trial records a heartbeat this often; one silent for GRACE_S is taken as dead.
HEARTBEAT_S = 10
GRACE_S = 60
# Opening a new database while another process creates its tables fails once; try this often.
SCHEMA_RACE_TRIES = 3
# How long a storage call is retried through an outage before the worker gives up, unless
# SWEEPER_OUTAGE_LIMIT_S says otherwise when the call is made (see outage_limit_s).
RETRY_FOR_S = 120.0
# When this process last got the storage back after an outage (time.monotonic()): for GRACE_S
# after that, silent heartbeats say more about the outage than about dead workers.
_RECOVERED = {"at": -math.inf}
# The outage this process is in, shared by all of its storage calls and threads: when its first
# failed call was (time.monotonic(); None while the storage answers) and whether it was said.
# One limit for the whole outage: a call made after others have waited it out tries once.
_OUTAGE: dict[str, Any] = {"since": None, "said": False}
# Trials (by storage id) whose end, once Optuna has stored it, stops this process with a full
# disk met where Optuna catches the error (a model file): see stop_after_trial.
_STOP_AFTER: dict[int, DiskFull] = {}


class StorageUnavailable(Exception):
    """The storage stayed unreachable through every retry; finished trials are already stored."""


class DiskFull(StorageUnavailable):
    """A disk the sweep writes to (the storage's, the artifact folder's) is full: the sweep
    stops at once, as after an outage, rather than retrying; finished trials are kept."""


# Errors that say a disk (or a quota on it) is full: the OS's, SQLite's, PostgreSQL's (SQLSTATE
# 53100) and MySQL's own wording of it.
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_FULL_TEXTS = ("database or disk is full", "no space left on device", "disk full",
               "disk quota exceeded")


def disk_full(exc: BaseException) -> bool:
    """Whether an error (or what caused it) says that a disk is full: ENOSPC (errno 28) or a
    full quota from a write, or a database's "database or disk is full". Never transient: a
    retry writes to the same full disk."""
    import sqlalchemy.exc

    for e in _chain(exc):
        if isinstance(e, DiskFull) or (isinstance(e, OSError) and e.errno in _FULL_ERRNOS):
            return True
        if getattr(e, "sqlite_errorcode", None) == 13 or "53100" in (  # SQLITE_FULL
                getattr(e, "pgcode", None), getattr(e, "sqlstate", None)):
            return True
        # A SQLAlchemy error's text holds the statement and its values (any text a trial
        # stores); the driver's error behind it, next in the chain, is the one to read.
        if not isinstance(e, (sqlalchemy.exc.SQLAlchemyError, StorageUnavailable)) and any(
                t in str(e).lower() for t in _FULL_TEXTS):
            return True
    return False


def _full_cause(exc: BaseException) -> str:
    """The full disk's own words: "No space left on device", "database or disk is full"."""
    for e in _chain(exc):
        if isinstance(e, OSError) and e.errno in _FULL_ERRNOS:
            return os.strerror(e.errno)
    return _cause_line(exc)


def storage_full(url: str, exc: BaseException) -> DiskFull:
    """The one sentence for a storage whose disk is full: where, and what to do."""
    if isinstance(exc, DiskFull):
        return exc
    real = expand_url(url) if "${" in url else url
    file = (Path(real[len("sqlite:///"):]) if real.startswith("sqlite:///")
            else Path(real) if is_journal(real) else None)
    if file is None:
        return DiskFull(
            f"the storage {redact(url)} has no room left ({_full_cause(exc)}); free space on "
            "its database server, then re-run the same command: finished trials are kept and "
            "the study resumes.")
    return DiskFull(
        f"the disk holding {file.parent} is full ({_full_cause(exc)}), so the storage "
        f"{redact(url)} cannot be written; free space there (or move {file.name} to a disk with "
        "room and point --storage at it), then re-run the same command: finished trials are "
        "kept and the study resumes.")


def folder_full(folder: str | Path, exc: BaseException, what: str = "the artifact folder",
                flag: str = "--artifacts") -> DiskFull:
    """The one sentence for a folder (by default the artifact folder: model files, figures)
    whose disk is full: where, and what to do."""
    if isinstance(exc, DiskFull):
        return exc
    return DiskFull(
        f"the disk holding {what} {folder} is full ({_full_cause(exc)}); free space there or "
        f"point {flag} at a folder with room, then re-run the same command: finished trials "
        "are kept and the study resumes.")


class WholeOrNone:
    """An artifact store (optuna's FileSystemArtifactStore, which copies a file in place)
    whose `write` leaves no file behind when it fails, on a disk that fills while the file is
    copied in: no cut-off file carries an artifact's name. It keeps what it wrote, for removal
    when what follows fails (the storage not taking the artifact's record)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.written: list[str] = []

    def open_reader(self, artifact_id: str) -> BinaryIO:
        return self.store.open_reader(artifact_id)

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        try:
            self.store.write(artifact_id, content_body)
        except BaseException:
            self.remove(artifact_id)
            raise
        self.written.append(artifact_id)

    def remove(self, artifact_id: str) -> None:
        with contextlib.suppress(Exception):  # never written, or its folder is gone
            self.store.remove(artifact_id)


def artifact_folder(store: Any) -> Path:
    """The folder a file-system artifact store writes to (review.artifact_store notes it)."""
    return Path(getattr(store, "folder", "the artifact folder"))


def stop_after_trial(trial_id: int, error: DiskFull) -> None:
    """Stop this process with `error` as soon as Optuna has stored the end of trial
    `trial_id` (the storage's RetryingStorage raises it then): for a full disk met inside a
    trial, whose errors Optuna catches to fail the trial and go on to the next one."""
    _STOP_AFTER[trial_id] = error


def default_storage(name: str) -> str:
    return f"sqlite:///{RUNS_DIR / name / 'study.db'}"


def default_artifacts(name: str) -> str:
    return str(RUNS_DIR / name / "artifacts")


def locate(spec: Any, storage: str | None = None, artifacts: str | None = None
           ) -> tuple[str, str]:
    """(storage URL, artifact folder) of a study: the command line's, else the study file's
    (`spec`, a spec.Study), else the defaults under runs/<study name>/. The one place that
    decides where a study lives."""
    return (storage or spec.storage or default_storage(spec.name),
            artifacts or spec.artifacts or default_artifacts(spec.name))


def redact(url: str) -> str:
    """The URL with any password replaced by ***, safe to print."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def expand_url(url: str) -> str:
    """`${NAME}` in a storage URL replaced by that environment variable, so a password can stay
    out of study files and command lines: postgresql://sweeper:${SWEEPER_DB_PASSWORD}@host/db."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise SpecError(f"the storage URL {redact(url)} uses ${{{name}}}, but the "
                            f"environment variable {name} is not set.")
        return os.environ[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value, url)


def is_journal(url: str) -> bool:
    return url != ":memory:" and "://" not in url


def opening_modules(url: str) -> list[str]:
    """What a process imports when it first opens `url`, beyond what sweeper imports itself:
    for a database, Optuna's database layer and the URL's SQLAlchemy dialect and driver (about
    1.2 s of CPU). Workers forked from a server get them from there, imported once."""
    if url == ":memory:" or is_journal(url):
        return []
    from sqlalchemy.engine import make_url

    try:
        dialect = make_url(expand_url(url)).get_dialect()
        driver = [dialect.__module__, dialect.import_dbapi().__name__]
    except Exception:  # a URL the workers will fail to open anyway; nothing to import early
        driver = []
    return [RDB_MODELS, "alembic.migration", "alembic.script", *driver]


def make_storage(url: str, retry: bool = True, warn: Callable[[str], None] | None = None,
                 retry_open: bool = False) -> optuna.storages.BaseStorage:
    """An Optuna storage for a URL; SQLite folders are created, journal files are bare paths,
    and ":memory:" keeps nothing (quick checks and benchmarks).

    Database storages record heartbeats (a trial whose worker dies is failed and queued again),
    and with `retry` every call is retried through a brief outage (see RetryingStorage). A server
    that cannot be reached at all is a SpecError, unless `retry_open` (a worker joining a
    running sweep) retries that too."""
    warn = warn or (lambda line: print(line, file=sys.stderr, flush=True))
    if url == ":memory:":
        return optuna.storages.InMemoryStorage()
    if is_journal(url):  # tolerates several writer processes on one filesystem
        path = Path(expand_url(url))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            check_journal(path, warn)
            storage: optuna.storages.BaseStorage = optuna.storages.JournalStorage(
                optuna.storages.journal.JournalFileBackend(str(path)))
        except OSError as exc:
            if disk_full(exc):
                raise storage_full(url, exc) from exc
            raise
        return RetryingStorage(storage, url, warn) if retry else storage
    real = expand_url(url)
    if real.startswith("sqlite:///"):
        try:
            Path(real[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if disk_full(exc):
                raise storage_full(url, exc) from exc
            raise
        engine_kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    else:  # a server: check pooled connections, which an outage or restart leaves dead
        engine_kwargs = {"pool_pre_ping": True}
    with warnings.catch_warnings():  # heartbeats are experimental in name only
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        def connect() -> optuna.storages.RDBStorage:
            tries = 0
            while True:
                try:
                    return optuna.storages.RDBStorage(
                        real, engine_kwargs=engine_kwargs, heartbeat_interval=HEARTBEAT_S,
                        grace_period=GRACE_S, heartbeat_stale_trial_callback=requeue_stale)
                except Exception as exc:
                    # Another process created the tables (or stamped their version) between
                    # Optuna's check and its own write: they exist now, so opening again finds
                    # them.
                    tries += 1
                    if tries == SCHEMA_RACE_TRIES or not _schema_race(exc):
                        raise
                    time.sleep(0.1 * tries)

        try:
            rdb = retrying(connect, url, warn) if retry_open else connect()
        except StorageUnavailable:
            raise
        except Exception as exc:  # bad URL, no driver, server down, wrong password: all stop
            if disk_full(exc):  # creating the tables of a new study on a full disk
                raise storage_full(url, exc) from exc
            driver = next((e.name for e in _chain(exc) if isinstance(e, ModuleNotFoundError)),
                          None)
            if driver:
                raise SpecError(f"the storage {redact(url)} needs the database driver "
                                f"{driver!r}, which is not installed (for PostgreSQL: pip "
                                "install -e \".[postgres]\").") from None
            raise SpecError(f"the storage {redact(url)} cannot be opened: "
                            f"{_first_line(_root(exc), real)}") from None
    cached = optuna.storages.get_storage(rdb)
    return RetryingStorage(cached, url, warn) if retry else cached


def _schema_race(exc: BaseException) -> bool:
    """Whether opening failed because another process was creating the same tables."""
    text = str(_root(exc))
    return "already exists" in text or ("alembic_version" in text and (
        "UNIQUE" in text or "duplicate key" in text))


def requeue(study: optuna.Study, trial: optuna.trial.FrozenTrial | optuna.Trial,
            reason: str | None = None) -> bool:
    """Queue a trial's configuration to run again (the next trial any worker asks for gets it),
    naming the trial it repeats; False, and nothing queued, unless it had drawn every searched
    parameter (a trial stopped while drawing them has half a configuration, and Optuna would
    fill the rest with new values)."""
    searched = study.user_attrs.get(keys.STUDY_SEARCHED)
    if not trial.params or (searched is not None and set(trial.params) != set(searched)):
        return False
    attrs: dict[str, Any] = {keys.RETRY_OF: trial.number}
    if reason:
        attrs[keys.RETRY_REASON] = reason
    # A repair's child run again is still that child: its move is judged by the retry.
    for key in keys.LINEAGE:
        if key in trial.user_attrs:
            attrs[key] = trial.user_attrs[key]
    study.enqueue_trial(trial.params, user_attrs=attrs)
    return True


def requeue_stale(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Called by Optuna for a trial it failed because its heartbeat stopped: queue the same
    configuration again, with the reason (the failed trial itself can no longer be written)."""
    requeue(study, trial, f"no heartbeat from its worker {worker_name(trial)} for over "
                          f"{GRACE_S} s")


def _root(exc: BaseException) -> BaseException:
    """The driver's own error behind a SQLAlchemy one, which names the actual problem."""
    orig = getattr(exc, "orig", None)
    return orig if isinstance(orig, BaseException) else exc


def _first_line(exc: BaseException, secret_url: str = "") -> str:
    """An exception's first line, with any password in it hidden."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    password = re.match(r"[^:]+://[^:/@]+:([^@]*)@", secret_url)
    if password and password.group(1):
        text = text.replace(password.group(1), "***")
    return redact(text)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error and what caused it, outermost first."""
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def transient(exc: BaseException) -> bool:
    """Whether an error (or what caused it) is a lost or refused connection or a held lock,
    which a retry can outlive, rather than a mistake a retry would repeat. A full disk is
    neither: it stops the sweep at once (see disk_full)."""
    import sqlalchemy.exc

    if disk_full(exc):
        return False
    lost = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
            sqlalchemy.exc.DisconnectionError, ConnectionError, TimeoutError)
    return any(isinstance(e, lost) or (isinstance(e, sqlalchemy.exc.DBAPIError)
                                       and e.connection_invalidated) for e in _chain(exc))


def outage_limit_s() -> float:
    """RETRY_FOR_S, or SWEEPER_OUTAGE_LIMIT_S where the environment sets it (seconds > 0)."""
    text = os.environ.get("SWEEPER_OUTAGE_LIMIT_S")
    if text is None:
        return RETRY_FOR_S
    try:
        limit = float(text)
    except ValueError:
        limit = math.nan
    if not limit > 0:
        raise SpecError(f"SWEEPER_OUTAGE_LIMIT_S must be a number of seconds above 0, not "
                        f"{text!r}.")
    return limit


def retrying(call: Callable[[], Any], url: str, warn: Callable[[str], None],
             retry_for: float | None = None) -> Any:
    """call(), retried with backoff while the error is transient. The outage is the process's
    (_OUTAGE): it is said once when it starts and once when it ends, and once it has lasted
    `retry_for` seconds (default: outage_limit_s()) every call that still fails raises
    StorageUnavailable. It ends with a call that succeeded and began after it did (one in
    flight since before, on another thread, says nothing about the storage now). A full disk
    is no outage: it raises DiskFull at once, leaving the outage's bookkeeping alone."""
    if retry_for is None:
        retry_for = outage_limit_s()
    delay = 0.5
    while True:
        started = time.monotonic()
        try:
            result = call()
        except Exception as exc:
            if disk_full(exc):
                if is_journal(url):
                    _cut_torn_tail(Path(expand_url(url)))
                raise storage_full(url, exc) from exc
            if not transient(exc):
                raise
            now = time.monotonic()
            since = _OUTAGE["since"]
            if since is None:  # read once: another thread may end the outage meanwhile
                since = _OUTAGE["since"] = now
            waited = now - since
            if waited >= retry_for:
                raise StorageUnavailable(
                    f"the storage {redact(url)} stayed unreachable for {waited:.0f} s "
                    f"({_cause_line(exc)}); finished trials are kept, and re-running the same "
                    "command resumes the study.") from None
            if not _OUTAGE["said"]:
                warn(f"storage {redact(url)} unreachable ({_cause_line(exc)}); retrying for up "
                     f"to {retry_for:.0f} s")
                _OUTAGE["said"] = True
            time.sleep(min(delay, retry_for - waited))
            delay = min(delay * 2, 10.0)
            continue
        since, said = _OUTAGE["since"], _OUTAGE["said"]
        if since is not None and started >= since:
            _OUTAGE.update(since=None, said=False)
            if said:
                _RECOVERED["at"] = time.monotonic()
                warn(f"storage {redact(url)} reachable again after "
                     f"{time.monotonic() - since:.1f} s")
        return result


def _cut_torn_tail(path: Path) -> None:
    """Cut the partial record that a write cut short by a full disk left at the end of a
    journal file, holding the journal's lock (writers append only while they hold it, so a
    partial record found then is a failed write's): the study then opens again once there is
    room, without `repair`. Where the lock cannot be had, the next run's check says to repair."""
    lock = optuna.storages.journal.JournalFileSymlinkLock(str(path))
    with contextlib.suppress(Exception):
        lock.acquire()
        try:
            torn = torn_tail(path)
            if torn:
                with open(path, "rb+") as f:
                    f.truncate(path.stat().st_size - torn)
        finally:
            lock.release()


def unavailable_in(exc: BaseException) -> StorageUnavailable | None:
    """The StorageUnavailable behind an error, if any: Optuna's trial bookkeeping can raise
    its own error while handling the storage's."""
    return next((e for e in _chain(exc) if isinstance(e, StorageUnavailable)), None)


def probe(study: optuna.Study) -> bool:
    """Whether the study's storage answers now, asked once (no retries, no messages), with a
    question Optuna's cache of a database storage does not answer for it."""
    storage = storage_of(study)
    inner = getattr(storage, "inner", storage)
    try:
        inner.get_study_user_attrs(study_id(study))
    except Exception:
        return False
    return True


def _cause_line(exc: BaseException) -> str:
    """The first line of the connection error behind `exc` (Optuna wraps it in a message about
    invalid data, which misleads during an outage)."""
    import sqlalchemy.exc

    driver = next((e for e in _chain(exc) if isinstance(e, sqlalchemy.exc.DBAPIError)), exc)
    return _first_line(_root(driver))


class RetryingStorage(optuna.storages.BaseStorage, BaseHeartbeat):
    """An Optuna storage whose every call is retried with backoff while the server is briefly
    unreachable, saying so once per outage; after outage_limit_s() it raises
    StorageUnavailable.

    Calls that write are retried too: a write that reached the server before the connection
    dropped can then happen twice, which Optuna's state checks refuse for trial states."""

    def __init__(self, inner: optuna.storages.BaseStorage, url: str,
                 warn: Callable[[str], None] | None = None, retry_for: float | None = None
                 ) -> None:
        self.inner, self.url, self.retry_for = inner, url, retry_for
        self.warn = warn or (lambda line: print(line, file=sys.stderr, flush=True))

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return retrying(lambda: getattr(self.inner, name)(*args, **kwargs), self.url, self.warn,
                        self.retry_for)

    def set_trial_state_values(self, trial_id: int, state: optuna.trial.TrialState,
                               values: Any = None) -> bool:
        """Store a trial's state; once a trial that met a full disk has ended here, raise
        that error (see stop_after_trial) so that the worker stops instead of going on."""
        stored = self._call("set_trial_state_values", trial_id, state, values)
        if state.is_finished() and trial_id in _STOP_AFTER:
            raise _STOP_AFTER.pop(trial_id)
        return stored

    # Heartbeats exist only where the wrapped storage has them (database storages).
    def get_heartbeat_interval(self) -> int | None:
        return self.inner.get_heartbeat_interval() if isinstance(self.inner, BaseHeartbeat) \
            else None

    def get_failed_trial_callback(self) -> Any:
        return self._call("get_failed_trial_callback")

    def get_heartbeat_stale_trial_callback(self) -> Any:
        return self._call("get_heartbeat_stale_trial_callback")

    def record_heartbeat(self, trial_id: int) -> None:
        """One try: a missed beat only makes the trial look older, and the next one follows in
        HEARTBEAT_S; retrying here would stall Optuna's heartbeat thread through an outage."""
        with contextlib.suppress(Exception):
            self.inner.record_heartbeat(trial_id)

    def _get_stale_trial_ids(self, study_id: int) -> list[int]:
        """Trials whose heartbeat stopped, each given its fail reason before Optuna fails it
        (a finished trial can no longer be written). None right after an outage: every
        worker's heartbeat was silent through it. (Optuna's heartbeat check calls this
        private method: see optuna_private.)"""
        if time.monotonic() - _RECOVERED["at"] < GRACE_S:
            return []
        stale = self._call("_get_stale_trial_ids", study_id)
        for trial_id in stale:
            with contextlib.suppress(Exception):
                trial = self.inner.get_trial(trial_id)
                write_by_id(self.inner, trial_id, {keys.FAIL_REASON: (
                    f"stale: no heartbeat from its worker {worker_name(trial)} for over "
                    f"{GRACE_S} s")})
        return stale


def _delegate(name: str) -> Callable[..., Any]:
    def method(self: RetryingStorage, *args: Any, **kwargs: Any) -> Any:
        return self._call(name, *args, **kwargs)

    method.__name__ = name
    return method


for _name in [n for n in dir(optuna.storages.BaseStorage)
              if not n.startswith("_") and callable(getattr(optuna.storages.BaseStorage, n))
              and n not in vars(RetryingStorage)]:
    setattr(RetryingStorage, _name, _delegate(_name))
RetryingStorage.__abstractmethods__ = frozenset()


def open_study(
    name: str,
    url: str,
    pruner: optuna.pruners.BasePruner,
    spec: dict[str, Any],
    baseline: dict[str, float],
    warn: Callable[[str], None] | None = None,
    searched: list[str] | None = None,
    units: dict[str, str] | None = None,
) -> tuple[optuna.Study, bool]:
    """Create the study or load it to resume; returns (study, resumed). `units` names each
    loss's unit (keys.STUDY_UNITS)."""
    storage = make_storage(url, warn=warn)
    resumed = name in {s.study_name for s in optuna.get_all_study_summaries(storage)}
    study = optuna.create_study(
        study_name=name, storage=storage, pruner=pruner,
        direction="minimize", load_if_exists=True,
    )
    if not resumed:
        with warnings.catch_warnings():  # stable in practice; Optuna still flags it experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([keys.METRIC_NAME])
        store_study_attr(study, keys.STUDY_SPEC, spec)
        store_study_attr(study, keys.STUDY_BASELINE, baseline)
    if searched is not None and study.user_attrs.get(keys.STUDY_SEARCHED) != searched:
        store_study_attr(study, keys.STUDY_SEARCHED, searched)
    if units is not None and study.user_attrs.get(keys.STUDY_UNITS) != units:
        store_study_attr(study, keys.STUDY_UNITS, units)
    return study, resumed


def load_existing_study(name: str, url: str) -> optuna.Study:
    """The stored study, or a SpecError saying there is none (nothing is created)."""
    missing = (Path(url[len("sqlite:///"):]) if url.startswith("sqlite:///")
               else Path(url) if is_journal(url) else None)
    if missing is not None and not missing.exists():
        raise SpecError(f"there is no study {name!r} yet: {redact(url)} does not exist; run the "
                        "sweep first.")
    storage = make_storage(url)
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        raise SpecError(f"there is no study {name!r} in {redact(url)}; run the sweep first."
                        ) from None


def count_trials(study: optuna.Study) -> tuple[int, int]:
    """(finished, running): trials complete or pruned, and trials running now."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    finished = sum(s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
                   for s in states)
    return finished, states.count(optuna.trial.TrialState.RUNNING)
