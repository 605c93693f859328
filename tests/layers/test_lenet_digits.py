"""End to end: a small LeNet written as a SubGraph definition learns sklearn's digits."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits

import petri.layers as L

LENET = [
    ("Conv2d", {"num_filter": 8, "filter_size": 3, "activation": "relu"}),
    ("MaxPool2d", {"kernel_size": 2}),
    ("Conv2d", {"num_filter": 16, "filter_size": 3, "activation": "relu"}),
    ("MaxPool2d", {"kernel_size": 2}),
    ("FullyConnected", {"num_units": 32, "activation": "tanh"}),
    ("FullyConnected", {"num_units": 10}),
]


def test_lenet_subgraph_learns_digits() -> None:
    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # [N, 1, 8, 8]
    y = torch.tensor(digits.target)

    net = L.SubGraph(LENET)
    net(x[:2])  # build the lazy layers before handing their parameters to the optimizer
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    generator = torch.Generator().manual_seed(0)
    net.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains faster on one thread, even on a busy host
    try:
        for _ in range(200):
            batch = torch.randint(0, len(x), (64,), generator=generator)
            loss = torch.nn.functional.cross_entropy(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)

    net.eval()
    with torch.no_grad():
        accuracy = (net(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.9
