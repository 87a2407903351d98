"""A search on Ray Tune: an embedded local Ray by default, any Ray cluster by address.

``run_search`` is the driver. It starts Ray (or connects to ``address``), turns the search space
(engine.search_space) into Tune's domains and searcher (random, grid, or Optuna's TPE through
Tune's OptunaSearch), ASHA or no scheduler, and runs every trial as a seqlab run
(engine.search_trial) into the run store, labelled with its study and trial number. Trials are
compared on the holdout slice's MAE (``search_space.METRIC``), never on the validation period;
the best trial's validation MAE is its test score. Events: one ``SearchStarted``, a
``TrialUpdate`` per trial epoch and end, and one ``SearchEnded``, which is also returned.

A stop request (Ctrl+C, SIGTERM, the app's stop key) sets the study's stop signal (in the
study's small Ray actor, which also numbers the trials), which every trial watches, so each
running trial stops within one batch and is saved as stopped; Tune's own Stopper ends the search.
A stopped study resumes (``resume``): the trials that did not end (stopped, interrupted) run again
with the same parameters, then new ones up to the count.
Seqlab resumes from its own study record rather than Tune's ``Tuner.restore``, because trials
that stopped on request end normally as far as Tune knows, and Tune would not run them again.

Ray's own output never reaches a terminal: its log lines go to the driver's log (the caller
routes fd 2, as for TensorFlow), its workers' to Ray's session logs, and Tune reports nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from engine import config, search_space
from engine.errors import ConfigError, FieldProblem, SeqlabError
from engine.events import SearchEnded, SearchEvent, SearchStarted, TrialStatus, TrialUpdate
from engine.runstore import RunStore
from engine.specs import CsvSeries, Experiment
from engine.stop import StopRequest
from engine.studies import DONE, StudyHandle, StudyStore, best, ranked, score

SearchCallback = Callable[[SearchEvent], None]
PRUNED_WAIT_SECONDS = 30.0  # the most the driver waits for a stopped trial to finish saving


def _absolute(exp: Experiment) -> Experiment:
    """Trials run in Tune's trial folders (and on other machines): a CSV path is made absolute."""
    if isinstance(exp.series, CsvSeries):
        path = str(Path(exp.series.path).expanduser().resolve())
        return dataclasses.replace(exp, series=dataclasses.replace(exp.series, path=path))
    return exp


def checked(search: search_space.Search) -> search_space.Search:
    """The search as ``search_space.validated`` checks it, and each choice (both ends of a
    range) on the base as a run would check it, data and memory included (training.preflight):
    a trial that would be refused stops the search before Ray starts."""
    from engine import training

    search = search_space.validated(search)
    for p in search.space:
        for value in p.values:
            why = training.preflight(search_space.apply(search.base, {p.path: value}))
            if why is not None:
                allowed = f"a trial with it would be refused: {why}"
                raise ConfigError([FieldProblem(p.key, value, allowed)])
    return search


def _domains(search: search_space.Search) -> dict[str, Any]:
    from ray import tune

    out: dict[str, Any] = {}
    for p in search.space:
        values = list(p.values)
        if p.domain == "choice":
            out[p.path] = tune.choice(values)
        elif p.domain == "grid":
            out[p.path] = tune.grid_search(values)
        elif p.domain == "uniform":
            out[p.path] = tune.uniform(values[0], values[1])
        elif p.domain == "loguniform":
            out[p.path] = tune.loguniform(values[0], values[1])
        else:  # randint: seqlab's bounds include both ends, Tune's excludes the upper
            out[p.path] = tune.randint(values[0], values[1] + 1)
    return out


