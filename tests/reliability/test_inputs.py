"""Inputs have limits: data paths are regular files, CSVs stream within limits, a run's memory is
estimated and refused when it cannot fit, numeric flags are range-checked, and text from files
reaches the terminal escaped."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import config
from engine.errors import DataError
from engine.presets import PRESETS
from engine.resources import GIB, available_memory, estimate
from engine.series import read_csv
from engine.shapes import infer_experiment
from engine.specs import CsvSeries

posix = pytest.mark.skipif(os.name != "posix", reason="POSIX special files")


def csv_spec(path: str, column: str = "v") -> CsvSeries:
    return CsvSeries(path=path, column=column, split_time=1)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path (a Unix socket's path is limited to about 100 bytes)."""
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        yield Path(folder)


def _special(kind: str, folder: Path) -> str:
    """A path of the given kind that is not a regular file."""
    if kind == "device":
        return "/dev/zero"
    if kind == "symlink to a device":
        link = folder / "zero.csv"
        link.symlink_to("/dev/zero")
        return str(link)
    if kind == "directory":
        return str(folder)
    if kind == "socket":
        path = folder / "s.csv"
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()  # the socket file stays
        return str(path)
    raise AssertionError(kind)


@posix
@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("device", "is a device"),
        ("symlink to a device", "is a device"),
        ("directory", "is a folder"),
        ("socket", "is a socket"),
    ],
)
def test_special_files_are_refused_at_once(short_dir, kind, says):
    path = _special(kind, short_dir)
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path))
    assert str(err.value).startswith(f"{path}: {says}")
    assert err.value.field == "series.path"


FIFO = """
import os, sys
from engine.errors import DataError
from engine.series import read_csv
from engine.specs import CsvSeries
try:
    read_csv(CsvSeries(path=sys.argv[1], column="v", split_time=1))
except DataError as exc:
    print(exc.field, exc)
"""


@posix
def test_a_fifo_is_refused_without_waiting_for_a_writer(short_dir, python_subprocess):
    """Opening a FIFO blocks until someone writes: the check must come first. The subprocess's
    timeout (TimeoutExpired) is what a hang would end in."""
    fifo = short_dir / "pipe.csv"
    os.mkfifo(fifo)
    done = python_subprocess(FIFO, str(fifo), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"series.path {fifo}: is a FIFO"), done.stdout


@pytest.mark.parametrize(
    ("variable", "limit", "text", "says"),
    [
        ("SEQLAB_MAX_CSV_BYTES", "100", "v\n" + "1\n" * 100, "202 bytes, more than the 100"),
        ("SEQLAB_MAX_CSV_LINE", "50", "v\n1\n" + "2," * 40 + "\n", "line 3: longer than the 50"),
        ("SEQLAB_MAX_CSV_ROWS", "10", "v\n" + "1\n" * 20, "line 11: more than the 10 rows"),
    ],
)
def test_csv_limits(write_csv, monkeypatch, variable, limit, text, says):
    monkeypatch.setenv(variable, limit)
    path = write_csv(text)
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path))
    assert says in str(err.value)
    assert variable in str(err.value)
    assert err.value.field == "series.path"


def test_a_bad_limit_names_the_variable(write_csv, monkeypatch):
    monkeypatch.setenv("SEQLAB_MAX_CSV_ROWS", "lots")
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(write_csv("v\n1\n")))
    assert str(err.value) == (
        "SEQLAB_MAX_CSV_ROWS = 'lots' is not allowed: a whole number of at least 1"
    )


def test_within_the_limits_reads_as_before(write_csv, monkeypatch):
    monkeypatch.setenv("SEQLAB_MAX_CSV_ROWS", "4")  # a header and three rows (a blank one)
    values, _ = read_csv(csv_spec(write_csv("v\n1.5\n2\n\n3.25\n")))
    assert values.dtype == "float32" and values.tolist() == [1.5, 2.0, 3.25]


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ('v\n1\n"' + "9" * 25_000 + "\n", "'" + "9" * 40 + "'... (25,000 characters)"),
        ("v\n1\n" + "x" * 10_000 + "\n", "'" + "x" * 40 + "'... (10,000 characters)"),
        ("v\n1\nab\x1b[31mc\n", "'ab\\x1b[31mc'"),
    ],
    ids=["unterminated quote", "10 KB cell", "escape sequence in a cell"],
)
def test_bad_cells_are_quoted_short_and_escaped(write_csv, text, quoted):
    path = write_csv(text)
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path))
    message = str(err.value)
    assert message.startswith(f"{path}: line 3: column 'v' holds {quoted}")
    assert len(message) <= 300 + len(path)
    assert "\x1b" not in message


