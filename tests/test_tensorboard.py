"""``train.tensorboard``: a run also writes TensorBoard event files into its folder, with each
number under its seqlab name; off (the default), it writes none."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import tiny

from engine import training
from engine.events import EpochEnded, RunFinished, SweepPoint
from engine.runstore import RunStore
from engine.specs import SweepSpec
from engine.tensorboard import FOLDER

pytestmark = pytest.mark.slow  # trains small models


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] from every event file of the run's TensorBoard folder."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    found: dict[str, list[tuple[int, float]]] = {}
    acc = EventAccumulator(str(run_dir / FOLDER), size_guidance={"tensors": 0})
    acc.Reload()
    for tag in acc.Tags()["tensors"]:
        found[tag] = [(e.step, float(tf.make_ndarray(e.tensor_proto))) for e in acc.Tensors(tag)]
    return found


def test_a_training_run_logs_every_epoch_under_seqlab_names(tmp_path) -> None:
    exp = tiny(epochs=3, tensorboard=True)
    events: list = []
    done = training.train(exp, events.append, store=RunStore(tmp_path))
    assert isinstance(done, RunFinished), done
    epochs = [e for e in events if isinstance(e, EpochEnded)]
    logged = scalars(Path(done.run_dir))
    assert set(logged) == {
        "loss",
        "mae",
        "learning_rate",
        "holdout/loss",
        "holdout/mae",
        "validation/loss",
        "validation/mae",
    }
    pairs = (("loss", "loss"), ("holdout/mae", "holdout_mae"), ("validation/mae", "val_mae"))
    for tag, key in pairs:
        assert logged[tag] == [
            (e.epoch, pytest.approx(getattr(e, key), rel=1e-6)) for e in epochs
        ], tag


def test_a_sweep_logs_its_rate_and_loss_per_step(tmp_path) -> None:
    exp = dataclasses.replace(tiny(tensorboard=True), sweep=SweepSpec(epochs=4, early_stop=False))
    events: list = []
    done = training.sweep(exp, events.append, store=RunStore(tmp_path))
    assert isinstance(done, RunFinished), done
    points = [e for e in events if isinstance(e, SweepPoint)]
    logged = scalars(Path(done.run_dir))
    assert set(logged) == {"sweep/loss", "sweep/learning_rate"}
    assert [step for step, _ in logged["sweep/learning_rate"]] == [1, 2, 3, 4]
    assert [v for _, v in logged["sweep/loss"]] == [pytest.approx(p.loss, rel=1e-6) for p in points]


def test_off_by_default_it_writes_nothing(tmp_path) -> None:
    done = training.train(tiny(epochs=1), lambda e: None, store=RunStore(tmp_path))
    assert isinstance(done, RunFinished), done
    assert not (Path(done.run_dir) / FOLDER).exists()
