"""The lecture drawing (tui.lecture_drawing): the slides' unrolled cells with the experiment's own
shapes, as plain text, at the widths the app has (80 and 120 columns, less the margins)."""

from __future__ import annotations

import dataclasses

import pytest

from engine import stack_edits
from engine.presets import get_preset
from engine.specs import GRU, Dense, ExpandDims, Experiment, ModelSpec, Scale, SimpleRNN, WindowSpec
from tui.lecture_drawing import Block, draw, sub


def block(exp: Experiment, index: int | None, width: int = 116, last: bool = False) -> Block:
    """The block of layer ``index`` (None: the input, or with ``last`` the output)."""
    blocks = draw(exp, width).blocks
    if index is None:
        return blocks[-1] if last else blocks[0]
    return next(b for b in blocks if b.index == index)


def words(text: str) -> str:
    """The text with its line breaks and runs of spaces as single spaces (prose is wrapped)."""
    return " ".join(text.split())


def with_model(exp: Experiment, *layers) -> Experiment:
    return dataclasses.replace(exp, model=ModelSpec(tuple(layers)))


def test_subscripts_as_on_the_slides():
    assert sub(0) == "₀" and sub(19) == "₁₉"


def test_input_and_expand_dims_use_the_experiments_batch_and_window():
    exp = get_preset("course-rnn")  # batch 128, window 20
    assert "(128, 20)" in block(exp, None).title
    expand = block(exp, 0).text()
    assert "(128, 20) → (128, 20, 1)" in expand and "(batch, steps, dims)" in words(expand)


def test_the_lectures_own_example_4_by_30_by_3():
    """The transcript's example: window 30, batch 4, a memory cell of three neurons."""
    exp = dataclasses.replace(
        get_preset("course-rnn"),
        window=WindowSpec(window=30, batch_size=4),
        model=ModelSpec((ExpandDims(), SimpleRNN(units=3, return_sequences=True))),
    )
    text = block(exp, 1).text()
    assert "(4, 30, 1) → (4, 30, 3)" in text
    assert "(4, 1)" in text  # each step's input, a four by one matrix
    assert "(4, 3)" in text  # each step's output, four by three
    assert "X₂₉" in text and "Ŷ₂₉" in text and "H₂₈" in text  # the last step, after the "…"


def test_simple_rnn_unrolled_with_x_in_y_out_and_h_to_the_next_step():
    text = block(get_preset("course-rnn"), 1).text()
    for part in ("X₀", "X₁", "X₂", "X₃", "…", "X₁₉", "Ŷ₀", "Ŷ₁₉", "H₀", "H₁₈", "H₁₉"):
        assert part in text, part
    assert "0 ──▶│ RNN │─H₀" in text  # the state starts at 0 and goes right
    assert "Hₜ is a copy of Ŷₜ" in words(text)
    assert "(128, 40)" in text and "(128, 1)" in text  # Ŷₜ and Xₜ
    assert "C₀" not in text  # no cell state in a SimpleRNN


def test_return_sequences_on_sends_every_output_up_off_only_the_last():
    exp = get_preset("course-rnn")
    on = block(exp, 1).text()
    assert "ignored" not in on
    assert "every Ŷₜ goes up" in words(on) and "(128, 20, 40)" in on
    off = block(exp, 2).text()
    assert off.count("ignored") >= 3  # Ŷ₀.. are dropped
    assert "only Ŷ₁₉ goes up, (128, 40): sequence to vector" in words(off)


def test_lstm_draws_the_cell_state_as_a_second_line():
    exp = with_model(
        get_preset("course-rnn"),
        ExpandDims(),
        dataclasses.replace(get_preset("course-lstm-1").model.layers[1].layer),
        Dense(),
    )
    text = block(exp, 1).text()
    assert "═C₀══▶" in text and "─H₀──▶" in text and "LSTM" in text
    assert "cell state Cₜ" in words(text)


def test_gru_is_unrolled_too():
    exp = with_model(get_preset("course-rnn"), ExpandDims(), GRU(units=8), Dense())
    text = block(exp, 1).text()
    assert "GRU" in text and "H₀" in text and "(128, 8)" in text


