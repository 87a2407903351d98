"""The stop request: set() tells the runs watching it before it returns, from any thread."""

from __future__ import annotations

import threading

import pytest

from engine import training
from engine.presets import PRESETS
from engine.stop import StopRequest


def test_set_calls_the_watchers_in_the_setting_thread() -> None:
    stop = StopRequest()
    calls: list[str] = []
    with stop.watched(lambda: calls.append(threading.current_thread().name)):
        assert calls == []
        setter = threading.Thread(target=stop.set, name="setter")
        setter.start()
        setter.join()
        assert calls == ["setter"] and stop.is_set()


def test_a_request_set_before_watching_is_passed_on_at_once() -> None:
    stop = StopRequest()
    stop.set()
    calls: list[int] = []
    with stop.watched(lambda: calls.append(1)):
        assert calls == [1]


def test_a_watcher_is_not_called_after_its_block() -> None:
    stop = StopRequest()
    calls: list[int] = []
    with stop.watched(lambda: calls.append(1)):
        pass
    stop.set()
    assert calls == [] and stop.is_set()


def test_training_refuses_a_plain_event() -> None:
    """A plain Event could not tell the input pipeline: the run would never see the request."""
    with pytest.raises(TypeError, match="StopRequest"):
        training.train(PRESETS["course-rnn"], lambda event: None, threading.Event(), save=False)
