"""SimpleRNN, LSTM, GRU and BidirectionalRNN against PyTorch's own recurrent modules."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import petri.layers as L

PAIRS = [
    (lambda **kw: L.SimpleRNN(num_units=5, **kw), lambda: nn.RNN(3, 5, batch_first=True)),
    (
        lambda **kw: L.SimpleRNN(num_units=5, activation="relu", **kw),
        lambda: nn.RNN(3, 5, nonlinearity="relu", batch_first=True),
    ),
    (lambda **kw: L.LSTM(num_units=5, **kw), lambda: nn.LSTM(3, 5, batch_first=True)),
    (lambda **kw: L.GRU(num_units=5, **kw), lambda: nn.GRU(3, 5, batch_first=True)),
]


@pytest.mark.parametrize(("build", "reference"), PAIRS)
def test_matches_torch_and_shares_its_state_dict(build, reference) -> None:
    torch.manual_seed(0)
    layer = build(return_seq=True, return_state=True)
    x = torch.randn(4, 6, 3)
    seq, state = layer(x)
    torch_rnn = reference()
    torch_rnn.load_state_dict(layer.state_dict())
    expected_seq, expected_state = torch_rnn(x)
    torch.testing.assert_close(seq, expected_seq)
    if isinstance(layer, L.LSTM):
        torch.testing.assert_close(state[0], expected_state[0][0])
        torch.testing.assert_close(state[1], expected_state[1][0])
    else:
        torch.testing.assert_close(state, expected_state[0])

    unbuilt = build()  # and back: torch's weights load into a layer that has not run
    unbuilt.load_state_dict(torch_rnn.state_dict())
    torch.testing.assert_close(unbuilt(x), expected_seq[:, -1])


@pytest.mark.parametrize(("build", "reference"), PAIRS)
def test_sequence_length_stops_each_example_at_its_own_end(build, reference) -> None:
    torch.manual_seed(0)
    layer = build(return_seq=True, return_state=True)
    x = torch.randn(3, 6, 3)
    lengths = [6, 2, 4]
    seq, state = layer(x, sequence_length=lengths)
    last_only = build()
    last_only.load_state_dict(layer.state_dict())
    last = last_only(x, sequence_length=torch.tensor(lengths))
    for i, n in enumerate(lengths):
        alone, alone_state = layer(x[i : i + 1, :n])
        torch.testing.assert_close(seq[i, :n], alone[0])
        assert torch.all(seq[i, n:] == 0)
        torch.testing.assert_close(last[i], alone[0, -1])
        h = state[0] if isinstance(layer, L.LSTM) else state
        alone_h = alone_state[0] if isinstance(layer, L.LSTM) else alone_state
        torch.testing.assert_close(h[i], alone_h[0])


def test_dynamic_lengths_come_from_non_zero_steps() -> None:
    layer = L.GRU(num_units=4, dynamic=True)
    x = torch.randn(2, 5, 3)
    x[1, 3:] = 0
    out = layer(x)
    fixed = L.GRU(num_units=4)
    fixed.load_state_dict(layer.state_dict())
    torch.testing.assert_close(out[1], fixed(x[1:, :3])[0])
    torch.testing.assert_close(out[0], fixed(x[:1])[0])


def test_initial_state_and_dropout() -> None:
    layer = L.LSTM(num_units=4, return_state=True)
    x = torch.randn(2, 3, 3)
    _, (h, c) = layer(x[:, :2])
    out, _ = layer(x[:, 2:], initial_state=(h, c))
    full = L.LSTM(num_units=4)
    full.load_state_dict(layer.state_dict())
    torch.testing.assert_close(out, full(x))
    noisy = L.SimpleRNN(num_units=4, dropout=(0.5, 0.5)).train()
    assert not torch.equal(noisy(x), noisy(x))
    torch.testing.assert_close(noisy.eval()(x), noisy.eval()(x))


def test_lstm_forget_bias_starts_at_one() -> None:
    layer = L.LSTM(num_units=3)
    torch.testing.assert_close(layer.bias_ih_l0[3:6], torch.ones(3))
    assert torch.all(layer.bias_ih_l0[:3] == 0) and torch.all(layer.bias_ih_l0[6:] == 0)


def test_bidirectional_runs_the_backward_layer_on_reversed_sequences() -> None:
    torch.manual_seed(0)
    layer = L.BidirectionalRNN(
        rnncell_fw=L.LSTM(num_units=3), rnncell_bw=("GRU", {"num_units": 2}), return_seq=True
    )
    x = torch.randn(2, 5, 4)
    lengths = [5, 3]
    seq = layer(x, sequence_length=lengths)
    assert seq.shape == (2, 5, 5)
    fw = L.LSTM(num_units=3, return_seq=True)
    fw.load_state_dict(layer.fw.state_dict())
    bw = L.GRU(num_units=2, return_seq=True)
    bw.load_state_dict(layer.bw.state_dict())
    for i, n in enumerate(lengths):
        sample = x[i : i + 1, :n]
        torch.testing.assert_close(seq[i, :n, :3], fw(sample)[0])
        torch.testing.assert_close(seq[i, :n, 3:], bw(sample.flip(1))[0].flip(0))

    last = L.BidirectionalRNN(rnncell_fw=layer.fw, rnncell_bw=layer.bw, return_state=True)
    out, (state_fw, state_bw) = last(x)
    torch.testing.assert_close(out, torch.cat([state_fw[0], state_bw], -1))
    with pytest.raises(TypeError, match="rnncell_bw"):
        L.BidirectionalRNN(rnncell_fw=layer.fw, rnncell_bw=("Conv2d", {"num_filter": 2}))
