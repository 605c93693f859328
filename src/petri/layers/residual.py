"""ResidualBlock: stacked residual units, conv-bn-act-conv-bn plus a shortcut (He et al., 2016)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from petri.layers._base import GraphModule
from petri.layers._validation import positive_int, positive_ints
from petri.layers.activations import get_activation
from petri.layers.conv import Conv2d
from petri.layers.normalization import BatchNormalization

__all__ = ["ResidualBlock"]


class _ResidualUnit(nn.Module):
    """One unit. The shortcut is the identity when shapes allow, else a 1x1 projection.

    The input's channel count is only known on the first call, so the unit is built with a lazy
    projection and drops it on the first call when the identity fits. A ``state_dict`` saved
    without a projection drops it on load as well, so loading into an unbuilt unit works.
    """

    def __init__(
        self,
        mode: str | None,
        num_filter: int,
        filter_size: tuple[int, int],
        strides: tuple[int, int],
        activation: Callable[..., Any],
        batch_norm: bool,
        conv_kwargs: dict[str, Any],
        norm_kwargs: dict[str, Any],
    ) -> None:
        super().__init__()
        self.num_filter = num_filter
        self.strides = strides
        self.activation_fn = activation

        def norm() -> nn.Module:
            return BatchNormalization(mode, **norm_kwargs) if batch_norm else nn.Identity()

        self.conv1 = Conv2d(mode, num_filter, filter_size, strides, **conv_kwargs)
        self.bn1 = norm()
        self.conv2 = Conv2d(mode, num_filter, filter_size, 1, **conv_kwargs)
        self.bn2 = norm()
        projection = Conv2d(mode, num_filter, 1, strides, **{**conv_kwargs, "bias": False})
        self.shortcut: nn.Module | None = nn.Sequential(projection, norm())
        self._shortcut_settled = False

    def _settle_shortcut(self, x: torch.Tensor) -> None:
        needs_projection = x.shape[1] != self.num_filter or self.strides != (1, 1)
        if self.shortcut is None and needs_projection:
            raise ValueError(
                f"ResidualBlock expected inputs with num_filter={self.num_filter} channels and "
                "strides 1, as its loaded state_dict has no projection shortcut. Received shape "
                f"{tuple(x.shape)}"
            )
        if self.shortcut is not None and not needs_projection:
            projection = self.shortcut[0]
            if projection.has_uninitialized_params():  # not loaded from a checkpoint
                self.shortcut = None
        self._shortcut_settled = True

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any) -> None:
        if not self._shortcut_settled:
            if not any(key.startswith(prefix + "shortcut.") for key in state_dict):
                self.shortcut = None
            self._shortcut_settled = True
        super()._load_from_state_dict(state_dict, prefix, *args)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self._shortcut_settled:
            self._settle_shortcut(x)
        y = self.activation_fn(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        shortcut = x if self.shortcut is None else self.shortcut(x)
        return self.activation_fn(y + shortcut)


class ResidualBlock(GraphModule):
    """``num_blocks`` residual units on NCHW inputs; the first may downsample.

    Each unit computes ``act(bn(conv(act(bn(conv(x))))) + shortcut(x))`` with TF 'same' padding.
    The shortcut is the identity, or a strided 1x1 convolution (plus batch norm) when the unit
    changes the channel count or the resolution.

    Args:
        mode: a ``ModeKeys`` value, or None.
        num_filter: the output channels of every convolution.
        filter_size: the kernel size of the main convolutions.
        num_blocks: the number of units.
        strides: the first unit's stride.
        downsample: the seed's switch: when True the first unit uses ``downsample_strides``.
        downsample_strides: the stride used with ``downsample``.
        activation: an activation name or callable.
        batch_norm: whether to normalize after each convolution.
        bias: whether the main convolutions have biases.
        weights_init: an initializer for the kernels (He init by default, as in the seed).
        bias_init: an initializer for the biases.
        regularizer: a regularizer for the kernels (the seed's L2 by default), or None.
        scale: the regularizer's scale.
        trainable: False freezes every weight.
        restore: False keeps every weight out of ``load_state_dict``.
        name: the layer's name in its graph scope.
    """

    def __init__(
        self,
        mode: str | None = None,
        num_filter: int | None = None,
        filter_size: int | tuple[int, int] = 3,
        num_blocks: int = 1,
        strides: int | tuple[int, int] = 1,
        downsample: bool = False,
        downsample_strides: int | tuple[int, int] = 2,
        activation: str | Callable[..., Any] | None = "relu",
        batch_norm: bool = True,
        bias: bool = True,
        weights_init: Any = "variance_scaling",
        bias_init: Any = "zeros",
        regularizer: Any = "l2_regularizer",
        scale: float = 0.0001,
        trainable: bool = True,
        restore: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(mode=mode, name=name)
        self.num_filter = positive_int("ResidualBlock", "num_filter", num_filter)
        self.num_blocks = positive_int("ResidualBlock", "num_blocks", num_blocks)
        kernel = positive_ints("ResidualBlock", "filter_size", filter_size, 2)
        first = downsample_strides if downsample else strides
        first_strides = positive_ints("ResidualBlock", "strides", first, 2)
        conv_kwargs = {
            "bias": bias,
            "weights_init": weights_init,
            "bias_init": bias_init,
            "regularizer": regularizer,
            "scale": scale,
            "trainable": trainable,
            "restore": restore,
        }
        norm_kwargs = {"trainable": trainable, "restore": restore}
        self.activation_fn = get_activation(activation, feature_dim=1)
        self.units = nn.ModuleList(
            _ResidualUnit(
                mode,
                self.num_filter,
                kernel,
                first_strides if index == 0 else (1, 1),
                self.activation_fn,
                batch_norm,
                conv_kwargs,
                norm_kwargs,
            )
            for index in range(self.num_blocks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for unit in self.units:
            x = unit(x)
        return x

    def extra_repr(self) -> str:
        return f"num_filter={self.num_filter}, num_blocks={self.num_blocks}"
