"""BidirectionalRNN: a forward and a backward recurrent layer, outputs concatenated."""

from __future__ import annotations

from typing import Any

import torch

from petri.layers._base import GraphModule
from petri.layers.recurrent import _RNNBase, resolve_lengths, split_sequence_input
from petri.layers.registry import LAYERS

__all__ = ["BidirectionalRNN"]


def _reverse(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Reverse each sequence in time within its own length; padding steps stay in place."""
    if lengths is None:
        return x.flip(1)
    steps = torch.arange(x.shape[1], device=x.device)
    last = lengths.to(x.device).unsqueeze(1) - 1
    index = torch.where(steps <= last, last - steps, steps)
    return x.gather(1, index.unsqueeze(-1).expand_as(x))


class BidirectionalRNN(GraphModule):
    """Run one recurrent layer forward in time and one backward; concatenate their features.

    The layers' own ``return_seq``/``return_state``/``dynamic`` are ignored in favour of these.

    Args:
        mode: a ``ModeKeys`` value, or None.
        rnncell_fw: the forward layer: a ``SimpleRNN``/``LSTM``/``GRU`` instance, or a pair
            ``(name_or_class, kwargs)`` built here (``('LSTM', {'num_units': 32})``).
        rnncell_bw: the backward layer, likewise.
        return_seq: return [N, T, units_fw + units_bw]; otherwise the concatenation of the
            forward layer's last output and the backward layer's final output (which has read
            the whole sequence), [N, units_fw + units_bw].
        return_state: also return the final states, ``(output, (state_fw, state_bw))``.
        dynamic: infer lengths from non-zero steps when ``forward`` gets no ``sequence_length``.
        name: the layer's name in its graph scope.
    """

    def __init__(
        self,
        mode: str | None = None,
        rnncell_fw: Any = None,
        rnncell_bw: Any = None,
        return_seq: bool = False,
        return_state: bool = False,
        dynamic: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(mode=mode, name=name)
        self.fw = self._cell("rnncell_fw", rnncell_fw)
        self.bw = self._cell("rnncell_bw", rnncell_bw)
        self.return_seq = bool(return_seq)
        self.return_state = bool(return_state)
        self.dynamic = bool(dynamic)

    def _cell(self, arg: str, cell: Any) -> _RNNBase:
        if isinstance(cell, _RNNBase):
            return cell
        if isinstance(cell, (tuple, list)) and len(cell) == 2 and isinstance(cell[1], dict):
            layer = LAYERS.get(cell[0])
            if isinstance(layer, type) and issubclass(layer, _RNNBase):
                return layer(self.mode, **cell[1])
        raise TypeError(
            f"BidirectionalRNN expected {arg} to be a SimpleRNN, LSTM or GRU instance, or a "
            f"(layer name or class, kwargs) pair. Received: {arg}={cell!r}"
        )

    def forward(self, x: Any, sequence_length: Any = None) -> Any:
        """Run [N, T, F] inputs (or ``{<feature>: sequences, "length": lengths}``, a sequence
        pipeline's features); ``sequence_length`` gives optional per-example lengths."""
        x, sequence_length = split_sequence_input(x, sequence_length)
        lengths = resolve_lengths(x, sequence_length, self.dynamic)
        self.fw._build_on(x)
        self.bw._build_on(x)
        seq_fw, state_fw = self.fw._run(x, lengths)
        seq_bw, state_bw = self.bw._run(_reverse(x, lengths), lengths)
        if self.return_seq:
            out = torch.cat((seq_fw, _reverse(seq_bw, lengths)), dim=-1)
        else:
            out = torch.cat((state_fw[0][0], state_bw[0][0]), dim=-1)
        if self.return_state:
            return out, (self.fw._public_state(state_fw), self.bw._public_state(state_bw))
        return out

    def extra_repr(self) -> str:
        return f"return_seq={self.return_seq}, return_state={self.return_state}"