def test_a_control_character_in_a_header_is_escaped(write_csv):
    path = write_csv("v\x1b]0;owned\x07\nnan\n")
    with pytest.raises(DataError) as err:
        read_csv(csv_spec(path, column="v\x1b]0;owned\x07"))
    assert "column 'v\\x1b]0;owned\\x07' holds 'nan'" in str(err.value)


# --- the command line -------------------------------------------------------------------------


def _file(tmp_path: Path, exp: object, name: str = "exp.toml") -> str:
    path = tmp_path / name
    path.write_text(config.dumps(exp), encoding="utf-8")
    return str(path)


NASTY = "evil\x1b[2J\x1b]0;title\x07\x9bname"


def _nasty_experiment(tmp_path: Path) -> str:
    labels = "".join(f"2020-01-{d:02d}\x1b[5m,{d}\n" for d in range(1, 29))
    data = tmp_path / "d\x1b[1m.csv"
    data.write_text("date,v\n" + labels, encoding="utf-8")
    exp = dataclasses.replace(
        PRESETS["course-rnn"],
        name=NASTY,
        description=NASTY,
        series=CsvSeries(path=str(data), column="v", date_column="date", split_time=20),
        window=dataclasses.replace(PRESETS["course-rnn"].window, window=5),
    )
    return _file(tmp_path, exp)


@pytest.mark.parametrize("command", ["summary", "baselines"])
def test_names_and_labels_from_files_are_escaped(run_cli, tmp_path, command):
    code, out, err = run_cli(command, _nasty_experiment(tmp_path))
    assert code == 0, err
    assert "\x1b" not in out + err and "\x9b" not in out + err and "\x07" not in out + err
    assert out.startswith("evil\\x1b[2J\\x1b]0;title\\x07\\x9bname: ")
    if command == "baselines":
        assert "d\\x1b[1m.csv, 28 points" in out and "(2020-01-01\\x1b[5m)" in out


def test_error_lines_are_escaped(run_cli, tmp_path):
    data = tmp_path / "bad.csv"
    data.write_text("v\n1\n\x1b[31mred\n", encoding="utf-8")
    exp = dataclasses.replace(
        PRESETS["course-rnn"], series=CsvSeries(path=str(data), column="v", split_time=1)
    )
    code, out, err = run_cli("baselines", _file(tmp_path, exp))
    assert code == 2 and out == ""
    assert "\x1b" not in err and "holds '\\x1b[31mred', not a number" in err
    assert err.count("\n") == 1


def test_preset_descriptions_are_printed_escaped(run_cli, monkeypatch):
    nasty = dataclasses.replace(PRESETS["course-rnn"], description=NASTY)
    monkeypatch.setitem(PRESETS, "zz-nasty", nasty)
    code, out, _ = run_cli("presets")
    assert code == 0 and "\x1b" not in out
    assert "evil\\x1b[2J" in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["summary", "course-rnn", "--batch", str(10**12)], "--batch = 1000000000000: a whole"),
        (["forecast", "some-run", "--steps", str(10**9)], "--steps = 1000000000: a whole"),
        (["backtest", "some-run", "--horizon", "100000"], "--horizon = 100000: a whole"),
        (["show", ""], "RUN = '' is not allowed"),
        (["forecast", " "], "RUN = ' ' is not allowed"),
        (["backtest", ""], "RUN = '' is not allowed"),
    ],
)
def test_flags_are_range_checked_and_run_ids_not_empty(run_cli, tmp_path, args, says):
    code, out, err = run_cli(*args, *(["--runs", str(tmp_path)] if args[0] != "summary" else []))
    assert (code, out) == (2, "")
    assert says in err and err.count("\n") == 1, err


def test_summary_range_names_the_allowed_values(run_cli):
    _, _, err = run_cli("summary", "course-rnn", "--batch", str(10**12))
    assert "a whole number from 1 to 65,536" in err


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_summary_exits_1_when_the_model_cannot_work(run_cli, json_flag):
    code, out, _ = run_cli("summary", "quiz-q8", *json_flag)
    assert code == 1
    assert "problem" in out


def test_summary_shows_the_memory_estimate(run_cli):
    code, out, _ = run_cli("summary", "course-rnn", "--batch", "64")
    assert code == 0
    [line] = [x for x in out.splitlines() if x.startswith("memory: ")]
    assert line.startswith("memory: about ") and "for training (windows " in line
    assert ", weights " in line and "per batch of 64)" in line
    code, out, _ = run_cli("summary", "course-rnn", "--json")
    memory = json.loads(out)["memory"]
    assert memory["batch"] == PRESETS["course-rnn"].window.batch_size and memory["total"] == sum(
        memory[k] for k in ("windows", "weights", "activations")
    )