def _searcher(
    search: search_space.Search,
    rerun: list[dict[str, Any]],
    told: list[tuple[dict[str, Any], float]],
    session: int,
) -> Any:
    """Tune's search algorithm. ``rerun``: parameters to run first (trials that did not end);
    ``told``: results of an earlier session, which TPE learns from without running them."""
    s = search.settings
    if s.searcher == "tpe":
        import optuna
        from ray.tune.search.optuna import OptunaSearch

        optuna.logging.get_logger("optuna")  # Optuna sets up its handler on first use: then ours
        _logs_to_fd2(("optuna",))
        if rerun or not told:  # OptunaSearch takes rewards for all the given points or none
            return OptunaSearch(points_to_evaluate=rerun or None, seed=s.seed + session)
        return OptunaSearch(
            points_to_evaluate=[p for p, _ in told],
            evaluated_rewards=[r for _, r in told],
            seed=s.seed + session,
        )
    from ray.tune.search.basic_variant import BasicVariantGenerator

    # a new seed per session: a resumed random search must not draw its first points again
    return BasicVariantGenerator(points_to_evaluate=rerun or None, random_state=s.seed + session)


def _scheduler(search: search_space.Search) -> Any:
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    s = search.settings
    if s.scheduler == "none":
        return FIFOScheduler()
    return ASHAScheduler(
        time_attr="epoch",
        max_t=search.max_epochs,
        grace_period=s.grace_period,
        reduction_factor=s.reduction_factor,
    )


def _start_ray(address: str | None) -> str:
    """Starts an embedded local Ray, or connects to the cluster at ``address``; says which."""
    import ray

    env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's console output: none at verbose 0
    common: dict[str, Any] = {
        "log_to_driver": False,
        "logging_level": logging.ERROR,
        "runtime_env": {"env_vars": env},
        "ignore_reinit_error": False,
    }
    if address:
        _reachable(address)
        try:
            ray.init(address=address, **common)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            hint = ""
            if "auth" in str(exc).lower() or "RAY_AUTH_MODE" not in os.environ:
                hint = " (a cluster with token authentication needs its token: README, Search)"
            first = str(exc).split(". ")[0]
            raise SeqlabError(
                f"cannot connect to the Ray cluster at {address}: {first}{hint}"
            ) from None
        cpus = int(ray.cluster_resources().get("CPU", 0))
        where = f"Ray cluster at {address}, {cpus} CPUs"
    else:
        cpus = os.cpu_count() or 1
        ray.init(num_cpus=cpus, include_dashboard=False, **common)
        where = f"local Ray, {cpus} CPUs"
    _logs_to_fd2(("ray", "ray.tune", "ray.train", "ray.data"))
    return where


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Refuses at once an address nothing listens at (Ray itself retries for minutes)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise SeqlabError(
            f"cannot connect to the Ray cluster at {address}: nothing answers there "
            f"({exc.strerror or exc}); start it with `ray start --head --port={port}`"
        ) from None


def _has_token() -> bool:
    """Whether a Ray authentication token is where Ray reads one."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or str(Path.home() / ".ray" / "auth_token")
    return Path(path).is_file()


def _logs_to_fd2(names: tuple[str, ...]) -> None:
    """These libraries' Python log lines (Ray's, Tune's, Optuna's) go where file descriptor 2
    points now (the caller's log, as for TensorFlow's native lines), not to the Python
    ``sys.stderr`` a terminal has."""
    stream = os.fdopen(os.dup(2), "w", buffering=1, errors="backslashreplace")
    for name in names:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.addHandler(logging.StreamHandler(stream))
        logger.propagate = False


def _study_desk(reruns: list[tuple[dict[str, Any], int]], taken: set[int]) -> Any:
    """The study's state every trial process shares, as a small Ray actor: the stop signal, and
    the trial numbers (Tune's trial ids differ between searchers, so seqlab numbers trials
    itself, as they start)."""
    import ray

    @ray.remote(num_cpus=0)
    class StudyDesk:
        def __init__(self) -> None:
            self._reason: str | None = None
            self._reruns = list(reruns)  # a resumed study's trials run again keep their numbers
            self._taken = set(taken)
            self._given: dict[str, int] = {}

        def set(self, reason: str) -> None:
            """Set once by the driver; every trial asks for the reason a few times a second."""
            self._reason = self._reason or reason

        def reason(self) -> str | None:
            return self._reason

        def number(self, trial_id: str, params: dict[str, Any]) -> int:
            """The trial's number: the one it had if it is a point run again, else the lowest
            free one (numbers an earlier session gave but never started come first)."""
            if trial_id not in self._given:
                match = next((i for i, (p, _) in enumerate(self._reruns) if p == params), None)
                if match is not None:
                    n = self._reruns.pop(match)[1]
                else:
                    n = next(k for k in range(1, len(self._taken) + 2) if k not in self._taken)
                self._taken.add(n)
                self._given[trial_id] = n
            return self._given[trial_id]

    return StudyDesk.remote()  # type: ignore[attr-defined]


def _previous(study: StudyHandle, store: StudyStore) -> tuple[list[TrialUpdate], list[TrialUpdate]]:
    """A resumed study's trials that ended (kept) and those that did not (run again)."""
    trials = store.trials(store.info(study.path))
    done = [t for t in trials if t.status in DONE]
    again = sorted((t for t in trials if t.status not in DONE), key=lambda t: t.trial)
    return done, again


