"""Bridges: what a ``Generator`` puts between its encoder and its decoder.

``no_op_bridge`` passes the encoder's codes on (a plain autoencoder). ``latent_bridge`` makes the
generator variational (a VAE, Kingma & Welling 2014): two dense heads give the mean and the
log-variance of a Gaussian over ``latent_dim`` codes, training decodes a reparameterised sample
``mean + exp(log_var / 2) * noise``, and the KL divergence from the standard normal prior joins
the loss. Its prior gives the codes a generator decodes into new samples.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from petri.registry import Registry

__all__ = ["BRIDGES", "Bridge", "Bridged", "LatentBridge", "NoOpBridge", "create_bridge"]


class Bridged(NamedTuple):
    """What a bridge hands the decoder, and what the generator reports.

    Attributes:
        latent: the codes the decoder takes (a sample while training a VAE).
        codes: what ``ENCODE`` returns (the VAE's mean).
        kl: per-example KL divergence from the prior (``[batch]``), or None.
    """

    latent: torch.Tensor
    codes: torch.Tensor
    kl: torch.Tensor | None = None


class Bridge(nn.Module):
    """Base of the bridges: ``forward(codes, sample)`` and, for a variational one, ``prior``."""

    variational = False

    def forward(self, codes: torch.Tensor, sample: bool) -> Bridged:  # pragma: no cover
        raise NotImplementedError

    def prior(
        self, count: int, generator: torch.Generator | None = None, device: Any = None
    ) -> torch.Tensor:
        """``count`` draws of codes from the prior, ready for the decoder."""
        raise ValueError(
            f"{type(self).__name__} has no prior to draw codes from (a plain autoencoder's "
            "codes follow no known distribution): give codes to decode, or use "
            "bridge_config: {module: latent_bridge, latent_dim: N}."
        )


class NoOpBridge(Bridge):
    """The encoder's codes, unchanged: a plain (or denoising) autoencoder."""

    def forward(self, codes: torch.Tensor, sample: bool) -> Bridged:
        return Bridged(codes, codes)


class LatentBridge(Bridge):
    """A Gaussian latent layer of ``latent_dim`` codes (a variational autoencoder).

    Args:
        latent_dim: number of latent codes.
        kl_weight: weight of the mean per-example KL term in the loss. None (default) divides
            it by the number of feature elements per example, which makes the loss the negative
            evidence lower bound per element when the reconstruction loss is a per-element
            negative log-likelihood (``sigmoid_cross_entropy`` for pixels in [0, 1]); larger
            values give a beta-VAE.
    """

    variational = True

    def __init__(self, latent_dim: int, kl_weight: float | None = None) -> None:
        super().__init__()
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
            raise ValueError(f"latent_bridge expected latent_dim >= 1; received {latent_dim!r}.")
        if kl_weight is not None and (isinstance(kl_weight, bool) or not kl_weight >= 0):
            raise ValueError(f"latent_bridge expected kl_weight >= 0; received {kl_weight!r}.")
        self.latent_dim = latent_dim
        self.kl_weight = kl_weight
        self.mean = nn.LazyLinear(latent_dim)
        self.log_variance = nn.LazyLinear(latent_dim)

    def forward(self, codes: torch.Tensor, sample: bool) -> Bridged:
        flat = codes.flatten(1)
        mean, log_variance = self.mean(flat), self.log_variance(flat)
        latent = mean
        if sample:
            latent = mean + torch.exp(0.5 * log_variance) * torch.randn_like(mean)
        kl = 0.5 * (mean.pow(2) + log_variance.exp() - 1.0 - log_variance).sum(dim=1)
        return Bridged(latent, mean, kl)

    def prior(
        self, count: int, generator: torch.Generator | None = None, device: Any = None
    ) -> torch.Tensor:
        return torch.randn(count, self.latent_dim, generator=generator, device=device)

    def extra_repr(self) -> str:
        return f"latent_dim={self.latent_dim}, kl_weight={self.kl_weight}"


BRIDGES: Registry[type[Bridge]] = Registry(
    "bridge",
    {"no_op_bridge": NoOpBridge, "latent_bridge": LatentBridge},
    home="petri.models.bridges.BRIDGES",
)
"""Bridges selectable by ``bridge_config.module`` (or ``name``)."""


def create_bridge(config: Any) -> Bridge:
    """A bridge from a ``BridgeConfig``, a registered name, a ``Bridge`` instance or None
    (``no_op_bridge``)."""
    if config is None:
        return NoOpBridge()
    if isinstance(config, Bridge):
        return config
    if isinstance(config, str):
        return BRIDGES.get(config)()
    return BRIDGES.get(config.identifier)(**config.kwargs)
