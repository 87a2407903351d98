"""Shared fixtures. Tests make their own data; nothing reads ../shared/data."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.series import Series, load_series
from engine.specs import SyntheticSeries

REPO = Path(__file__).resolve().parents[1]

# TensorFlow's native log lines stay out of test output (set before any test imports it).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


HAS_TENSORFLOW = importlib.util.find_spec("tensorflow") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that need TensorFlow are skipped, not failed, where it is not installed.

    They are the ones marked ``tensorflow``, and every ``slow`` one (slow means it trains a real
    model). The rest of the suite (shapes, configs, the app against a scripted engine) runs
    without it.
    """
    if HAS_TENSORFLOW:
        return
    skip = pytest.mark.skip(reason="needs TensorFlow, which is not installed")
    for item in items:
        if item.get_closest_marker("tensorflow") or item.get_closest_marker("slow"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def course_series() -> Series:
    """The course's synthetic series (1461 points, split 1000), windows of 20."""
    return load_series(SyntheticSeries(), window=20)


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., str]:
    """Writes ``text`` (str, or bytes as they are) to a CSV file in tmp_path; returns its path."""

    def write(text: str | bytes, name: str = "data.csv") -> str:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Runs ``tui.cli.main(args)`` in-process; returns (exit code, stdout, stderr)."""
    from tui.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()  # drop anything printed before
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Runs Python code in a fresh interpreter at the repository root (shares no state)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def python_subprocess() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_python`` as a fixture: Python code in a fresh interpreter."""
    return run_python


def tiny(model: tuple | None = None, **train: Any) -> Any:
    """A small, fast experiment (300 points, split 250, SimpleRNN 8 x2, 15 batches an epoch);
    keyword arguments replace fields of its ``train`` spec (``model=`` replaces the layers)."""
    from engine.specs import (
        Dense,
        ExpandDims,
        Experiment,
        ModelSpec,
        Scale,
        SimpleRNN,
        TrainSpec,
        WindowSpec,
    )

    layers = model or (
        ExpandDims(),
        SimpleRNN(units=8, return_sequences=True),
        SimpleRNN(units=8),
        Dense(units=1),
        Scale(factor=100.0),
    )
    return Experiment(
        name="tiny",
        series=SyntheticSeries(length=300, split_time=250),
        window=WindowSpec(window=10, batch_size=16, shuffle_buffer=1000),
        model=ModelSpec(tuple(layers)),
        train=TrainSpec(**{"learning_rate": 1e-5, "epochs": 3, **train}),
    )


@pytest.fixture
def tiny_experiment() -> Callable[..., Any]:
    """``tiny`` as a fixture."""
    return tiny