class _Driver:
    """Tune's callbacks and stopper, in the driver: trial records, events, the stop signal."""

    def __init__(
        self,
        study: StudyHandle,
        store: RunStore,
        on_event: SearchCallback,
        context: Any,
        stop: StopRequest,
    ) -> None:
        self.study, self.store, self.on_event, self.stop = study, store, on_event, stop
        self.context = context
        self.runs: dict[int, str] = {}  # trial -> run folder
        self.ended: dict[int, TrialUpdate] = {}  # trials that reached their own end
        self.params: dict[int, dict[str, Any]] = {}
        self.pruned: set[int] = set()  # trials the scheduler ended
        self.numbers: dict[str, int] = {}  # Tune's trial id -> seqlab's trial number

    def stopping(self) -> bool:
        return self.stop.is_set()

    def number(self, trial: Any) -> int:
        import ray

        if trial.trial_id not in self.numbers:
            asked = self.context.desk.number.remote(trial.trial_id, dict(trial.config))
            self.numbers[trial.trial_id] = ray.get(asked)
        return self.numbers[trial.trial_id]

    def update(self, trial: Any, result: dict[str, Any], status: TrialStatus) -> TrialUpdate:
        n = self.number(trial)
        params = {p: trial.config[p] for p in trial.config}
        self.params[n] = params
        run_dir = result.get("run_dir")
        if run_dir and n not in self.runs:
            self.runs[n] = run_dir
            self.study.set_trial(n, params, "running", result.get("run_id"))
        metric = result.get(search_space.METRIC)
        update = TrialUpdate(
            study_id=self.study.study_id,
            trial=n,
            params=params,
            status=status,
            run_id=result.get("run_id"),
            epoch=int(result.get("epoch") or 0),
            total_epochs=int(result.get("total_epochs") or 0),
            holdout_mae=metric if metric is not None and math.isfinite(metric) else None,
            val_mae=result.get("val_mae"),
            naive_mae=result.get("naive"),
            reason=result.get("reason"),
        )
        self.on_event(update)
        return update


def _callbacks(driver: _Driver, stop: StopRequest) -> tuple[Any, Any]:
    """Tune's callback (each trial's results become events and study records) and stopper (a
    stop request ends the search). Tune pickles both into its experiment state, which seqlab
    never restores (see the module's text), so they pickle without their live state."""
    from ray import tune

    class Reports(tune.Callback):
        def __init__(self, driver: _Driver) -> None:
            self.driver: _Driver | None = driver

        def __getstate__(self) -> dict[str, Any]:
            return {"driver": None}

        def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            if self.driver is not None:
                self.driver.study.set_trial(
                    self.driver.number(trial), dict(trial.config), "running"
                )

        def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
            """A trial Tune ended before its run did: the scheduler pruned it, or the search was
            stopped. Its run is saved when its process ends it (``_settle`` reads it then)."""
            d = self.driver
            if d is None or d.number(trial) in d.ended or not trial.last_result:
                return
            status: TrialStatus = "stopped" if d.stopping() else "pruned"
            if status == "pruned":
                d.pruned.add(d.number(trial))
            d.update(trial, trial.last_result, status)

        def on_trial_result(
            self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
        ) -> None:
            d = self.driver
            if d is None:
                return
            if result.get("done") and result.get("status"):
                n = d.number(trial)
                d.ended[n] = d.update(trial, result, result["status"])
                d.study.set_trial(n, d.params[n], result["status"], result.get("run_id"))
            else:
                d.update(trial, result, "running")

    class Stop(tune.Stopper):
        def __init__(self, stop: StopRequest) -> None:
            self.stop: StopRequest | None = stop

        def __getstate__(self) -> dict[str, Any]:
            return {"stop": None}

        def __call__(self, trial_id: str, result: dict) -> bool:
            return False

        def stop_all(self) -> bool:
            return self.stop is not None and self.stop.is_set()

    return Reports(driver), Stop(stop)


