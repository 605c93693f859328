"""Recurrent layers on batch-first [N, T, F] inputs: SimpleRNN, LSTM, GRU.

They run PyTorch's fused kernels (``torch.rnn_tanh``, ``torch.lstm``, ``torch.gru``, the
functions ``nn.LSTM`` itself calls) on weights registered on the layer under ``nn.LSTM``'s names
(``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``), so a ``state_dict`` is
interchangeable with a one-layer, batch-first ``nn.LSTM``/``nn.GRU``/``nn.RNN``, and loads into a
layer that has not run yet. Only the input weight waits for the first input's feature size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from petri.layers._layer import LazyLayer, materialize
from petri.layers._validation import check_rank, keep_probability, positive_int
from petri.layers.initializers import get_initializer

__all__ = ["GRU", "LSTM", "SimpleRNN", "resolve_lengths", "split_sequence_input"]

State = tuple[torch.Tensor, ...]


def resolve_lengths(
    x: torch.Tensor, sequence_length: Any = None, dynamic: bool = False
) -> torch.Tensor | None:
    """The per-example lengths to run, as a CPU int64 tensor, or None for full sequences.

    With ``dynamic`` and no ``sequence_length``, a sequence's length is its number of time steps
    with any non-zero feature (the seed's rule for zero-padded batches).

    Raises:
        ValueError: a length is outside ``[1, T]`` or there is not one length per example.
    """
    if sequence_length is None:
        if not dynamic:
            return None
        return (x.detach().abs().amax(2) > 0).sum(1).clamp(min=1).cpu()
    lengths = torch.as_tensor(sequence_length, dtype=torch.int64).reshape(-1).cpu()
    if lengths.numel() != x.shape[0] or bool((lengths < 1).any() | (lengths > x.shape[1]).any()):
        raise ValueError(
            f"expected sequence_length to hold one length in [1, {x.shape[1]}] per example "
            f"({x.shape[0]}). Received: sequence_length={lengths.tolist()}"
        )
    return lengths


def split_sequence_input(x: Any, sequence_length: Any) -> tuple[torch.Tensor, Any]:
    """``(sequences, lengths)`` of a recurrent layer's input: a tensor, or what a sequence
    pipeline gives, ``{<sequence feature>: [N, T, F], "length": [N]}``.

    Raises:
        ValueError: a dict without ``length`` or with more than one other feature, or lengths
            given twice.
    """
    if not isinstance(x, Mapping):
        return x, sequence_length
    others = [name for name in x if name != "length"]
    if "length" not in x or len(others) != 1:
        raise ValueError(
            "a recurrent layer takes a tensor, or a dict of one sequence feature and its "
            f"'length' (what TFRecordSequencePipeline gives); received features {sorted(x)}. "
            "Pick them with graph_config.features."
        )
    if sequence_length is not None:
        raise ValueError(
            "sequence_length given twice: as an argument and as the 'length' feature."
        )
    return x[others[0]], x["length"]


def _dropout_pair(layer: str, dropout: Any) -> tuple[float, float]:
    """The seed's ``dropout``: one keep probability, or (input_keep_prob, output_keep_prob)."""
    if dropout is None:
        return 1.0, 1.0
    if isinstance(dropout, Sequence) and len(dropout) == 2:
        return (
            keep_probability(layer, "dropout", dropout[0]),
            keep_probability(layer, "dropout", dropout[1]),
        )
    keep = keep_probability(layer, "dropout", dropout)
    return keep, keep


class _RNNBase(LazyLayer):
    """One recurrent layer; see the subclasses for the arguments.

    ``__init__`` has SimpleRNN's and GRU's public signature, so they need no constructor of
    their own; LSTM's adds ``forget_bias``.
    """

    _gates: ClassVar[int]
    _kernels: ClassVar[dict[str, Callable[..., Any]]]
    _state_size: ClassVar[int] = 1

    def __init__(
        self,
        mode: str | None = None,
        num_units: int | None = None,
        activation: str = "tanh",
        dropout: Any = None,
        bias: bool = True,
        weights_init: Any = "xavier",
        return_seq: bool = False,
        return_state: bool = False,
        dynamic: bool = False,
        trainable: bool = True,
        restore: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(mode, name, trainable=trainable, restore=restore)
        layer = type(self).__name__
        self.num_units = positive_int(layer, "num_units", num_units)
        key = activation.lower() if isinstance(activation, str) else activation
        if key not in self._kernels:
            raise ValueError(
                f"{layer} expected activation to be one of {list(self._kernels)} (the fused "
                f"kernels' activations). Received: activation={activation!r}"
            )
        self.activation = key
        self._kernel = self._kernels[key]
        self._input_keep, self._output_keep = _dropout_pair(layer, dropout)
        self.return_seq = bool(return_seq)
        self.return_state = bool(return_state)
        self.dynamic = bool(dynamic)
        self.use_bias = bool(bias)
        self.input_size = 0
        self._weights_init = get_initializer(weights_init)
        size = self._gates * self.num_units
        self.weight_ih_l0 = self._new_parameter()
        self.weight_hh_l0 = self._new_parameter(size, self.num_units)
        self._weights_init(self.weight_hh_l0)
        if self.use_bias:
            self.bias_ih_l0 = self._new_parameter(size)
            self.bias_hh_l0 = self._new_parameter(size)
            with torch.no_grad():
                self.bias_ih_l0.zero_()
                self.bias_hh_l0.zero_()

    def initialize_parameters(self, x: Any, *args: Any, **kwargs: Any) -> None:
        x, _ = split_sequence_input(x, None)
        check_rank(type(self).__name__, x.shape, 3, "[batch, time, features]")
        self.input_size = x.shape[2]
        shape = (self._gates * self.num_units, self.input_size)
        materialize(self.weight_ih_l0, shape, self._weights_init)

    def _flat_weights(self) -> list[torch.Tensor]:
        if self.use_bias:
            return [self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0]
        return [self.weight_ih_l0, self.weight_hh_l0]

    def _initial_state(self, x: torch.Tensor, initial_state: Any) -> State:
        """The kernel's starting state, a tuple of [1, N, num_units] tensors."""
        if initial_state is None:
            zeros = x.new_zeros((1, x.shape[0], self.num_units))
            return (zeros,) * self._state_size
        states = (initial_state,) if self._state_size == 1 else tuple(initial_state)
        return tuple(s.unsqueeze(0) if s.dim() == 2 else s for s in states)

    def _kernel_state(self, state: State) -> Any:
        return state[0]

    def _public_state(self, state: State) -> Any:
        """The final state handed to users: h, or (h, c) for the LSTM, each [N, num_units]."""
        return state[0][0]

    def _run(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None, initial_state: Any = None
    ) -> tuple[torch.Tensor, State]:
        """Run the sequence: outputs [N, T, num_units] (zeros past each length) and final state."""
        if self.training and self._input_keep < 1.0:
            x = F.dropout(x, 1.0 - self._input_keep, True)
        state = self._initial_state(x, initial_state)
        weights = self._flat_weights()
        if lengths is None:
            result = self._kernel(
                x, self._kernel_state(state), weights, self.use_bias, 1, 0.0, self.training,
                False, True,
            )  # fmt: skip
            return result[0], tuple(result[1:])
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        state = tuple(s.index_select(1, packed.sorted_indices) for s in state)
        result = self._kernel(
            packed.data, packed.batch_sizes, self._kernel_state(state), weights, self.use_bias,
            1, 0.0, self.training, False,
        )  # fmt: skip
        outputs = PackedSequence(
            result[0], packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
        )
        seq, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])
        return seq, tuple(s.index_select(1, packed.unsorted_indices) for s in result[1:])

    def forward(
        self, x: torch.Tensor, sequence_length: Any = None, initial_state: Any = None
    ) -> Any:
        """Run [N, T, F] inputs.

        Args:
            x: the batch-first input sequences, or ``{<feature>: sequences, "length":
                lengths}`` (a sequence pipeline's features).
            sequence_length: optional per-example lengths; later steps are ignored, and the
                last output is the one at each example's own last step.
            initial_state: optional starting state: h [N, num_units], or (h, c) for the LSTM.

        Returns:
            The last output [N, num_units], or all outputs [N, T, num_units] with
            ``return_seq``; with ``return_state``, the pair (output, final state).
        """
        x, sequence_length = split_sequence_input(x, sequence_length)
        lengths = resolve_lengths(x, sequence_length, self.dynamic)
        seq, state = self._run(x, lengths, initial_state)
        out = seq if self.return_seq else state[0][0]
        if self.training and self._output_keep < 1.0:
            out = F.dropout(out, 1.0 - self._output_keep, True)
        if self.return_state:
            return out, self._public_state(state)
        return out

    def extra_repr(self) -> str:
        return (
            f"input_size={self.input_size}, num_units={self.num_units}, "
            f"activation={self.activation!r}, return_seq={self.return_seq}, "
            f"return_state={self.return_state}, dynamic={self.dynamic}"
        )


