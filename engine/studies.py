"""Saved searches: one study folder per search, beside the runs its trials are.

A study lives in ``<runs folder>/.studies/<study id>/`` (hidden, so the runs table does not list
it as a run) and holds ``search.toml`` (the search, self-contained: the base experiment written
out in full, so a resumed study is the same search even if the file it came from changed) and
``study.json``: the searcher, the status, who runs it (process identity, as a run's status file)
and each trial's number, parameters, run id and status. Each trial's numbers live in its run
folder, which names the study and trial number in its status file; ``trials`` reads them from
there, so a study and its runs never disagree. Nothing here raises on a damaged file: a study
that cannot be read is listed as ``corrupt`` with the reason.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args

from engine import search_space
from engine.errors import SeqlabError
from engine.events import TrialStatus, TrialUpdate
from engine.runstore import (
    FOLDER_MODE,
    RunStore,
    atomic_write,
    process_identity,
    read_json,
    slug,
    why_dead,
)

StudyStatus = Literal["running", "finished", "stopped", "failed", "interrupted", "corrupt"]
STUDIES = ".studies"
# a trial that ended with one of these is done; any other is run again when the study resumes
DONE: tuple[TrialStatus, ...] = ("finished", "pruned", "failed")


@dataclass(frozen=True)
class StudyInfo:
    """What the studies table shows of one study."""

    study_id: str
    path: Path
    name: str
    status: StudyStatus
    created: str
    trials: int  # how many the search runs in all
    searcher: str
    scheduler: str
    where: str
    reason: str | None = None


def new_study_id(name: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(name)}-search-{secrets.token_hex(2)}"


def score(store: RunStore, run_dir: Path) -> tuple[float | None, float | None, int]:
    """A trial's holdout MAE (at the epoch it kept: the one its model holds), its validation
    MAE and the epochs it ran, read from its run folder."""
    history = store.history(run_dir)
    info = store.info(run_dir)
    kept = info.best_epoch or (len(history) or None)
    holdout = None
    if kept is not None and 0 < kept <= len(history):
        holdout = history[kept - 1].get("holdout_mae")
    if holdout is not None and not math.isfinite(holdout):
        holdout = None
    return holdout, info.val_mae, len(history)


class StudyHandle:
    """The study folder a running search writes: its status and its trials as they start."""

    def __init__(self, path: Path, record: dict[str, Any]) -> None:
        self.path = path
        self.study_id = path.name
        self.record = record

    def _write(self) -> None:
        atomic_write(self.path / "study.json", json.dumps(self.record, indent=2))

    def claim(self) -> None:
        """Marks the study as running in this process (a resumed one too)."""
        self.record.update(status="running", reason=None, ended=None, **process_identity())
        self._write()

    def set_trial(
        self,
        trial: int,
        params: dict[str, Any],
        status: TrialStatus,
        run_id: str | None = None,
    ) -> None:
        """Records a trial's parameters, run and status (a trial run again keeps its number)."""
        trials = self.record.setdefault("trials", [])
        entry = next((t for t in trials if t.get("trial") == trial), None)
        if entry is None:
            entry = {"trial": trial}
            trials.append(entry)
        entry.update(params=params, status=status)
        if run_id is not None:
            entry["run_id"] = run_id
        self._write()

    def finish(self, status: StudyStatus, reason: str | None = None) -> None:
        self.record.update(status=status, reason=reason)
        self.record["ended"] = datetime.now().isoformat(timespec="seconds")
        self._write()