def run_search(
    search: search_space.Search | None,
    on_event: SearchCallback,
    stop: StopRequest | None = None,
    *,
    store: RunStore,
    address: str | None = None,
    resume: str | None = None,
) -> SearchEnded:
    """Runs a search, or resumes the study ``resume`` (``search`` is then the study's own and
    may be None); every trial is a run in ``store``. See the module's text."""
    t0 = time.perf_counter()
    stop = stop or StopRequest()
    studies = StudyStore(store)
    store.check_writable()
    if resume is not None:
        study, search = studies.open(studies.find(resume))
        study.claim()
        done, again = _previous(study, studies)
    elif search is None:
        raise SeqlabError("a search needs its search file, or a study to resume")
    else:
        search = checked(search)
        study, done, again = None, [], []
    total = search_space.trials_of(search)
    if study is not None and len(done) >= total:
        study.finish("finished")
        return _ended(study, studies, "finished", t0, None, on_event)
    if "RAY_AUTH_MODE" not in os.environ and _has_token():
        # A cluster started with `ray start` uses token authentication (Ray's default), and so
        # does a local one; Ray sends the token it finds only in token mode, read when Ray is
        # first imported.
        os.environ["RAY_AUTH_MODE"] = "token"
    import ray

    try:
        where = _start_ray(address)
    except SeqlabError:
        if study is not None:
            study.finish("failed", f"cannot reach Ray at {address}")
        raise
    try:
        if study is None:
            study = studies.create(search, total, where)
        return _tune(search, study, studies, on_event, stop, where, done, again, t0)
    except Exception as exc:
        if study is not None:
            study.finish("failed", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        ray.shutdown()  # local: ends the embedded Ray; a cluster: only disconnects from it


def _tune(
    search: search_space.Search,
    study: StudyHandle,
    studies: StudyStore,
    on_event: SearchCallback,
    stop: StopRequest,
    where: str,
    done: list[TrialUpdate],
    again: list[TrialUpdate],
    t0: float,
) -> SearchEnded:
    from ray import tune

    from engine.search_trial import SeqlabTrial, TrialContext

    store = studies.runs
    total = search_space.trials_of(search)
    on_event(
        SearchStarted(
            study_id=study.study_id,
            name=search.base.name,
            trials=total,
            searcher=search.settings.searcher,
            scheduler=search.settings.scheduler,
            where=where,
            study_dir=str(study.path),
            done=len(done),
        )
    )
    recorded = {int(t.get("trial", 0)) for t in study.record.get("trials", [])}
    space = _domains(search)
    rerun = [t.params for t in again]
    if search.settings.searcher == "grid":
        # the grid's combinations not yet ended, as given points: those run before first
        ended = [t.params for t in done]
        rerun += [g for g in search.grid() if g not in ended and g not in rerun]
        space = {p.path: tune.choice(list(p.values)) for p in search.space}
    count = len(rerun) if search.settings.searcher == "grid" else total - len(done)
    desk = _study_desk([(t.params, t.trial) for t in again], recorded)
    context = TrialContext(
        base_toml=config.dumps(_absolute(search.base)),
        runs_root=str(store.root.resolve()),
        study_id=study.study_id,
        desk=desk,
    )
    told = [(t.params, t.holdout_mae) for t in done if t.holdout_mae is not None]
    session = len(recorded)
    driver = _Driver(study, store, on_event, context, stop)
    reports, stopper = _callbacks(driver, stop)
    trainable = tune.with_resources(
        tune.with_parameters(SeqlabTrial, context=context),
        {"cpu": search.settings.cpus_per_trial},
    )
    tuner = tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(
            metric=search_space.METRIC,
            mode="min",
            num_samples=count,
            search_alg=_searcher(search, rerun, told, session),
            scheduler=_scheduler(search),
            max_concurrent_trials=search.settings.max_concurrent,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=study.study_id,
            storage_path=str((study.path / "tune").resolve()),
            stop=stopper,
            callbacks=[reports],
            verbose=0,
            # the run folder is the trial's checkpoint; Tune's would be a second copy
            checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
        ),
    )
    # seqlab's stop request, not Tune's own SIGINT handler, stops the search (and its trials)
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    with stop.watched(lambda: desk.set.remote(stop.by)):
        tuner.fit()
    _settle(driver, studies)
    status: Literal["finished", "stopped", "failed"] = "finished"
    reason = None
    if stop.is_set():
        status, reason = "stopped", f"stopped by {stop.by}"
    else:
        n_ended = len([t for t in studies.trials(studies.info(study.path)) if t.status in DONE])
        if n_ended < total:
            status = "failed"
            reason = f"{n_ended} of {total} trials ended; Ray ended the others (see search.log)"
    study.finish(status, reason)
    return _ended(study, studies, status, t0, reason, on_event)