_ARGS = """

    Args:
        mode: a ``ModeKeys`` value, or None.
        num_units: the size of the hidden state and of each output.
        activation: {activations}, the activations PyTorch's fused kernel offers.
        dropout: a keep probability for the inputs and the output, or a pair
            (input_keep_prob, output_keep_prob); applied only while training.
        bias: whether the cell has biases.
        weights_init: an initializer name, number or callable for both weight matrices.
        return_seq: return every step's output [N, T, num_units], not the last [N, num_units].
        return_state: also return the final state, ``(output, state)``.
        dynamic: infer each example's length from its non-zero steps when ``forward`` gets no
            ``sequence_length`` (zero-padded batches).
        trainable: False freezes the weights.
        restore: False keeps the weights out of ``load_state_dict``.
        name: the layer's name in its graph scope.
"""


class SimpleRNN(_RNNBase):
    __doc__ = "An Elman RNN, ``h' = activation(W x + U h + b)``." + _ARGS.format(
        activations="``'tanh'`` or ``'relu'``"
    )
    _gates = 1
    _kernels = {"tanh": torch.rnn_tanh, "relu": torch.rnn_relu}


class GRU(_RNNBase):
    __doc__ = "A gated recurrent unit layer (Cho et al., 2014)." + _ARGS.format(
        activations="``'tanh'``"
    )
    _gates = 3
    _kernels = {"tanh": torch.gru}


