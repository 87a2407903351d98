"""``seqlab search`` and ``seqlab studies``: what is refused before Ray starts, one line each."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from engine import config, search_space
from engine.runstore import RunStore
from engine.studies import StudyStore
from tests.conftest import tiny

SPACE = '[search]\ngrace_period = 1\n[search.space]\n"window.window" = { choice = [5, 10] }\n'


def search_file(tmp_path: Path, text: str = SPACE) -> str:
    path = tmp_path / "s.toml"
    path.write_text(config.dumps(tiny(holdout=0.1)) + text)
    return str(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a search FILE (an experiment with a [search] section) or --resume"),
        (("missing.toml",), "missing.toml: no such search file"),
        (("--resume", "nothing"), "study 'nothing': no such study"),
        (("--trials", "0", "x.toml"), "--trials = 0: a whole number from 1 to 10,000"),
    ],
)
def test_a_search_that_cannot_start_is_one_line_and_exit_2(run_cli, tmp_path, args, message):
    code, out, err = run_cli("search", *args, "--runs", str(tmp_path / "runs"))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_bad_search_file_names_the_key_path(run_cli, tmp_path) -> None:
    bad = search_file(tmp_path, '[search]\n[search.space]\n"window.size" = { choice = [5] }\n')
    code, _, err = run_cli("search", bad, "--runs", str(tmp_path / "runs"))
    assert code == 2
    assert 'search.space."window.size" = ' in err and "no such field in the base" in err
    assert not (tmp_path / "runs" / ".studies").exists()


def test_a_choice_the_data_cannot_support_is_refused_before_ray_starts(run_cli, tmp_path):
    big = search_file(
        tmp_path,
        '[search]\ngrace_period = 1\n[search.space]\n"window.window" = { choice = [5, 900] }\n',
    )
    code, out, err = run_cli("search", big, "--runs", str(tmp_path / "runs"))
    assert code == 2 and out == ""
    assert 'search.space."window.window" = 900: a trial with it would be refused' in err
    assert "series has only 300 points" in err


def test_a_file_and_resume_together_are_refused(run_cli, tmp_path) -> None:
    code, _, err = run_cli("search", search_file(tmp_path), "--resume", "x")
    assert code == 2 and "give no FILE or --trials" in err


def test_an_address_nothing_answers_at_is_refused_at_once(run_cli, tmp_path) -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, _, err = run_cli(
        "search", search_file(tmp_path), "--address", f"127.0.0.1:{port}", "--runs", str(tmp_path)
    )
    assert code == 2
    assert f"cannot connect to the Ray cluster at 127.0.0.1:{port}: nothing answers there" in err
    assert StudyStore(RunStore(tmp_path)).studies() == []


def test_studies_lists_saved_searches(run_cli, tmp_path) -> None:
    code, out, _ = run_cli("studies", "--runs", str(tmp_path))
    assert code == 0 and "no searches in" in out
    search = search_space.load(search_file(tmp_path))
    study = StudyStore(RunStore(tmp_path)).create(search, 2, "local Ray, 2 CPUs")
    study.finish("stopped", "stopped by Ctrl+C (SIGINT)")
    code, out, _ = run_cli("studies", "--runs", str(tmp_path))
    assert code == 0 and study.study_id in out and "stopped" in out and "random" in out
    code, out, _ = run_cli("runs", "--runs", str(tmp_path), "--study", study.study_id)
    assert code == 0 and "no runs in" in out
