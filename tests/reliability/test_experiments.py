"""Reliability: bad experiments given to ``seqlab run`` and ``sweep``. Each is refused with one
line naming the field, the value and what is allowed (exit 2), before anything is written: no
runs folder, no log, no "loading TensorFlow" line."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import config
from engine.presets import get_preset

GOOD = config.dumps(get_preset("course-rnn"))

CASES = [
    ("toml-syntax", "name = \n", "not valid TOML"),
    ("unknown-section", GOOD + "\n[colour]\nred = 1\n", "colour = {'red': 1}: unknown key"),
    ("window-zero", GOOD.replace("window = 20", "window = 0"), "window.window = 0"),
    ("batch-text", GOOD.replace("batch_size = 128", 'batch_size = "big"'), "window.batch_size"),
    ("epochs-huge", GOOD.replace("epochs = 500", "epochs = 10000000"), "train.epochs = 10000000"),
    (
        "lr-negative",
        GOOD.replace("learning_rate = 5e-06", "learning_rate = -1.0"),
        "train.learning_rate = -1.0",
    ),
    ("split-past-end", GOOD.replace("split_time = 1000", "split_time = 5000"), "split_time"),
    ("unknown-layer", GOOD.replace('kind = "dense"', 'kind = "transformer"'), "transformer"),
    ("horizon-zero", GOOD.replace("horizon = 1", "horizon = 0"), "forecast.horizon = 0"),
    ("strategy-bad", GOOD.replace('"recursive"', '"magic"'), "forecast.strategy = 'magic'"),
    ("level-one", GOOD.replace("level = 0.8", "level = 1.0"), "forecast.level = 1.0"),
    (
        "window-past-training",
        GOOD.replace("window = 20", "window = 5000"),
        "too short for window 5000",
    ),
    (
        "holdout-too-big",
        GOOD.replace("holdout = 0.0", "holdout = 990"),
        "train.holdout",
    ),
]


@pytest.mark.parametrize("command", ["run", "sweep"])
@pytest.mark.parametrize(("text", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_experiment_is_refused_in_one_line_and_writes_nothing(
    run_cli, tmp_path, command, text, says
):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    runs = tmp_path / "runs"
    code, out, err = run_cli(command, str(path), "--runs", str(runs))
    assert code == 2, (out, err)
    assert "loading TensorFlow" not in out and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and says in err
    assert not runs.exists()  # no runs folder, so no run and no tensorflow.log either
    assert not list(Path(tmp_path).glob("**/*.log"))
