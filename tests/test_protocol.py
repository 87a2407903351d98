"""The engine process's protocol (engine/protocol.py): lines both ways, and forgiving decoding."""

from __future__ import annotations

import json
import math
import re

import pytest

from engine.events import Backtest, EpochEnded, FutureForecast, RunFinished, RunStarted
from engine.protocol import (
    BadCommand,
    ForecastCommand,
    ForecastFailed,
    ForecastReady,
    LoadFailed,
    QuitCommand,
    Ready,
    RunCommand,
    StopCommand,
    WorkerError,
    decode_command,
    decode_message,
    encode_command,
    encode_message,
)


@pytest.mark.parametrize(
    "command",
    [
        RunCommand("train", "[train]\nepochs = 3\n", "/tmp/runs"),
        RunCommand("sweep", "", None),
        ForecastCommand("/tmp/runs/r1", 30),
        StopCommand(),
        QuitCommand(),
    ],
)
def test_commands_are_one_line_and_decode_to_themselves(command):
    line = encode_command(command)
    assert line.endswith("\n") and line.count("\n") == 1
    assert decode_command(line) == command


def test_command_lines_are_as_documented():
    assert json.loads(encode_command(RunCommand("train", "T", None))) == {
        "cmd": "train",
        "experiment": "T",
        "runs": None,
    }
    assert json.loads(encode_command(ForecastCommand("R", 5))) == {
        "cmd": "forecast",
        "run": "R",
        "steps": 5,
    }
    assert json.loads(encode_command(StopCommand())) == {"cmd": "stop"}
    assert json.loads(encode_command(QuitCommand())) == {"cmd": "quit"}


@pytest.mark.parametrize(
    ("line", "wording"),
    [
        ("this is not json\n", "not a command: this is not json"),
        ("[1, 2]\n", "not a command: [1, 2]"),
        ('{"experiment": "x"}\n', "not a command"),
        ('{"cmd": "dance"}\n', "unknown command 'dance'"),
        ('{"cmd": "forecast", "run": "R", "steps": "5"}\n', "a whole number of steps"),
        ('{"cmd": "forecast", "steps": 5}\n', "needs a run folder"),
    ],
)
def test_a_line_that_is_not_a_command_is_a_bad_command(line, wording):
    with pytest.raises(BadCommand, match=re.escape(wording)):
        decode_command(line)


def test_a_run_command_without_experiment_or_runs_still_decodes():
    """The run then fails on its empty experiment, as it would on bad TOML."""
    assert decode_command('{"cmd": "train"}') == RunCommand("train", "", None)


@pytest.mark.parametrize(
    "message",
    [
        Ready(1.5),
        LoadFailed("TensorFlow could not be loaded: no module"),
        WorkerError("unknown command 'dance'"),
        RunStarted("r1", "train", "course-rnn", 8, 8, 4961, None, ("a note",)),
        EpochEnded("r1", 1, 8, 12.5, 13.0, 5e-6, 0.25, None, None),
        RunFinished("r1", "sweep", 3, 1.0, {}, {"valley": 1e-5}),
        EpochEnded("r1", 2, 8, 0.5, 4.0, 1e-3, 0.25, 0.6, 4.5, holdout_loss=0.4, holdout_mae=3.9),
        RunFinished(
            "r1",
            "train",
            9,
            2.0,
            {"val_mae": 4.4, "best_epoch": 7},
            forecast=(1.0, 2.0),
            notes=("kept epoch 7 of 9: lowest holdout loss", "worse than the naive forecast"),
        ),
        RunFinished("r1", "sweep", 3, 1.0, {}, {"valley": 1e-5}, recommended="valley"),
        RunFinished(
            "r1",
            "train",
            9,
            2.0,
            {"val_mae": 4.4, "interval_level": 0.8, "coverage": 0.78, "horizon": 3},
            forecast=(1.0, 2.0),
            lower=(0.5, 1.5),
            upper=(1.5, 2.5),
            future=FutureForecast(
                (10.0, 11.0), (3.0, 4.0), (2.0,), (4.0,), 0.8, ("2020-01-01", "2020-01-02"), ("n",)
            ),
            backtest=Backtest(3, 40, (1.0, 2.0, 3.0), (1.5, 2.5, 3.5), (), (0.8, 0.7), 0.8),
        ),
        ForecastReady("/tmp/runs/r1", 2, FutureForecast((10.0, 11.0), (3.0, 4.0))),
        ForecastFailed("/tmp/runs/r1", 2, "run r1 is a learning-rate sweep: it has no model"),
    ],
)
def test_messages_are_one_line_and_decode_to_themselves(message):
    line = encode_message(message)
    assert line.endswith("\n") and line.count("\n") == 1
    assert decode_message(line) == message


def test_worker_messages_are_as_documented():
    assert json.loads(encode_message(Ready(0.25))) == {"event": "ready", "seconds": 0.25}
    assert json.loads(encode_message(LoadFailed("m"))) == {"event": "load_failed", "message": "m"}
    assert json.loads(encode_message(WorkerError("m"))) == {"event": "worker_error", "message": "m"}


def test_a_nan_loss_crosses_the_line():
    event = decode_message(encode_message(EpochEnded("r1", 1, 2, math.nan, math.nan, 1e-3, 0.1)))
    assert isinstance(event, EpochEnded) and math.isnan(event.loss)


@pytest.mark.parametrize(
    "line",
    [
        "not json\n",
        "[1, 2]\n",
        '{"no": "event"}\n',
        '{"event": "no_such_event"}\n',
        '{"event": "epoch_ended", "run_id": "r1"}\n',
    ],
)
def test_a_line_that_is_not_a_message_is_skipped(line):
    assert decode_message(line) is None


def test_a_ready_line_without_seconds_still_means_ready():
    message = decode_message('{"event": "ready"}')
    assert isinstance(message, Ready) and math.isnan(message.seconds)


def test_a_search_command_and_its_events_cross_the_line() -> None:
    from engine.events import SearchEnded, SearchStarted, TrialUpdate
    from engine.protocol import SearchCommand

    command = SearchCommand("[search]\n", "/runs", "10.0.0.1:6379", None)
    assert decode_command(encode_command(command)) == command
    trial = TrialUpdate(
        "s1",
        2,
        {"window.window": 20, "train.learning_rate": 1e-3},
        "pruned",
        "r2",
        4,
        10,
        6.5,
        7.0,
        6.6,
        "pruned by ASHA after epoch 4",
    )
    for message in (
        SearchStarted("s1", "tiny", 6, "random", "asha", "local Ray, 2 CPUs", "/s", 1),
        trial,
        SearchEnded("s1", "finished", 12.5, (trial,), 2, None, "/s"),
    ):
        assert decode_message(encode_message(message)) == message


@pytest.mark.parametrize(
    "line",
    [
        '{"cmd": "search", "runs": "/r"}',
        '{"cmd": "search", "search": "x", "runs": ""}',
        '{"cmd": "search", "search": "x", "runs": "/r", "address": 5}',
    ],
)
def test_a_search_command_without_its_text_or_runs_is_a_bad_command(line: str) -> None:
    with pytest.raises(BadCommand, match="search"):
        decode_command(line)
