"""``Generator``: encoder, bridge and decoder, trained to give back its features.

The seed library's third model family. With ``no_op_bridge`` it is an autoencoder (denoising
with ``input_noise``), with ``latent_bridge`` a variational autoencoder. Besides the default
reconstruction (``infer``), it answers the two modes only generators have: ``encode`` (features
to codes) and ``generate`` (codes, or draws from the prior, to new features).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from petri.configs import GraphConfig, ModelConfig
from petri.layers import SubGraph
from petri.models._base import Model, _regularization_terms, common_kwargs
from petri.models._images import image_grid, latent_scatter
from petri.models.bridges import Bridge, create_bridge
from petri.modes import ModeKeys
from petri.spec import EstimatorSpec

__all__ = ["Generator"]

_MODES = (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT, ModeKeys.ENCODE, ModeKeys.GENERATE)


class Generator(Model):
    """An encoder graph, a bridge and a decoder graph; the loss compares the decoder's output
    with the features (the input's labels are not the target: they only colour the latent
    plot).

    Args:
        encoder_fn: the encoder: a ``GraphConfig``, a definition list or an ``nn.Module``.
        decoder_fn: the decoder, likewise; its output is reshaped to the features' shape
            when it has as many elements per example (a dense decoder of 8x8 images).
        bridge: ``BridgeConfig``, bridge name or ``Bridge`` (default ``no_op_bridge``).
        input_noise: standard deviation of Gaussian noise added to the features while
            training only (a denoising autoencoder); 0 disables.
        **kwargs: see :class:`~petri.models.Model` (``loss_config`` defaults to
            ``sigmoid_cross_entropy``: features in [0, 1], the decoder gives logits).

    Predictions: ``results`` (the reconstruction or the generated features: the sigmoid of the
    decoder's logits when the loss takes logits) and ``codes`` (``infer``, ``encode``).
    Evaluation metrics: ``reconstruction_loss``, ``reconstruction_mse``; with a variational
    bridge also ``kl`` and ``elbo`` (per example, nats when the loss is a negative
    log-likelihood). Training logs ``losses/reconstruction`` and ``losses/kl`` beside the loss.
    """

    default_loss = "sigmoid_cross_entropy"
    modes = _MODES

    def __init__(
        self,
        mode: str | None = None,
        encoder_fn: Any = None,
        decoder_fn: Any = None,
        bridge: Any = None,
        input_noise: float = 0.0,
        **kwargs: Any,
    ) -> None:
        if encoder_fn is None or decoder_fn is None:
            raise ValueError(
                "Generator needs an encoder and a decoder (model_config.encoder_config and "
                "model_config.decoder_config, each {definition: [...]})."
            )
        if isinstance(input_noise, bool) or not (
            isinstance(input_noise, int | float) and input_noise >= 0
        ):
            raise ValueError(f"Generator expected input_noise >= 0; received {input_noise!r}.")
        super().__init__(mode, graph_fn=_named(encoder_fn, "encoder"), **kwargs)
        self._encode = self._graph_fn  # registered under the encoder config's name
        self.bridge: Bridge = create_bridge(bridge)
        decoder = _named(decoder_fn, "decoder")
        self._decoder_name = decoder.name if isinstance(decoder, GraphConfig) else "decoder"
        self.add_module(self._decoder_name, _as_graph(decoder))
        self.input_noise = float(input_noise)
        identifier = getattr(self.loss_config, "identifier", None)
        self._logits = isinstance(identifier, str) and "sigmoid" in identifier.lower()
        self._feature_shape: tuple[int, ...] | None = None

    @classmethod
    def from_config(cls, config: ModelConfig, mode: str | None = None) -> Generator:
        kwargs: dict[str, Any] = {
            "encoder_fn": config.encoder_config,
            "decoder_fn": config.decoder_config,
            "bridge": config.bridge_config,
            **common_kwargs(config),
        }
        for key in ("one_hot_encode", "n_classes"):
            if getattr(config, key) is not None:
                raise ValueError(
                    f"{key} applies to classifiers; a generator reconstructs its features. "
                    f"Remove model_config.{key}."
                )
        if config.graph_config.definition:
            raise ValueError(
                "a generator has two networks: give them as model_config.encoder_config and "
                "model_config.decoder_config instead of graph_config."
            )
        return cls(mode, **kwargs)

    # ------------------------------------------------------------------ call
    def forward(self, features: Any, labels: Any = None, mode: str | None = None) -> EstimatorSpec:
        mode = mode or self.mode or (ModeKeys.TRAIN if self.training else ModeKeys.EVAL)
        inputs = self._select_features(features)
        if mode == ModeKeys.GENERATE:
            results = self._results(self._decode(inputs))
            return self._spec(mode, {"results": results})
        target = inputs
        if mode == ModeKeys.TRAIN and self.input_noise:
            inputs = inputs + self.input_noise * torch.randn_like(inputs)
        bridged = self.bridge(self._encode(mode, inputs), sample=mode == ModeKeys.TRAIN)
        if mode == ModeKeys.ENCODE:
            return self._spec(mode, {"codes": bridged.codes})
        if self._feature_shape is None:
            self._feature_shape = tuple(target.shape[1:])
        outputs = self._decode(bridged.latent)
        if mode == ModeKeys.PREDICT:
            return self._spec(mode, {"results": self._results(outputs), "codes": bridged.codes})
        reconstruction = self._loss(outputs, target)
        loss = reconstruction + self._kl_term(bridged.kl, target)
        if self._regularization is None:
            self._regularization = _regularization_terms(self)
        for parameter, regularizer in self._regularization:
            loss = loss + regularizer(parameter)
        scalars = {"losses/reconstruction": reconstruction.detach()}
        if bridged.kl is not None:
            scalars["losses/kl"] = bridged.kl.detach().mean()
        spec = self._spec(mode, None, loss)
        spec.training_scalars = scalars
        if mode == ModeKeys.EVAL:
            spec.eval_metric_ops = self._metric_ops(outputs, target, reconstruction, bridged.kl)
        return spec

    def get_extra_state(self) -> dict[str, Any]:
        """The features' shape travels with the weights: a process that only generates (and
        never saw a feature) still gives samples of that shape."""
        shape = self._feature_shape
        return {"feature_shape": None if shape is None else list(shape)}

    def set_extra_state(self, state: Any) -> None:
        shape = state.get("feature_shape") if isinstance(state, dict) else None
        if shape is not None:
            self._feature_shape = tuple(int(n) for n in shape)

    def _decode(self, latent: torch.Tensor) -> torch.Tensor:
        outputs = self._modules[self._decoder_name](latent)  # type: ignore[misc]
        shape = self._feature_shape
        if shape is not None and tuple(outputs.shape[1:]) != shape:
            if math.prod(outputs.shape[1:]) == math.prod(shape):
                return outputs.reshape(outputs.shape[0], *shape)
            raise ValueError(
                f"The decoder gives outputs of shape {tuple(outputs.shape[1:])} per example, but "
                f"the features have shape {shape} ({math.prod(shape)} elements): its last layer "
                "must give as many elements as a feature has."
            )
        return outputs

    def _results(self, outputs: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(outputs) if self._logits else outputs

    def _kl_term(self, kl: torch.Tensor | None, target: torch.Tensor) -> Any:
        if kl is None:
            return 0.0
        weight = getattr(self.bridge, "kl_weight", None)
        if weight is None:
            weight = 1.0 / max(1, math.prod(target.shape[1:]))
        return weight * kl.mean()

    def _metric_ops(
        self,
        outputs: torch.Tensor,
        target: torch.Tensor,
        reconstruction: torch.Tensor,
        kl: torch.Tensor | None,
    ) -> dict[str, Any]:
        results = self._results(outputs)
        squared = (results - target).pow(2).mean()
        ops: dict[str, Any] = {
            "reconstruction_loss": reconstruction.detach(),
            "reconstruction_mse": squared.detach(),
        }
        if kl is not None:
            elements = math.prod(target.shape[1:])
            ops["kl"] = kl.mean().detach()
            ops["elbo"] = -(reconstruction.detach() * elements + kl.mean().detach())
        for name, metric in self.metrics.items():
            ops[name] = (metric, (results, target))
        return ops

    def _spec(self, mode: str, predictions: Any, loss: Any = None) -> EstimatorSpec:
        return EstimatorSpec(
            mode=mode,
            predictions=predictions,
            loss=loss,
            optimizer=self.optimizer_config,
            export_outputs=predictions,
            clip_gradients=self.clip_gradients,
            clip_embed_gradients=self.clip_embed_gradients,
        )

    # ------------------------------------------------------------------ sampling
    def prior_codes(self, count: int, seed: int | None = None) -> torch.Tensor:
        """``count`` codes drawn from the bridge's prior (seeded when ``seed`` is given).

        Raises:
            ValueError: the bridge has no prior (``no_op_bridge``).
        """
        generator = None if seed is None else torch.Generator().manual_seed(seed)
        return self.bridge.prior(count, generator)

    def evaluation_images(self, features: Any, labels: Any = None) -> dict[str, np.ndarray]:
        """Images for the run log at an evaluation: the first features above their
        reconstructions, samples from the prior (variational bridge) and, for a 2-D latent
        space, the codes of the batch coloured by label."""
        inputs = self._select_features(features)
        if not isinstance(inputs, torch.Tensor) or inputs.dim() < 2:
            return {}
        shape = tuple(inputs.shape[1:])
        with torch.no_grad():
            spec = self(features, None, ModeKeys.PREDICT)
        images: dict[str, np.ndarray] = {}
        grid = image_grid(torch.cat([inputs[:8], spec.predictions["results"][:8]]), shape, 8)
        if grid is not None:
            images["images/reconstructions"] = grid
        if self.bridge.variational:
            with torch.no_grad():
                codes = self.prior_codes(16, seed=0).to(inputs.device)
                samples = self(codes, None, ModeKeys.GENERATE).predictions["results"]
            sampled = image_grid(samples, shape, 8)
            if sampled is not None:
                images["images/samples"] = sampled
        codes = spec.predictions["codes"]
        if codes.dim() == 2 and codes.shape[1] == 2:
            images["images/latent_space"] = latent_scatter(codes, labels)
        return images


def _named(graph: Any, name: str) -> Any:
    """A graph config (or definition list) named after its part unless named already."""
    if isinstance(graph, list | tuple):
        graph = GraphConfig(definition=list(graph))
    if isinstance(graph, GraphConfig) and graph.name == "graph":
        graph = graph.model_copy(update={"name": name})
    return graph


def _as_graph(graph: Any) -> torch.nn.Module:
    if isinstance(graph, GraphConfig):
        return SubGraph(graph.definition, name=graph.name)
    if isinstance(graph, torch.nn.Module):
        return graph
    raise TypeError(
        f"A generator's decoder must be a GraphConfig, a definition list or an nn.Module; "
        f"received {type(graph).__name__}."
    )
