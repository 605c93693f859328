"""``Model``: graph, loss, evaluation metrics and optimizer in one module that returns a spec."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from petri.configs import GraphConfig, LossConfig, ModelConfig, OptimizerConfig, as_config
from petri.configs.model import GENERATOR_KEYS
from petri.errors import ConfigError
from petri.layers import GraphModule, SubGraph, graph_scope
from petri.losses import build_loss
from petri.metrics import build_metrics
from petri.modes import ModeKeys
from petri.spec import EstimatorSpec

__all__ = ["Model"]


class _GraphContainer(nn.Module):
    """Holds the layers a ``graph_fn`` builds, under their scope names."""


class Model(GraphModule):
    """A model the Estimator can train directly, or that a ``model_fn`` calls and returns.

    Args:
        mode: ``ModeKeys`` value (seed style); the Estimator passes the mode on every call.
        graph_fn: the network: a ``graph_fn(mode, inputs)`` building ``petri.layers`` (built once,
            reused on later calls), an ``nn.Module``, a ``GraphConfig``, or a definition list.
        loss_config: ``LossConfig``, loss name, or callable ``(outputs, labels) -> loss``.
        optimizer_config: ``OptimizerConfig`` or optimizer name; the Estimator builds it.
        eval_metrics_config: list of ``MetricConfig`` or metric names.
        summaries: TensorBoard summaries to write (``all`` or a list, see ModelConfig).
        clip_gradients: clip the global gradient norm (None disables).
        clip_embed_gradients: then clip each embedding table's gradient to this norm on its
            own, as the seed did (None disables).
        name: scope name of the model.
        n_classes: number of classes, for metrics that need it.
    """

    default_loss = "mean_squared_error"

    def __init__(
        self,
        mode: str | None = None,
        graph_fn: Any = None,
        loss_config: Any = None,
        optimizer_config: Any = None,
        eval_metrics_config: list[Any] | None = None,
        summaries: str | list[str] | None = None,
        clip_gradients: float | None = 5.0,
        clip_embed_gradients: float | None = 0.1,
        name: str | None = None,
        n_classes: int | None = None,
    ) -> None:
        super().__init__(mode=mode, name=name)
        if graph_fn is None:
            raise ValueError(f"{type(self).__name__} needs a graph_fn (or a graph_config).")
        self.n_classes = n_classes
        self._features: list[str] | None = None
        self._graph_fn: Callable[..., Any] = self._attach_graph(graph_fn)
        self.loss_config = as_config(loss_config or self.default_loss, LossConfig)
        self.optimizer_config = (
            as_config(optimizer_config, OptimizerConfig) if optimizer_config is not None else None
        )
        self._loss = build_loss(self.loss_config)
        self.metrics = build_metrics(eval_metrics_config or [], n_classes)
        self.summaries = summaries
        self.clip_gradients = clip_gradients
        self.clip_embed_gradients = clip_embed_gradients
        self._regularization: list[tuple[torch.Tensor, Callable[[torch.Tensor], Any]]] | None = (
            None
        )

    @classmethod
    def from_config(cls, config: ModelConfig, mode: str | None = None) -> Model:
        """Build the model a ``ModelConfig`` describes."""
        kwargs: dict[str, Any] = {
            "graph_fn": config.graph_config,
            "n_classes": config.n_classes,
            **common_kwargs(config),
        }
        given = [key for key in GENERATOR_KEYS if getattr(config, key) is not None]
        if given:
            raise ValueError(
                f"{', '.join(given)} belong to generators (model_type: generator); "
                f"{cls.__name__} has one network, model_config.graph_config."
            )
        if config.one_hot_encode is not None:
            if "one_hot_encode" not in inspect.signature(cls.__init__).parameters:
                raise ValueError(
                    f"one_hot_encode applies to classifiers; {cls.__name__} does not take it. "
                    "Remove model_config.one_hot_encode or use model_type: classifier."
                )
            kwargs["one_hot_encode"] = config.one_hot_encode
        return cls(mode, **kwargs)

    # ------------------------------------------------------------------ call
    def forward(self, features: Any, labels: Any = None, mode: str | None = None) -> EstimatorSpec:
        mode = mode or self.mode or (ModeKeys.TRAIN if self.training else ModeKeys.EVAL)
        outputs = self._graph_fn(mode, self._select_features(features))
        loss = None
        if labels is not None and mode != ModeKeys.PREDICT:
            loss = self._compute_loss(outputs, labels)
        predictions = None if mode == ModeKeys.TRAIN else self._build_predictions(outputs)
        metric_ops = None
        if mode == ModeKeys.EVAL and labels is not None and self.metrics:
            metric_ops = {
                name: (metric, (outputs, labels)) for name, metric in self.metrics.items()
            }
        return EstimatorSpec(
            mode=mode,
            predictions=predictions,
            loss=loss,
            optimizer=self.optimizer_config,
            eval_metric_ops=metric_ops,
            export_outputs=predictions,
            clip_gradients=self.clip_gradients,
            clip_embed_gradients=self.clip_embed_gradients,
        )

    def _compute_loss(self, outputs: torch.Tensor, labels: Any) -> torch.Tensor:
        loss = self._loss(outputs, self._prepare_labels(labels))
        terms = self._regularization
        if terms is None:
            terms = self._regularization = _regularization_terms(self)
        for parameter, regularizer in terms:
            loss = loss + regularizer(parameter)
        return loss

    def _prepare_labels(self, labels: Any) -> Any:
        return labels

    def _build_predictions(self, outputs: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"results": outputs}

    # --------------------------------------------------------------- graph
    def _attach_graph(self, graph_fn: Any) -> Callable[..., Any]:
        if isinstance(graph_fn, list | tuple):
            graph_fn = GraphConfig(definition=list(graph_fn))
        if isinstance(graph_fn, GraphConfig):
            self._features = graph_fn.features
            subgraph = SubGraph(graph_fn.definition, name=graph_fn.name)
            self.add_module(graph_fn.name, subgraph)

            def run_layers(mode: str, inputs: Any) -> Any:
                # several features and none chosen; {<sequence>, "length"} is what recurrent
                # layers take (TFRecordSequencePipeline's batches)
                if isinstance(inputs, dict) and "length" not in inputs:
                    raise ConfigError(
                        f"The input yields the features {sorted(inputs)}, and a layer list "
                        "reads one tensor: name it with graph_config.features (e.g. "
                        f"features: [{sorted(inputs)[0]}]); for records, name the label with "
                        "pipeline_config.params.label_feature so it is not a feature.",
                        "model_config.graph_config.features",
                        None,
                    )
                return subgraph(inputs)

            return run_layers
        if isinstance(graph_fn, nn.Module):
            self.add_module("graph", graph_fn)
            return lambda mode, inputs: graph_fn(inputs)
        if callable(graph_fn):
            container = _GraphContainer()
            self.add_module("graph", container)

            def run(mode: str, inputs: Any) -> Any:
                with graph_scope(container):
                    return graph_fn(mode, inputs)

            return run
        raise TypeError(
            f"graph_fn must be a callable (mode, inputs) -> outputs, an nn.Module, a GraphConfig "
            f"or a definition list; received {type(graph_fn).__name__}."
        )

    def _select_features(self, features: Any) -> Any:
        if not isinstance(features, dict):
            return features
        names = self._features or list(features)
        if len(names) == 1:
            try:
                return features[names[0]]
            except KeyError:
                raise KeyError(
                    f"graph_config.features names {names[0]!r}, but the input has features "
                    f"{sorted(features)}."
                ) from None
        return {name: features[name] for name in names}


def common_kwargs(config: ModelConfig) -> dict[str, Any]:
    """The constructor arguments every model family takes from a ``ModelConfig`` (loss,
    optimizer, metrics, summaries, clipping) plus its ``params``."""
    return {
        "loss_config": config.loss_config,
        "optimizer_config": config.optimizer_config,
        "eval_metrics_config": list(config.eval_metrics_config),
        "summaries": config.summaries,
        "clip_gradients": config.clip_gradients,
        "clip_embed_gradients": config.clip_embed_gradients,
        **config.params,
    }


def _regularization_terms(model: nn.Module) -> list[tuple[torch.Tensor, Callable[..., Any]]]:
    terms = []
    for module in model.modules():
        if isinstance(module, GraphModule) and module is not model:
            terms.extend(module.regularization_terms())
    return terms
