"""``clip_embed_gradients``: each embedding table's gradient is clipped to that norm (seed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from petri.data import numpy_input_fn
from petri.estimators import Estimator
from petri.models import Classifier


def _embedding_gradient_norm(tmp_path, clip_embed: float | None) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 50, size=(64, 6)).astype(np.int64)
    labels = (ids[:, 0] % 2).astype(np.int64)
    torch.manual_seed(0)  # the same initial weights in both runs
    model = Classifier(
        graph_fn=[
            ["Embedding", {"input_dim": 50, "output_dim": 16, "weights_init": "normal"}],
            ["Flatten", {}],
            ["FullyConnected", {"num_units": 2}],
        ],
        n_classes=2,
        loss_config="softmax_cross_entropy",
        optimizer_config={"name": "sgd", "learning_rate": 1e-9},  # ~no change: read the grads
        clip_gradients=None,
        clip_embed_gradients=clip_embed,
    )
    estimator = Estimator(model, model_dir=tmp_path / str(clip_embed), config={"seed": 0})
    estimator.train(numpy_input_fn(ids, labels, batch_size=64, shuffle=False), steps=1)
    grads = {name: p.grad for name, p in estimator.model.named_parameters()}
    table = next(g for name, g in grads.items() if "embedding" in name.lower())
    dense = next(g for name, g in grads.items() if "embedding" not in name.lower())
    return float(table.norm()), float(dense.norm())


def test_embedding_gradients_are_clipped_to_the_norm(tmp_path):
    free_table, free_dense = _embedding_gradient_norm(tmp_path, None)
    clipped_table, clipped_dense = _embedding_gradient_norm(tmp_path, 0.01)
    assert free_table > 0.01  # so the clip has something to do
    assert clipped_table == pytest.approx(0.01, rel=1e-4)
    assert clipped_dense == pytest.approx(free_dense)  # other parameters untouched


def test_torch_embedding_modules_are_clipped_too(tmp_path):
    from petri.layers.embedding import embedding_tables

    net = torch.nn.Sequential(torch.nn.Embedding(5, 3), torch.nn.Linear(3, 1))
    frozen = torch.nn.Embedding(5, 3)
    frozen.weight.requires_grad_(False)
    net.append(frozen)
    assert embedding_tables(net) == [net[0].weight]