class LSTM(_RNNBase):
    __doc__ = (
        "A long short-term memory layer (Hochreiter & Schmidhuber, 1997); the state is (h, c)."
        + _ARGS.format(activations="``'tanh'``")
        + "        forget_bias: added to the forget gate's initial bias, as TF's LSTM cells do.\n"
    )
    _gates = 4
    _kernels = {"tanh": torch.lstm}
    _state_size = 2

    def __init__(
        self,
        mode: str | None = None,
        num_units: int | None = None,
        activation: str = "tanh",
        dropout: Any = None,
        bias: bool = True,
        weights_init: Any = "xavier",
        forget_bias: float = 1.0,
        return_seq: bool = False,
        return_state: bool = False,
        dynamic: bool = False,
        trainable: bool = True,
        restore: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(
            mode, num_units, activation, dropout, bias, weights_init, return_seq, return_state,
            dynamic, trainable, restore, name,
        )  # fmt: skip
        self.forget_bias = float(forget_bias)
        if self.use_bias:
            with torch.no_grad():  # gate order is PyTorch's: input, forget, cell, output
                self.bias_ih_l0[self.num_units : 2 * self.num_units].fill_(self.forget_bias)

    def _kernel_state(self, state: State) -> Any:
        return state

    def _public_state(self, state: State) -> Any:
        return state[0][0], state[1][0]
