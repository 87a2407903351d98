"""Snapshot tests of the training pane's charts made to be read (issue 14): a maximised chart,
loss and MAE on their own axes, the sweep's suggestions labelled and explained, and the pane at
80x24 mid-run (the chart indicator, the footer's chart keys, batch progress with an ETA).

Same approach as ``test_tui_snapshots``: the scripted fake engine with fixed timings, no cursor
blink or animation. Update with ``pytest --snapshot-update tests/test_tui_snapshots_charts.py``
and look at every changed SVG before accepting it.
"""

from __future__ import annotations

import dataclasses

from scripted import script_train
from test_tui_snapshots import SMALL, WIDE, make_app, steps

from engine.events import BatchProgress, EpochEnded, Event
from engine.presets import get_preset
from engine.specs import Experiment


def mse_run(kind: str, exp: Experiment) -> list[Event]:
    """A course run trained on MSE: a loss in the thousands beside an MAE of tens."""
    events: list[Event] = []
    for event in script_train(exp, 40):
        if isinstance(event, EpochEnded):
            event = dataclasses.replace(event, loss=4 * event.loss**2, mae=event.mae + 10)
        events.append(event)
    return events


def test_maximised_loss_chart(snap_compare, tmp_path):
    """``m`` on the loss chart: it alone takes the right side, under "chart 1/4"."""
    app = make_app(tmp_path, epochs=40)
    keys = ("ctrl+t", "c", "m")
    assert snap_compare(app, terminal_size=WIDE, run_before=steps(*keys, charts=True))


def test_loss_and_mae_on_their_own_axes_80x24(snap_compare, tmp_path):
    """An MSE loss of ~3000 at the left, the MAE of ~40 on its own axis at the right (not flat
    along the bottom), each curve with its own marker in the legend."""
    course = get_preset("course-rnn")  # no holdout slice, no validation curves
    train = dataclasses.replace(course.train, loss="mse", epochs=40)
    mse = dataclasses.replace(course, train=train)
    app = make_app(tmp_path, experiment=mse, script=mse_run)
    assert snap_compare(app, terminal_size=SMALL, run_before=steps("ctrl+t", "c", charts=True))


def test_sweep_chart_labels_and_explains_its_suggestions(snap_compare, tmp_path):
    """The sweep chart maximised: each suggested rate a line of its own colour and marker, the
    recommended one said, and a key line under the chart per rate saying what it is."""
    app = make_app(tmp_path, epochs=100)
    assert snap_compare(app, terminal_size=WIDE, run_before=steps("ctrl+r", "m", charts=True))


def test_training_pane_mid_run_80x24(snap_compare, tmp_path):
    """The pane at 80x24 during a long epoch: "chart 1/4", the log's lines fitted to its width,
    the batch within the epoch and the time left, and the footer keeping "c Chart"."""

    def slow(kind: str, exp: Experiment) -> list[Event]:
        events = script_train(exp, 20)[:13]  # RunStarted and 12 epochs
        epochs = [
            dataclasses.replace(e, seconds=15.0) if isinstance(e, EpochEnded) else e for e in events
        ]
        return [*epochs, BatchProgress(events[0].run_id, 13, 5, 8)]

    app = make_app(tmp_path, script=slow, paced=True)
    start, settle = steps("ctrl+t"), steps()

    async def run_before(pilot) -> None:
        await start(pilot)
        pilot.app.backend.advance(14)
        pilot.app.query_one("#charts").focus()
        await pilot.pause(0.7)  # the pane draws streamed events every half second
        await settle(pilot)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
