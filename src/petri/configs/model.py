"""Model configs: graph, loss, metrics, optimizer and the model that bundles them."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import (
    AliasChoices,
    Field,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from petri.configs._base import BaseConfig
from petri.configs._selector import check_selector
from petri.configs._values import check_identifier_name
from petri.errors import did_you_mean

__all__ = [
    "BridgeConfig",
    "GraphConfig",
    "LossConfig",
    "MetricConfig",
    "ModelConfig",
    "OptimizerConfig",
    "SUMMARY_OPTIONS",
]

SUMMARY_OPTIONS = (
    "all",
    "loss",
    "gradients",
    "activations",
    "variables",
    "learning_rate",
    "image_input",
    "image_result",
)


class _Selectable(BaseConfig):
    """A config whose ``name`` or ``module`` selects a registered function or class."""

    _family: ClassVar[str] = ""

    module: Any = None
    name: Any = None

    @property
    def identifier(self) -> Any:
        """What selects the object: ``module`` if given, else ``name``."""
        return self.module if self.module is not None else self.name

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, value: Any) -> Any:
        """A bare name (``optimizer_config: adam``, ``[streaming_accuracy]``) reads as
        ``{name: ...}`` in files, as it does in Python."""
        return {"name": value} if isinstance(value, str) else value

    @field_validator("module", "name")
    @classmethod
    def _selector(cls, value: Any) -> Any:
        return check_selector(value, cls._family)

    @model_validator(mode="after")
    def _selected(self) -> _Selectable:
        if self.identifier is None:
            raise ValueError(f"Give `name` or `module` to select a {self._family}.")
        return self


class _WithKwargs(_Selectable):
    """A selectable config whose other keys are keyword arguments of the selected function."""

    model_config = {**BaseConfig.model_config, "extra": "allow"}

    @property
    def kwargs(self) -> dict[str, Any]:
        """The selected function's keyword arguments (checked against it by the builder)."""
        return dict(self.__pydantic_extra__ or {})


class LossConfig(_WithKwargs):
    """A loss by name (``softmax_cross_entropy``); other keys are its arguments."""

    _family: ClassVar[str] = "loss"


class MetricConfig(_WithKwargs):
    """An evaluation metric by name (``streaming_accuracy``); other keys are its arguments."""

    _family: ClassVar[str] = "metric"


class OptimizerConfig(_Selectable):
    """An optimizer by name and its learning-rate decay, with the seed library's keys."""

    _family: ClassVar[str] = "optimizer"

    learning_rate: PositiveFloat = 0.001
    decay_type: str | None = None
    """exponential_decay, inverse_time_decay, natural_exp_decay, piecewise_constant,
    polynomial_decay or cosine_decay; None keeps the rate constant."""
    decay_steps: PositiveInt = 100
    decay_rate: float = Field(default=0.96, ge=0)
    staircase: bool = False
    start_decay_at: int = Field(default=0, ge=0)
    stop_decay_at: int | None = Field(default=None, ge=0)
    min_learning_rate: float = Field(default=1e-12, ge=0)
    boundaries: list[int] | None = None
    values: list[float] | None = None
    power: float = 1.0
    end_learning_rate: float = 0.0001
    cycle: bool = False
    alpha: float = 0.0
    beta1: float | None = Field(default=None, ge=0, lt=1)
    beta2: float | None = Field(default=None, ge=0, lt=1)
    epsilon: float | None = Field(default=None, gt=0)
    momentum: float | None = Field(default=None, ge=0)
    rho: float | None = None
    decay: float | None = None
    """RMSProp's discounting factor (TF's name)."""
    initial_accumulator_value: float | None = None
    weight_decay: float | None = Field(default=None, ge=0)
    amsgrad: bool | None = None
    centered: bool | None = None
    use_nesterov: bool | None = None
    l1_regularization_strength: float | None = None
    l2_regularization_strength: float | None = None
    learning_rate_power: float | None = None

    @field_validator("decay_type")
    @classmethod
    def _no_decay(cls, value: str | None) -> str | None:
        return None if value in (None, "") else value

    @model_validator(mode="after")
    def _piecewise_has_values(self) -> OptimizerConfig:
        if self.decay_type and "piecewise" in self.decay_type.lower():
            if not self.boundaries or not self.values:
                raise ValueError("decay_type piecewise_constant needs `boundaries` and `values`.")
            if len(self.values) != len(self.boundaries) + 1:
                raise ValueError(
                    f"piecewise_constant needs len(values) == len(boundaries) + 1; received "
                    f"{len(self.values)} values for {len(self.boundaries)} boundaries."
                )
        return self

    def optimizer_kwargs(self) -> dict[str, Any]:
        """The optimizer's own arguments that were set (TF names)."""
        keys = (
            "beta1",
            "beta2",
            "epsilon",
            "momentum",
            "rho",
            "decay",
            "initial_accumulator_value",
            "weight_decay",
            "amsgrad",
            "centered",
            "use_nesterov",
            "l1_regularization_strength",
            "l2_regularization_strength",
            "learning_rate_power",
        )
        return {key: getattr(self, key) for key in keys if getattr(self, key) is not None}

    def schedule_kwargs(self) -> dict[str, Any]:
        """Arguments of the learning-rate decay."""
        keys = (
            "decay_steps",
            "decay_rate",
            "staircase",
            "start_decay_at",
            "stop_decay_at",
            "min_learning_rate",
            "boundaries",
            "values",
            "power",
            "end_learning_rate",
            "cycle",
            "alpha",
        )
        return {key: getattr(self, key) for key in keys}