def test_bidirectional_draws_both_directions():
    text = block(get_preset("course-lstm-2"), 1).text()
    assert "◀────│ LSTM │" in text  # backwards: the state goes left
    assert "0 ──▶│ LSTM │" in text  # forwards: right
    assert "← backward" in text and "→ forward" in text
    assert "concat: 32 + 32 = 64" in words(text)
    assert "(32, 32)" in text and "(32, 64)" in text  # each direction's Ŷₜ, and the joined one


def test_dense_after_a_sequence_is_the_same_dense_at_every_step():
    exp = get_preset("course-rnn")
    exp = dataclasses.replace(exp, model=stack_edits.toggle_return_sequences(exp.model, 2).model)
    dense = block(exp, 3)
    assert dense.text().count("Dense 1") >= 1 + 4 + 1  # the title, four steps and the last
    assert "the same Dense (the same weights) at every step" in words(dense.text())
    assert "(128, 20, 1): sequence to sequence" in words(dense.text())
    assert "(128, 20, 1)" in block(exp, None, last=True).title


def test_dense_after_a_vector_is_one_box():
    dense = block(get_preset("course-rnn"), 3)
    assert dense.text().count("│Dense 1│") == 1


def test_scale_says_why_it_is_there():
    text = block(get_preset("course-rnn"), 4).text()
    assert "×100" in text and "tanh" in text and "[−1, 1]" in text and "tens" in text


def test_scale_with_normalisation_says_it_works_against_it():
    exp = get_preset("course-rnn")
    exp = dataclasses.replace(exp, train=dataclasses.replace(exp.train, normalise="standard"))
    assert "works against it" in words(block(exp, 4).text())


def test_quiz_q8_shows_where_the_shape_breaks():
    exp = get_preset("quiz-q8")
    drawing = draw(exp, 116)
    broken = block(exp, 2)
    assert broken.broken
    text = broken.text()
    assert "(32, 64) ✗" in text and "one vector per window" in words(text)
    assert "set return_sequences on layer 2" in words(text)  # the fix, and its key
    assert "X₀" not in text  # nothing to unroll
    assert not block(exp, 1).broken  # the layer below draws, with only Ŷ₁₉ going up
    assert "only Ŷ₁₉ goes up" in words(block(exp, 1).text())
    assert "cannot work" in drawing.summary
    assert block(exp, None, last=True).broken


def test_fixing_quiz_q8_unrolls_the_second_layer():
    exp = get_preset("quiz-q8")
    fixed = dataclasses.replace(exp, model=stack_edits.toggle_return_sequences(exp.model, 1).model)
    text = block(fixed, 2).text()
    assert not block(fixed, 2).broken and "X₀" in text and "(32, 64)" in text


def test_missing_expand_dims_is_shown_at_the_recurrent_layer():
    exp = with_model(get_preset("course-rnn"), SimpleRNN(units=4), Dense(), Scale())
    first = block(exp, 0)
    assert first.broken and "insert ExpandDims" in words(first.text())


@pytest.mark.parametrize("width", [60, 76, 116])
@pytest.mark.parametrize("preset", ["course-rnn", "course-lstm-2", "quiz-q8", "course-conv-lstm"])
def test_every_line_fits_the_width(preset, width):
    drawing = draw(get_preset(preset), width)
    for b in drawing.blocks:
        for line in b.lines:
            assert len("".join(t for t, _ in line)) <= width, (b.title, line)


@pytest.mark.parametrize(("width", "drawn"), [(76, 3), (116, 4)])
def test_three_or_four_steps_then_the_last(width, drawn):
    text = block(get_preset("course-rnn"), 1, width).text()
    assert f"X{sub(drawn - 1)}" in text and f"X{sub(drawn)}" not in text and "X₁₉" in text


def test_a_short_window_is_drawn_whole():
    exp = dataclasses.replace(get_preset("course-rnn"), window=WindowSpec(window=3, batch_size=8))
    text = block(exp, 1).text()
    assert "X₀" in text and "X₂" in text and "…" not in text