class StudyStore:
    """The studies of one runs folder (``RunStore``): create, list, find, read their trials."""

    def __init__(self, runs: RunStore) -> None:
        self.runs = runs
        self.root = runs.root / STUDIES

    def create(self, search: search_space.Search, trials: int, where: str) -> StudyHandle:
        self.runs.check_writable()
        self.root.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
        for _ in range(20):
            path = self.root / new_study_id(search.base.name)
            try:
                path.mkdir(mode=FOLDER_MODE)
            except FileExistsError:
                continue
            break
        else:
            raise SeqlabError(f"no free study id in {self.root}")
        atomic_write(path / "search.toml", search_space.dumps(search))
        record = {
            "study_id": path.name,
            "name": search.base.name,
            "created": datetime.now().isoformat(timespec="seconds"),
            "trials_total": trials,
            "searcher": search.settings.searcher,
            "scheduler": search.settings.scheduler,
            "metric": search_space.METRIC,
            "where": where,
            "trials": [],
        }
        handle = StudyHandle(path, record)
        handle.claim()
        return handle

    def _record(self, path: Path) -> tuple[dict[str, Any], str | None]:
        data, problem = read_json(path / "study.json")
        if data is None:
            return {}, problem or "study.json is missing"
        if not isinstance(data.get("trials"), list) or not isinstance(
            data.get("trials_total"), int
        ):
            return {}, "study.json: trials or trials_total is missing or of the wrong type"
        return data, None

    def info(self, path: Path) -> StudyInfo:
        data, problem = self._record(path)
        status: StudyStatus = "corrupt"
        reason = problem or data.get("reason")
        if problem is None and data.get("status") in get_args(StudyStatus):
            status = data["status"]
        elif problem is None:
            reason = f"study.json: status is {data.get('status')!r}"
        if status == "running":
            why = why_dead(data)
            if why is not None:
                status, reason = "interrupted", why
        return StudyInfo(
            study_id=path.name,
            path=path,
            name=str(data.get("name", "?")),
            status=status,
            created=str(data.get("created", "")),
            trials=int(data.get("trials_total", 0) or 0),
            searcher=str(data.get("searcher", "?")),
            scheduler=str(data.get("scheduler", "?")),
            where=str(data.get("where", "?")),
            reason=reason,
        )

    def studies(self) -> list[StudyInfo]:
        """Every study, newest first."""
        try:
            folders = [p for p in self.root.iterdir() if p.is_dir()]
        except OSError:
            return []
        return sorted((self.info(p) for p in folders), key=lambda s: s.created, reverse=True)

    def find(self, study: str) -> StudyInfo:
        """A study by full id or a unique part of it."""
        found = self.studies()
        matches = [s for s in found if s.study_id == study] or [
            s for s in found if study in s.study_id
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise SeqlabError(f"study {study!r}: no such study in {self.root}")
        names = ", ".join(m.study_id for m in matches[:5])
        raise SeqlabError(f"study {study!r} is ambiguous: matches {names}")

    def open(self, info: StudyInfo) -> tuple[StudyHandle, search_space.Search]:
        """A study to resume: its handle and its search as it was saved."""
        if info.status == "corrupt":
            raise SeqlabError(f"study {info.study_id}: cannot resume it: {info.reason}")
        if info.status == "running":
            raise SeqlabError(f"study {info.study_id}: it is running; stop it first")
        search = search_space.load(info.path / "search.toml")
        data, _ = self._record(info.path)
        return StudyHandle(info.path, data), search

    def trials(self, info: StudyInfo) -> list[TrialUpdate]:
        """Each trial as its run folder has it, best (lowest holdout MAE) first."""
        data, _ = self._record(info.path)
        mine = [i for i in self.runs.runs() if i.study == info.study_id]
        runs = {i.run_id: i for i in mine}
        # a trial stopped before it reported its run is found by the labels its run carries
        by_trial = {i.trial: i for i in sorted(mine, key=lambda i: i.created)}
        out = []
        for entry in data.get("trials", []):
            if not isinstance(entry, dict) or not isinstance(entry.get("trial"), int):
                continue
            run = runs.get(str(entry.get("run_id"))) or by_trial.get(entry["trial"])
            status = entry.get("status", "stopped")
            if status == "running" and info.status != "running":
                status = "stopped"  # it never got going, and its search has ended
            holdout = val = None
            epochs = total = 0
            naive = None
            if run is not None:
                holdout, val, epochs = score(self.runs, run.path)
                total, naive = run.total_epochs, run.naive_mae
                if run.status in ("finished", "stopped", "pruned", "failed"):
                    status = run.status
                elif run.status in ("interrupted", "corrupt"):
                    status = "stopped"
            out.append(
                TrialUpdate(
                    study_id=info.study_id,
                    trial=entry["trial"],
                    params=dict(entry.get("params") or {}),
                    status=status,
                    run_id=run.run_id if run else entry.get("run_id"),
                    epoch=epochs,
                    total_epochs=total,
                    holdout_mae=holdout,
                    val_mae=val,
                    naive_mae=naive,
                    reason=run.reason if run else None,
                )
            )
        return ranked(out)


def ranked(trials: list[TrialUpdate]) -> list[TrialUpdate]:
    """Best first: the lowest holdout MAE; trials without one last, in trial order."""
    return sorted(
        trials,
        key=lambda t: (t.holdout_mae is None, t.holdout_mae or 0.0, t.trial),
    )


def best(trials: list[TrialUpdate]) -> TrialUpdate | None:
    """The trial a search recommends: the lowest holdout MAE among those that ran to the end
    of their budget or were pruned (never chosen on the validation period)."""
    scored = [t for t in trials if t.holdout_mae is not None and t.status in DONE]
    return ranked(scored)[0] if scored else None
