"""The headless sub-commands presets, preset, summary and baselines, and their error paths."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.presets import PRESETS
from tui.cli import command_names

ENTRY = "import sys; from tui.entry import main; sys.exit(main())"  # the `seqlab` console script


def test_presets(run_cli):
    code, out, err = run_cli("presets")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["preset", "description"]
    assert [line.split()[0] for line in lines[2:]] == list(PRESETS)
    assert "MAE 6.35" in out  # descriptions cite the course's results
    code, out, _ = run_cli("presets", "--json")
    assert json.loads(out) == {name: exp.description for name, exp in PRESETS.items()}


def test_preset_to_file_then_summary(run_cli, tmp_path):
    code, toml, err = run_cli("preset", "course-rnn")
    assert (code, err) == (0, "")
    path = tmp_path / "rnn.toml"
    path.write_text(toml, encoding="utf-8")
    code, out, err = run_cli("summary", str(path))
    assert (code, err) == (0, "")
    assert "total params: 4,961" in out and "mode: sequence-to-vector" in out
    # an edited copy is what the summary then describes: SimpleRNN(20) x2 instead of 40
    path.write_text(toml.replace("units = 40", "units = 20"), encoding="utf-8")
    code, out, _ = run_cli("summary", str(path))
    assert code == 0 and f"total params: {20 * 22 + 20 * 41 + 21:,}" in out


def test_preset_redirected_by_the_real_console_script(tmp_path):
    path = tmp_path / "rnn.toml"
    with path.open("w") as handle:
        done = subprocess.run(
            [sys.executable, "-c", ENTRY, "preset", "course-lstm-2"],
            stdout=handle,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    summary = subprocess.run(
        [sys.executable, "-c", ENTRY, "summary", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert summary.returncode == 0, summary.stderr
    assert json.loads(summary.stdout)["total_params"] == 33601


def test_summary_table(run_cli):
    code, out, err = run_cli("summary", "course-conv-lstm", "--batch", "7")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "course-conv-lstm: input (7, 20) (batch, steps)"
    assert lines[1].split() == ["#", "layer", "output", "shape", "params"]
    assert lines[3].split() == ["1", "ExpandDims", "(7,", "20,", "1)", "0"]
    assert lines[4].split() == [
        "2",
        "Conv1D",
        "64",
        "k3",
        "s1",
        "causal",
        "(7,",
        "20,",
        "64)",
        "256",
    ]
    assert lines[-4:-2] == ["total params: 66,369", "mode: sequence-to-vector"]
    assert lines[-2].startswith("memory: about ") and "per batch of 7)" in lines[-2]
    assert lines[-1] == (
        "forecast: 1 step ahead, recursive (fed its own forecasts); 80% interval; "
        "30 steps past the end"
    )


@pytest.mark.parametrize(
    ("name", "total"),
    [
        ("course-rnn", 4961),
        ("course-lstm-1", 8769),
        ("course-lstm-2", 33601),
        ("course-lstm-3", 58433),
        ("course-conv-lstm", 66369),
    ],
)
def test_summary_json(run_cli, name, total):
    code, out, err = run_cli("summary", name, "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["total_params"] == total
    assert data["problems"] == []
    assert data["mode"] == "sequence-to-vector"
    batch = PRESETS[name].window.batch_size
    assert data["layers"][0] == {
        "index": 0,
        "kind": "expand_dims",
        "label": "ExpandDims",
        "output_shape": [batch, 20, 1],
        "params": 0,
    }
    assert sum(layer["params"] for layer in data["layers"]) == total
    assert data["layers"][-1]["output_shape"] == [batch, 1]


def test_summary_json_reports_problems_and_fixes(run_cli):
    code, out, _ = run_cli("summary", "quiz-q8", "--json", "--batch", "4")
    assert code == 1  # the model cannot work: run would refuse it
    data = json.loads(out)
    assert data["mode"] is None
    [problem] = data["problems"]
    assert problem["layer"] == 2
    assert problem["fix"] == "set return_sequences on layer 2"
    assert (
        "because layer 2 (Bidirectional(LSTM 32)) does not return sequences" in (problem["message"])
    )
    code, out, _ = run_cli("summary", "quiz-q8")
    assert out.splitlines()[-1].startswith("problem: Layer 3 (Bidirectional(LSTM 32)) receives")
    assert out.rstrip().endswith("Fix: set return_sequences on layer 2.")


def test_summary_reports_lints_after_the_problems(run_cli, tmp_path):
    """A Scale layer together with normalisation, and momentum with adam: valid, but worth
    changing, so the summary says what to do (and its JSON lists them)."""
    code, toml, _ = run_cli("preset", "course-rnn")
    toml = toml.replace('normalise = "none"', 'normalise = "standard"')
    toml = toml.replace('optimizer = "sgd"', 'optimizer = "adam"').replace(
        "momentum = 0.9", "momentum = 0.5"
    )
    path = tmp_path / "linted.toml"
    path.write_text(toml, encoding="utf-8")
    code, out, err = run_cli("summary", str(path))
    assert (code, err) == (0, "")
    lints = [line for line in out.splitlines() if line.startswith("lint: ")]
    assert len(lints) == 2, out
    assert "layer 5 (Scale ×100)" in lints[0] and lints[0].endswith("drop the Scale layer")
    assert lints[1].startswith("lint: train.momentum = 0.5 does nothing with optimizer 'adam'")
    assert out.splitlines().index(lints[0]) > out.splitlines().index("mode: sequence-to-vector")
    code, out, _ = run_cli("summary", str(path), "--json")
    data = json.loads(out)
    assert [x["path"] for x in data["lints"]] == ["model.layers[4]", "train.momentum"]
    code, out, _ = run_cli("summary", "course-rnn", "--json")
    assert json.loads(out)["lints"] == []


NO_TENSORFLOW = """
import sys
from tui.cli import main
def loaded(*names):
    return sorted(m for m in sys.modules if m.split(".")[0] in names)
