"""Study records and the run folders of their trials (no Ray, no TensorFlow)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from engine import search_space
from engine.errors import SeqlabError
from engine.runstore import RunStore
from engine.studies import StudyStore, best, ranked
from tests.conftest import tiny

SEARCH = search_space.Search(
    base=tiny(holdout=0.1, epochs=4),
    space=(search_space.Param("window.window", "choice", (5, 10)),),
    settings=search_space.SearchSettings(trials=3, grace_period=1),
)


def trial_run(store: RunStore, study: str, trial: int, holdouts: list[float], status: str) -> Path:
    """A run folder as a trial leaves it: labelled, its history, its end."""
    labelled = RunStore(store.root, labels={"study": study, "trial": trial})
    handle = labelled.create(SEARCH.base, "train", 4)
    for epoch, h in enumerate(holdouts, start=1):
        handle.append({"epoch": epoch, "loss": 1.0, "holdout_mae": h})
    handle.write_metrics({"val_mae": 7.0 + trial, "naive_mae": 6.5, "best_epoch": len(holdouts)})
    handle.finish(status)  # type: ignore[arg-type]
    return handle.path


def test_trials_are_read_from_their_run_folders_best_holdout_first(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    studies = StudyStore(store)
    study = studies.create(SEARCH, 3, "local Ray, 2 CPUs")
    for n, holdouts, status in ((1, [9.0, 8.0], "stopped"), (2, [7.0, 6.0, 5.5, 5.0], "finished")):
        path = trial_run(store, study.study_id, n, holdouts, status)
        study.set_trial(n, {"window.window": 5 * n}, "running", path.name)
    study.set_trial(3, {"window.window": 10}, "running")  # started, never reported a run
    study.finish("stopped", "stopped by Ctrl+C (SIGINT)")
    info = studies.find(study.study_id[-6:])
    assert info.status == "stopped" and info.trials == 3 and info.where == "local Ray, 2 CPUs"
    trials = studies.trials(info)
    assert [(t.trial, t.status, t.holdout_mae) for t in trials] == [
        (2, "finished", 5.0),
        (1, "stopped", 8.0),
        (3, "stopped", None),  # its search ended: it never got going
    ]
    assert trials[0].val_mae == 9.0 and trials[0].naive_mae == 6.5 and trials[0].epoch == 4
    assert best(trials) == trials[0]
    assert {i.trial for i in store.runs() if i.study == study.study_id} == {1, 2}


def test_a_scheduler_stop_is_relabelled_pruned_and_only_a_stopped_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    stopped = trial_run(store, "s", 1, [3.0], "stopped")
    finished = trial_run(store, "s", 2, [3.0], "finished")
    assert store.relabel(stopped, "pruned", "pruned by ASHA after epoch 1")
    assert not store.relabel(finished, "pruned", "no")
    info = store.info(stopped)
    assert info.status == "pruned" and info.reason == "pruned by ASHA after epoch 1"
    assert store.info(finished).status == "finished"
    assert json.loads((stopped / "status.json").read_text())["study"] == "s"


def test_a_damaged_study_is_listed_as_corrupt_and_cannot_be_resumed(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    studies = StudyStore(store)
    study = studies.create(SEARCH, 3, "here")
    (study.path / "study.json").write_text('{"trials": "no"')
    [info] = studies.studies()
    assert info.status == "corrupt" and "study.json" in (info.reason or "")
    with pytest.raises(SeqlabError, match="cannot resume it"):
        studies.open(info)
    (study.path / "study.json").write_text(json.dumps({"trials": [], "trials_total": 3}))
    assert studies.studies()[0].status == "corrupt"  # no status
    with pytest.raises(SeqlabError, match="no such study"):
        studies.find("nothing-like-it")


def test_a_running_study_whose_process_died_is_interrupted_and_resumable(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    studies = StudyStore(store)
    study = studies.create(SEARCH, 3, "here")
    record = json.loads((study.path / "study.json").read_text())
    record["pid"] = 2**22 + 12345  # no such process
    (study.path / "study.json").write_text(json.dumps(record))
    info = studies.find(study.study_id)
    assert info.status == "interrupted"
    handle, search = studies.open(info)
    assert search == SEARCH and handle.study_id == study.study_id
    with pytest.raises(SeqlabError, match="it is running"):
        studies.open(dataclasses.replace(info, status="running"))


def test_studies_are_hidden_from_the_runs_table(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    StudyStore(store).create(SEARCH, 3, "here")
    assert store.runs() == []


def test_ranked_puts_trials_without_a_score_last() -> None:
    from engine.events import TrialUpdate

    a = TrialUpdate("s", 1, {}, "failed")
    b = TrialUpdate("s", 2, {}, "finished", holdout_mae=4.0)
    c = TrialUpdate("s", 3, {}, "pruned", holdout_mae=3.0)
    assert [t.trial for t in ranked([a, b, c])] == [3, 2, 1]
    assert best([a]) is None