def _settle(driver: _Driver, studies: StudyStore) -> None:
    """Gives each trial that did not reach its own end its final status: "pruned" when the
    scheduler ended it, "stopped" when a stop request did (as its run already says)."""
    store = studies.runs
    by_trial = {t.trial: t for t in studies.trials(studies.info(driver.study.path))}
    for n in sorted(set(driver.runs) | {t for t in by_trial if by_trial[t].status == "running"}):
        if n in driver.ended:
            continue
        found = by_trial.get(n)
        run_dir = driver.runs.get(n) or (
            str(store.root / found.run_id) if found and found.run_id else None
        )
        params = driver.params.get(n) or (found.params if found else {})
        if run_dir is None:
            driver.study.set_trial(n, params, "stopped")
            continue
        path = Path(run_dir)
        deadline = time.monotonic() + PRUNED_WAIT_SECONDS
        while store.info(path).status == "running" and time.monotonic() < deadline:
            time.sleep(0.1)  # the trial's process is saving what it learned
        info = store.info(path)
        status: TrialStatus = "stopped"
        if n in driver.pruned and info.status == "stopped":
            holdout, _, epochs = score(store, path)
            shown = "" if holdout is None else f" (holdout MAE {holdout:.4g})"
            if store.relabel(path, "pruned", f"pruned by ASHA after epoch {epochs}{shown}"):
                status = "pruned"
        elif info.status in ("failed", "finished"):
            status = info.status
        driver.study.set_trial(n, params, status, path.name)
        holdout, val, epochs = score(store, path)
        driver.on_event(
            TrialUpdate(
                study_id=driver.study.study_id,
                trial=n,
                params=params,
                status=status,
                run_id=path.name,
                epoch=epochs,
                total_epochs=info.total_epochs,
                holdout_mae=holdout,
                val_mae=val,
                naive_mae=info.naive_mae,
                reason=store.info(path).reason,
            )
        )


def _ended(
    study: StudyHandle,
    studies: StudyStore,
    status: Any,
    t0: float,
    reason: str | None,
    on_event: SearchCallback,
) -> SearchEnded:
    trials = studies.trials(studies.info(study.path))
    top = best(trials)
    ended = SearchEnded(
        study_id=study.study_id,
        status=status,
        seconds=time.perf_counter() - t0,
        trials=tuple(ranked(trials)),
        best_trial=top.trial if top else None,
        reason=reason,
        study_dir=str(study.path),
    )
    on_event(ended)
    return ended
