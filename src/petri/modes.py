"""The modes a model runs in, with the seed's names and values."""

from __future__ import annotations

__all__ = ["ModeKeys"]


class ModeKeys:
    """Standard names for model modes (``'train'``, ``'eval'``, ``'infer'``).

    ``PREDICT`` is ``'infer'`` as in the seed library; ``GENERATE``/``ENCODE`` serve generators.
    """

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"
    GENERATE = "generate"
    ENCODE = "encode"

    ALL = (TRAIN, EVAL, PREDICT, GENERATE, ENCODE)

    @classmethod
    def is_train(cls, mode: str | None) -> bool:
        return mode == cls.TRAIN

    @classmethod
    def is_eval(cls, mode: str | None) -> bool:
        return mode == cls.EVAL

    @classmethod
    def is_infer(cls, mode: str | None) -> bool:
        return mode == cls.PREDICT

    @classmethod
    def check(cls, mode: str | None) -> str | None:
        """Return ``mode`` if it is a known mode (or None), else raise a ValueError naming it."""
        if mode is not None and mode not in cls.ALL:
            raise ValueError(f"Unknown mode {mode!r}; expected one of {list(cls.ALL)} or None.")
        return mode