for args in (["summary", "course-rnn"], ["summary", "quiz-q8", "--json"],
             ["baselines", "course-rnn"], ["presets"], ["preset", "course-rnn"]):
    assert main(args) == (1 if "quiz-q8" in args else 0), args
print("CLI", loaded("tensorflow", "keras", "textual"))
from tui.entry import main
assert main(["summary", "course-lstm-2"]) == 0
print("CONSOLE", loaded("tensorflow", "keras"))
"""


def test_summary_and_baselines_do_not_import_tensorflow(python_subprocess):
    done = python_subprocess(NO_TENSORFLOW)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "CLI []" in lines and lines[-1] == "CONSOLE []"


def test_baselines(run_cli):
    code, out, err = run_cli("baselines", "course-rnn")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "course-rnn: 461 validation points from t=1000"
    assert lines[1] == (
        "series: synthetic, 1461 points (1000 train, 461 validation), first 52.4836, last 122.308"
    )
    assert lines[2].split()[-2:] == ["sMAPE%", "MASE"]
    rows = {line.split()[0]: line.split() for line in lines[4:]}
    assert rows["naive"][-5:-3] == ["5.9379", "61.8275"]
    assert rows["ma30"][-5] == "7.1424"
    assert rows["diff_past"][-5] == "5.8393"
    assert rows["diff_smooth"][-5] == "4.5694"
    # the ladder beyond the course: seasonal naive and the linear autoregression on the window
    assert rows["snaive"][1:5] == ["Seasonal", "naive", "(one", "period"]
    assert rows["linear"][1:5] == ["Linear", "autoregression", "(window", "20)"]
    mase = {name: float(row[-1]) for name, row in rows.items()}
    assert mase["linear"] < 1 < mase["naive"]  # MASE: MAE over the in-sample naive MAE
    assert mase["naive"] == pytest.approx(5.9379 / mase_scale(), abs=1e-3)


def mase_scale() -> float:
    """The in-sample lag-1 naive MAE of the course series' training part (MASE's denominator)."""
    import numpy as np

    from engine.series import load_series
    from engine.specs import SyntheticSeries

    train = load_series(SyntheticSeries(), 20).train
    return float(np.mean(np.abs(np.diff(train))))


def test_baselines_json(run_cli):
    code, out, err = run_cli("baselines", "course-lstm-1", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert list(data) == ["naive", "ma30", "diff_past", "diff_smooth", "snaive", "linear"]
    assert data["naive"]["mae"] == pytest.approx(5.9379, abs=1e-3)
    assert data["naive"]["mse"] == pytest.approx(61.8275, abs=1e-3)
    assert data["diff_smooth"]["mae"] == pytest.approx(4.5694, abs=1e-3)
    assert all({"mae", "mse", "rmse", "smape", "mase", "title"} <= set(v) for v in data.values())


CSV_EXPERIMENT = """
name = "monthly"
[series]
source = "csv"
path = "{path}"
column = "Value"
date_column = "Date"
split_time = {split}
period = {period}
[window]
window = 4
"""


def csv_experiment(tmp_path, text: str, split: int = 60, period: int = 12) -> str:
    data = tmp_path / "monthly.csv"
    data.write_text(text, encoding="utf-8")
    exp = tmp_path / "monthly.toml"
    exp.write_text(CSV_EXPERIMENT.format(path=data, split=split, period=period), encoding="utf-8")
    return str(exp)


def test_baselines_on_a_csv_series(run_cli, tmp_path):
    rows = "".join(f"{i},2000-{i + 1:03d},{(i % 12) * 2 + i / 10}\n" for i in range(80))
    exp = csv_experiment(tmp_path, ",Date,Value\n" + rows)
    code, out, err = run_cli("baselines", exp)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "monthly: 20 validation points from t=60"
    assert lines[1] == (
        "series: monthly.csv, 80 points (60 train, 20 validation), "
        "first 0 (2000-001), last 21.9 (2000-080); date column kept as labels: row 1 holds "
        "'2000-001', not a date"
    )
    assert [line.split()[0] for line in lines[4:]] == [
        "naive",
        "ma30",
        "snaive",
        "linear",
        "skipped:",
    ]
    assert lines[-1] == (
        "skipped: seasonal difference baselines: need 62 training points for period 12, have 60"
    )
    assert lines[7].split()[1:5] == ["Linear", "autoregression", "(window", "4)"]  # the window


def bad_csv(tmp_path):
    return csv_experiment(tmp_path, "Date,Value\n2000-01,1\n2000-02,x\n")


def short_csv(tmp_path):
    return csv_experiment(tmp_path, "Date,Value\n" + "2000-01,1\n" * 10, split=4)


def missing_csv(tmp_path):
    path = csv_experiment(tmp_path, "Date,Value\n")
    (tmp_path / "monthly.csv").unlink()
    return path


def bad_value(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[[model.layers]]\nkind = 'lstm'\nunits = 0\n", encoding="utf-8")
    return str(path)


def bad_syntax(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[window\n", encoding="utf-8")
    return str(path)


ERRORS = [
    (["preset", "nope"], "seqlab preset: error: unknown preset 'nope'; presets are: course-rnn,"),
    (["preset"], "seqlab preset: error: the following arguments are required: name"),
    (["summary", "nope"], "seqlab summary: error: experiment = 'nope': a preset (course-rnn,"),
    (["summary", "{tmp}/nope.toml"], "seqlab summary: error: {tmp}/nope.toml: no such experiment"),
    (["summary", "{tmp}"], "seqlab summary: error: {tmp}: is a folder, not an experiment file"),
    (["summary", bad_syntax], "seqlab summary: error: {tmp}/bad.toml: not valid TOML ("),
    (
        ["summary", bad_value],
        "seqlab summary: error: {tmp}/bad.toml: model.layers[0].units = 0: a whole number",
    ),
    (
        ["summary", "course-rnn", "--batch", "0"],
        "seqlab summary: error: argument --batch: --batch = 0: a whole number from 1 to 65,536",
    ),
    (
        ["summary", "course-rnn", "--batch", "x"],
        "seqlab summary: error: argument --batch: --batch = 'x': a whole number from 1 to 65,536",
    ),
    (["summary", "course-rnn", "--bogus"], "seqlab: error: unrecognized arguments: --bogus"),
    (["baselines"], "seqlab baselines: error: the following arguments are required"),
    (["baselines", missing_csv], "seqlab baselines: error: {tmp}/monthly.csv: no such file"),
    (
        ["baselines", bad_csv],
        "seqlab baselines: error: {tmp}/monthly.csv: line 3: column 'Value' holds 'x', not a",
    ),
    (["baselines", short_csv], "seqlab baselines: error: monthly.csv: too short for window 4"),
    (["frobnicate"], "seqlab: error: argument COMMAND: invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("args", "start"), ERRORS, ids=lambda v: str(v)[:40])
def test_errors_are_one_line_exit_2(run_cli, tmp_path, args, start):
    args = [a(tmp_path) if callable(a) else a.format(tmp=tmp_path) for a in args]
    code, out, err = run_cli(*args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith(start.format(tmp=tmp_path)), err
    assert "Traceback" not in err


def test_errors_through_the_console_script(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", ENTRY, "baselines", bad_csv(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "line 3: column 'Value' holds 'x'" in done.stderr


@pytest.mark.parametrize("command", sorted(command_names()))
def test_help_on_every_sub_command(run_cli, command):
    code, out, err = run_cli(command, "--help")
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: seqlab {command}")


def test_help_and_no_command(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0 and out.startswith("usage: seqlab")
    assert all(name in out for name in ("presets", "preset", "summary", "baselines"))
    code, out, _ = run_cli()
    assert code == 0 and out.startswith("usage: seqlab")