class GraphConfig(BaseConfig):
    """The network: a ``definition`` list of ``[layer, kwargs]`` pairs run in order.

    ``name`` is the graph's scope name (variables read ``lenet/conv2d_1/weight``); ``features``
    picks which input features feed the graph when the input is a dict.
    """

    name: str = "graph"
    features: list[str] | None = None
    definition: list[tuple[Any, dict[str, Any]]] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _scope_name(cls, value: str) -> str:
        return check_identifier_name(value, "graph_config.name")

    @field_validator("definition", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise ValueError("Expected a list of [layer, kwargs] pairs.")
        pairs = []
        for index, item in enumerate(value):
            if isinstance(item, str | type):
                item = (item, {})
            if (
                not isinstance(item, list | tuple)
                or len(item) != 2
                or not isinstance(item[1], dict)
            ):
                raise ValueError(
                    f"definition[{index}] must be a [layer, kwargs] pair such as "
                    f"['Conv2d', {{'num_filter': 32}}]; received {item!r:.60}."
                )
            pairs.append((item[0], item[1]))
        return pairs

    @field_validator("definition")
    @classmethod
    def _layer_selectors(cls, value: list[tuple[Any, dict[str, Any]]]) -> list[tuple[Any, dict]]:
        for index, (layer, _) in enumerate(value):
            try:
                check_selector(layer, "layer")
            except ValueError as error:
                raise ValueError(f"definition[{index}]: {error}") from None
        return value


class BridgeConfig(_WithKwargs):
    """A generator's bridge by name (``no_op_bridge``, ``latent_bridge``); other keys are its
    arguments (``latent_dim``, ``kl_weight``)."""

    _family: ClassVar[str] = "bridge"


GENERATOR_KEYS = ("encoder_config", "decoder_config", "bridge_config")
"""Keys of ``ModelConfig`` that only generators take."""


class ModelConfig(BaseConfig):
    """Which model (``module``/``model_type``: classifier, regressor) and its parts."""

    module: Any = Field(
        default="classifier", validation_alias=AliasChoices("module", "model_type", "name")
    )
    """``classifier``, ``regressor`` or ``generator`` (``model_type`` in the seed), or a Model
    class."""
    graph_config: GraphConfig = Field(default_factory=GraphConfig)
    loss_config: LossConfig | None = None
    eval_metrics_config: list[MetricConfig] = Field(default_factory=list)
    optimizer_config: OptimizerConfig = Field(default_factory=lambda: OptimizerConfig(name="adam"))
    summaries: str | list[str] | None = None
    """TensorBoard summaries: ``all`` or any of loss, gradients, activations, variables,
    learning_rate, image_input, image_result."""
    clip_gradients: PositiveFloat | None = 5.0
    """Clip the global gradient norm to this value (None disables)."""
    clip_embed_gradients: PositiveFloat | None = 0.1
    one_hot_encode: bool | None = None
    """Labels are class indices to be one-hot encoded (the loss takes indices directly)."""
    n_classes: PositiveInt | None = None
    encoder_config: GraphConfig | None = None
    """Generators: the network from features to codes."""
    decoder_config: GraphConfig | None = None
    """Generators: the network from (bridged) codes back to features."""
    bridge_config: BridgeConfig | None = None
    """Generators: what joins encoder and decoder (default ``no_op_bridge``)."""
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("module")
    @classmethod
    def _selector(cls, value: Any) -> Any:
        return check_selector(value, "model", required=True)

    def graphs(self) -> list[tuple[str, GraphConfig]]:
        """Each network of the model with its key: ``graph_config``, or a generator's
        ``encoder_config`` and ``decoder_config``."""
        parts = [(key, getattr(self, key)) for key in ("encoder_config", "decoder_config")]
        given = [(key, graph) for key, graph in parts if graph is not None]
        return given or [("graph_config", self.graph_config)]

    @field_validator("summaries")
    @classmethod
    def _known_summaries(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is None:
            return None
        names = [value] if isinstance(value, str) else value
        for name in names:
            if name not in SUMMARY_OPTIONS:
                hint = did_you_mean(name, SUMMARY_OPTIONS)
                raise ValueError(
                    f"Unknown summary {name!r}.{hint} Expected any of {list(SUMMARY_OPTIONS)}."
                )
        return value
