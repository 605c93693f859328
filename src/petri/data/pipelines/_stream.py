"""``RecordStream``: epochs over shards with shard shuffling, interleaving and a shuffle buffer.

The order of one epoch, as in TensorFlow's ``interleave`` + ``shuffle(buffer_size)``:

1. the epoch's shard order: the shards sorted, or permuted by a generator seeded with
   ``(seed, stream, epoch)`` when shuffling;
2. ``cycle_length`` shards are open at once and give one record each in turn; a finished
   shard's place goes to the next shard of the order;
3. records pass through a buffer of ``buffer_size``: each output is a uniformly drawn buffer
   entry, replaced by the next record. The buffer drains at the end of the epoch, so every epoch
   yields every record exactly once.

Only references (shard, offset) of buffered records and the open shards' positions are state:
:meth:`state_dict` is small whatever the data size, and :meth:`load_state_dict` re-reads the
buffered records by reference, so a resumed stream continues with exactly the records an
uninterrupted one would have given.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from petri.data.pipelines._sources import RecordSource

__all__ = ["RecordStream", "Record"]

Record = tuple[int, int, Any]
"""``(shard, ref, raw)``."""


class _Slot:
    """An open shard: where it continues and the reader positioned there."""

    __slots__ = ("index", "position", "reader", "shard")

    def __init__(self, source: RecordSource, shard: int, position: int, index: int) -> None:
        self.shard, self.position, self.index = shard, position, index
        self.reader = source.read(shard, position, index)


class RecordStream:
    """Records of ``shards`` of ``source``, epoch after epoch (see the module docstring).

    Args:
        source: where records come from.
        shards: the shards this stream reads (all of them, or one reader process's share).
        num_epochs: passes; None repeats forever.
        shuffle: permute shard order and shuffle through the buffer.
        seed: the shuffling seed.
        buffer_size: shuffle-buffer capacity in records (ignored without ``shuffle``).
        cycle_length: shards read at once (1 without ``shuffle``, so order is file order).
        stream: this stream's number among parallel readers (part of its seeds).
        allow_empty: end quietly when an epoch has no records (a reader whose shards are all
            empty) instead of raising.
    """

    def __init__(
        self,
        source: RecordSource,
        shards: Sequence[int],
        *,
        num_epochs: int | None,
        shuffle: bool,
        seed: int,
        buffer_size: int,
        cycle_length: int,
        stream: int = 0,
        allow_empty: bool = False,
    ) -> None:
        self.source = source
        self.shards = list(shards)
        self.num_epochs = num_epochs
        self.shuffle = shuffle
        self.seed = seed
        self.stream = stream
        self.allow_empty = allow_empty
        self.buffer_size = max(1, buffer_size) if shuffle else 0
        self.cycle_length = max(1, cycle_length) if shuffle else 1
        self.epoch = 0
        # Python's generator: one draw per record costs far less than numpy's.
        self._rng = random.Random(f"{seed}/{stream}/buffer")
        self._started = False
        self._order: list[int] = []
        self._next_shard = 0
        self._slots: list[_Slot] = []
        self._turn = 0
        self._buffer: list[Record] = []
        self._yielded = 0
        self._random = self._rng.random

    # ------------------------------------------------------------------ reading
    def __iter__(self) -> Iterator[Record]:
        return self

    def __next__(self) -> Record:
        while True:
            if self.num_epochs is not None and self.epoch >= self.num_epochs:
                raise StopIteration
            if not self._started:
                self._start_epoch()
            if not self.buffer_size:
                record = self._pull()
                if record is not None:
                    self._yielded += 1
                    return record
            elif self._buffer:
                buffer = self._buffer
                pick = int(self._random() * len(buffer))
                record = buffer[pick]
                incoming = self._pull()
                if incoming is None:
                    buffer[pick] = buffer[-1]
                    buffer.pop()
                else:
                    buffer[pick] = incoming
                self._yielded += 1
                return record
            self._end_epoch()

    def _epoch_order(self) -> list[int]:
        if not self.shuffle:
            return list(self.shards)
        generator = np.random.default_rng([self.seed, self.stream, 0, self.epoch])
        return [self.shards[i] for i in generator.permutation(len(self.shards))]

    def _start_epoch(self) -> None:
        self._order = self._epoch_order()
        self._next_shard = 0
        self._slots = []
        self._turn = 0
        self._yielded = 0
        while len(self._slots) < self.cycle_length and self._open_next() is not None:
            pass
        while len(self._buffer) < self.buffer_size:
            record = self._pull()
            if record is None:
                break
            self._buffer.append(record)
        self._started = True

    def _end_epoch(self) -> None:
        if self._yielded == 0:
            if self.allow_empty:  # nothing to read, now or in any later epoch
                self.num_epochs = self.epoch
                raise StopIteration
            raise ValueError(
                f"The input has no records (shards {self.shards} of {self.source.num_shards}); "
                "check params.data_files."
            )
        self.epoch += 1
        self._started = False

    def _open_next(self) -> _Slot | None:
        if self._next_shard >= len(self._order):
            return None
        shard = self._order[self._next_shard]
        self._next_shard += 1
        slot = _Slot(self.source, shard, self.source.start(shard), 0)
        self._slots.append(slot)
        return slot

    def _pull(self) -> Record | None:
        """The next record of the interleaved open shards, or None when the epoch's are read."""
        slots = self._slots
        while slots:
            if self._turn >= len(slots):
                self._turn = 0
            slot = slots[self._turn]
            item = next(slot.reader, None)
            if item is None:
                # The shard is done: the next shard of the order takes its turn in the cycle.
                if self._next_shard < len(self._order):
                    shard = self._order[self._next_shard]
                    self._next_shard += 1
                    slots[self._turn] = _Slot(self.source, shard, self.source.start(shard), 0)
                else:
                    del slots[self._turn]
                continue
            ref, raw, slot.position = item
            slot.index += 1
            self._turn += 1
            return slot.shard, ref, raw
        return None

    # -------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Where the stream is: epoch, open shards, buffered references, generator state."""
        refs = [[shard, ref] for shard, ref, _ in self._buffer]
        return {
            "epoch": self.epoch,
            "started": self._started,
            "next_shard": self._next_shard,
            "turn": self._turn,
            "yielded": self._yielded,
            "slots": [[s.shard, s.position, s.index] for s in self._slots],
            "buffer": np.array(refs, dtype=np.int64).reshape(-1, 2),
            "rng": _rng_state(self._rng),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s output (for the same shards and settings).

        Raises:
            KeyError: ``state`` lacks a key.
            ValueError: ``state`` refers to shards this stream does not read.
        """
        slots = [[int(v) for v in slot] for slot in state["slots"]]
        refs = [[int(v) for v in pair] for pair in np.asarray(state["buffer"]).reshape(-1, 2)]
        known = set(self.shards)
        unknown = {s for s, *_ in slots} | {s for s, _ in refs}
        if not unknown <= known:
            raise ValueError(
                f"Input state refers to shards {sorted(unknown - known)} that this pipeline "
                f"does not read (it reads {sorted(known)}); were data_files changed?"
            )
        self.epoch = int(state["epoch"])
        self._started = bool(state["started"])
        self._next_shard = int(state["next_shard"])
        self._turn = int(state["turn"])
        self._yielded = int(state.get("yielded", 0))
        _set_rng_state(self._rng, state["rng"])
        self._order = self._epoch_order() if self._started else []
        self._slots = [_Slot(self.source, *slot) for slot in slots]
        self._buffer = [(s, r, self.source.read_at(s, r)) for s, r in refs]


def _rng_state(rng: random.Random) -> dict[str, Any]:
    version, internal, gauss = rng.getstate()
    return {"version": version, "state": list(internal), "gauss": gauss}


def _set_rng_state(rng: random.Random, state: Mapping[str, Any]) -> None:
    internal = tuple(int(v) for v in state["state"])
    rng.setstate((int(state["version"]), internal, state["gauss"]))