def test_estimate_grows_with_the_batch_and_window():
    exp = PRESETS["course-rnn"]
    small = estimate(exp, infer_experiment(exp), 1461)
    batch = 2 * exp.window.batch_size
    wide = dataclasses.replace(exp, window=dataclasses.replace(exp.window, batch_size=batch))
    big = estimate(wide, infer_experiment(wide), 1461)
    assert big.activations == 2 * small.activations
    assert (big.windows, big.weights) == (small.windows, small.weights)
    assert small.weights == 4 * 4 * infer_experiment(exp).total_params
    assert available_memory() is None or available_memory() > 0


TOO_BIG = ["course-rnn", "--window", "900", "--batch", "65536"]  # about 28 GiB


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_run_too_big_for_memory_is_refused_and_writes_nothing(
    run_cli, tmp_path, monkeypatch, command
):
    monkeypatch.setattr("engine.training.available_memory", lambda: 4 * GIB)
    runs = tmp_path / "runs"
    code, out, err = run_cli(command, *TOO_BIG, "--runs", str(runs))
    assert code == 2
    assert "loading TensorFlow" not in out
    assert err.startswith(f"seqlab {command}: error: window.batch_size = 65536: the run needs ")
    assert "GiB" in err and "more than the 4.0 GiB available" in err
    assert "lower window.batch_size" in err
    assert not runs.exists()  # no runs folder, so no tensorflow.log either


def test_summary_says_when_the_run_would_not_fit(run_cli, tmp_path, monkeypatch):
    monkeypatch.setattr("tui.cli.available_memory", lambda: 4 * GIB)
    code, out, _ = run_cli("summary", "course-rnn", "--batch", "65536")
    assert code == 0 and "problem" not in out  # window 20: about 0.6 GiB, fits
    base = PRESETS["course-rnn"]
    wide = dataclasses.replace(base, window=dataclasses.replace(base.window, window=900))
    code, out, _ = run_cli("summary", _file(tmp_path, wide), "--batch", "65536")
    assert code == 1
    assert "problem: window.batch_size = 65536: the run needs about 27.7 GiB" in out
    code, out, _ = run_cli("summary", _file(tmp_path, wide), "--batch", "65536", "--json")
    assert code == 1 and json.loads(out)["memory_problem"].startswith("window.batch_size = 65536")


@pytest.mark.parametrize(
    ("path", "says"),
    [("/dev/zero", "/dev/zero: is a device"), ("missing.csv", "missing.csv: no such file")],
)
def test_a_run_on_bad_data_writes_nothing(run_cli, tmp_path, path, says):
    runs = tmp_path / "runs"
    series = CsvSeries(path=path, column="v", split_time=10)
    exp = dataclasses.replace(PRESETS["course-rnn"], series=series)
    code, out, err = run_cli("run", _file(tmp_path, exp), "--runs", str(runs))
    assert code == 2 and "loading TensorFlow" not in out
    assert err.startswith(f"seqlab run: error: {says}"), err
    assert not runs.exists()
    code, out, _ = run_cli("run", _file(tmp_path, exp), "--runs", str(runs), "--json")
    [event] = [json.loads(line) for line in out.splitlines()]
    assert (code, event["event"], event["run_dir"]) == (2, "run_failed", None)
    assert not runs.exists()


# --- the app ----------------------------------------------------------------------------------


def test_the_app_shows_names_escaped_and_the_memory_estimate(tmp_path):
    """The top bar, the log and the model pane's shape table (a Pilot run, scripted engine)."""
    import asyncio

    from pilot import log_text, make_app, ready
    from textual.widgets import Static

    exp = dataclasses.replace(PRESETS["course-rnn"], name=NASTY)

    async def body() -> None:
        app = make_app(tmp_path, experiment=exp)
        async with app.run_test(size=(160, 40)) as pilot:
            await ready(pilot, app)
            await pilot.pause()
            app.log_line(f"run failed: {NASTY}")
            top = str(app.query_one("#state", Static).render())
            assert "evil\\x1b[2J" in top and "\x1b" not in top
            log = log_text(app)
            assert "\x1b" not in log and "run failed: evil\\x1b[2J" in log
            await pilot.press("2")
            await pilot.pause()
            shapes = str(app.query_one("#shape-summary", Static).render())
            assert "memory about " in shapes and "per batch of 128" in shapes

    asyncio.run(body())


def test_names_from_files_reach_charts_escaped():
    from tui.plotting import Figure, Trace, to_text

    figure = Figure(
        title="data\x1b[2J.csv",
        traces=(Trace([1, 2, 3], [1, 2, 3], "col\x1b]0;x\x07"),),
        xlabel="t\x9b",
        caption=("in\x1b[31m",),
    )
    text = to_text(figure, 60, 12)
    assert text is not None and "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert "data\\x1b[2J.csv" in text and "in\\x1b[31m" in text
