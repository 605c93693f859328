"""``SummaryHook``: the model's TensorBoard summaries (seed 002's ``model_config.summaries``).

Every ``every_n_steps`` training steps (``run_config.save_summary_steps``) it writes to the run's
TensorBoard events:

============== ===============================================================================
``loss``         scalar ``summaries/loss``
``learning_rate`` scalar ``summaries/learning_rate``
``gradients``    histograms ``gradients/<variable>`` and scalar ``summaries/gradient_norm``
``variables``    histograms ``variables/<variable>``
``activations``  histograms ``activations/<layer>`` (outputs of the leaf modules)
``image_input``  images ``image_input/<i>`` (the first images of the batch, when features are
                 N x C x H x W with C in 1, 3, 4)
``image_result`` images ``image_result/<i>`` (the network's last output, when image-shaped:
                 autoencoders, generators)
``all``          everything above
============== ===============================================================================

The other steps pay nothing: the hook's phases run only at its cadence (``HookList`` checks
it), and the forward hooks that capture activations are registered in ``before_step`` of a
summary step and removed in its ``after_step``.
"""

from __future__ import annotations

from typing import Any

import torch

from petri.tracking.experiment import Experiment
from petri.training.hooks import Hook, LoopState

__all__ = ["SUMMARIES", "SummaryHook"]

SUMMARIES = (
    "loss",
    "gradients",
    "activations",
    "variables",
    "learning_rate",
    "image_input",
    "image_result",
)


def _names(summaries: str | list[str] | tuple[str, ...]) -> set[str]:
    requested = [summaries] if isinstance(summaries, str) else list(summaries)
    unknown = [name for name in requested if name not in (*SUMMARIES, "all")]
    if unknown:
        raise ValueError(
            f"Unknown summaries {unknown}: expected 'all' or any of {list(SUMMARIES)}. "
            "Received: summaries={summaries!r}."
        )
    return set(SUMMARIES) if "all" in requested else set(requested)


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, list | tuple):
        for item in value:
            tensor = _first_tensor(item)
            if tensor is not None:
                return tensor
    if isinstance(value, dict):
        for item in value.values():
            tensor = _first_tensor(item)
            if tensor is not None:
                return tensor
    return None


def _images(value: Any) -> torch.Tensor | None:
    """A batch N x C x H x W (C in 1, 3, 4) taken from ``value``, or None."""
    tensor = _first_tensor(value)
    if tensor is None or tensor.ndim != 4 or tensor.shape[1] not in (1, 3, 4):
        return None
    if min(tensor.shape[2], tensor.shape[3]) < 2:
        return None
    return tensor


class SummaryHook(Hook):
    """Write scalars, histograms and images of the model to a run's TensorBoard events.

    Args:
        run: the ``petri.tracking.Experiment`` to write to.
        summaries: ``"all"`` or a list of :data:`SUMMARIES`.
        every_n_steps: cadence (``run_config.save_summary_steps``).
        max_images: images written per image summary.
        bins: histogram buckets.

    Raises:
        ValueError: an unknown summary name.
    """

    def __init__(
        self,
        run: Experiment,
        summaries: str | list[str] | tuple[str, ...] = "all",
        every_n_steps: int = 100,
        max_images: int = 3,
        bins: int = 30,
    ) -> None:
        super().__init__(every_n_steps)
        self.run = run
        self.summaries = _names(summaries)
        self.max_images = max_images
        self.bins = bins
        self._handles: list[Any] = []
        self._outputs: dict[str, torch.Tensor] = {}
        self._last_output: torch.Tensor | None = None

    def before_step(self, state: LoopState) -> None:
        """On a summary step only: capture layer outputs during the coming forward pass."""
        if state.model is None or not self.summaries & {"activations", "image_result"}:
            return
        self._outputs.clear()
        self._last_output = None
        for name, module in state.model.named_modules():
            if name and not any(True for _ in module.children()):
                self._handles.append(module.register_forward_hook(self._capture(name)))

    def after_step(self, state: LoopState) -> None:
        """On a summary step only: write the requested summaries at ``state.global_step``."""
        self._remove_handles()
        step = state.global_step
        run, wanted = self.run, self.summaries
        if "loss" in wanted and state.loss is not None:
            run.add_scalar("summaries/loss", state.loss_value, step)
        if "learning_rate" in wanted and state.learning_rate is not None:
            run.add_scalar("summaries/learning_rate", float(state.learning_rate), step)
        if state.model is not None and wanted & {"gradients", "variables"}:
            self._parameters(state.model, step)
        if "activations" in wanted:
            for name, output in self._outputs.items():
                run.add_histogram(f"activations/{name}", output, step, bins=self.bins)
        if "image_input" in wanted:
            self._write_images("image_input", _images(state.features), step)
        if "image_result" in wanted:
            self._write_images("image_result", _images(self._last_output), step)
        self._outputs.clear()
        self._last_output = None

    def end(self, state: LoopState) -> None:
        """Remove capture hooks left by a loop that stopped between the two phases."""
        self._remove_handles()

    # ---------------------------------------------------------------- helpers
    def _capture(self, name: str) -> Any:
        key = name.replace(".", "/")

        def hook(module: Any, inputs: Any, output: Any) -> None:
            tensor = _first_tensor(output)
            if tensor is None:
                return
            tensor = tensor.detach()
            self._outputs.setdefault(key, tensor)
            self._last_output = tensor

        return hook

    def _remove_handles(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _parameters(self, model: torch.nn.Module, step: int) -> None:
        norms = []
        for name, parameter in model.named_parameters():
            key = name.replace(".", "/")
            if "variables" in self.summaries:
                self.run.add_histogram(f"variables/{key}", parameter, step, bins=self.bins)
            if "gradients" in self.summaries and parameter.grad is not None:
                gradient = parameter.grad.detach()
                norms.append(torch.linalg.vector_norm(gradient.float()))
                self.run.add_histogram(f"gradients/{key}", gradient, step, bins=self.bins)
        if norms:
            norm = float(torch.linalg.vector_norm(torch.stack(norms)))
            self.run.add_scalar("summaries/gradient_norm", norm, step)

    def _write_images(self, tag: str, images: torch.Tensor | None, step: int) -> None:
        if images is None:
            return
        for index in range(min(self.max_images, images.shape[0])):
            self.run.add_image(f"{tag}/{index}", images[index].float().cpu(), step)
