"""TF 'same'/'valid' padding of convolutions, pools and transposed convolutions."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import petri.layers as L


def tf_output_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    effective = (kernel - 1) * dilation + 1
    if padding == "same":
        return math.ceil(size / stride)
    return math.ceil((size - effective + 1) / stride)


def tf_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF's 'same' padding, written out independently of petri.layers._padding."""
    effective = (kernel - 1) * dilation + 1
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


COMBOS = [
    (size, kernel, stride, dilation)
    for size, kernel, stride, dilation in itertools.product(
        (5, 6, 7, 8), (1, 2, 3, 4, 5), (1, 2, 3), (1, 2)
    )
    if (kernel - 1) * dilation + 1 <= size
]


@pytest.mark.parametrize("padding", ["SAME", "valid"])
@pytest.mark.parametrize(("size", "kernel", "stride", "dilation"), COMBOS)
def test_conv2d_output_size_and_values_follow_tf(
    size: int, kernel: int, stride: int, dilation: int, padding: str
) -> None:
    torch.manual_seed(0)
    layer = L.Conv2d(
        num_filter=2, filter_size=kernel, strides=stride, dilation_rate=dilation, padding=padding
    )
    x = torch.randn(1, 2, size, size + 1)
    out = layer(x)
    mode = padding.lower()
    expected_shape = (
        1,
        2,
        tf_output_size(size, kernel, stride, dilation, mode),
        tf_output_size(size + 1, kernel, stride, dilation, mode),
    )
    assert tuple(out.shape) == expected_shape

    if mode == "same":
        (top, bottom), (left, right) = (
            tf_pads(size, kernel, stride, dilation),
            tf_pads(size + 1, kernel, stride, dilation),
        )
        x = F.pad(x, [left, right, top, bottom])
    reference = F.conv2d(x, layer.weight, layer.bias, stride, 0, dilation)
    torch.testing.assert_close(out, reference)


@pytest.mark.parametrize("kernel", [2, 3, 4, 5])
def test_stride_one_same_matches_torch_same(kernel: int) -> None:
    layer = L.Conv1d(num_filter=3, filter_size=kernel)
    x = torch.randn(2, 2, 9)
    out = layer(x)
    with warnings.catch_warnings():  # torch notes the extra copy it makes for even kernels
        warnings.simplefilter("ignore", UserWarning)
        reference = F.conv1d(x, layer.weight, layer.bias, padding="same")
    torch.testing.assert_close(out, reference)


@pytest.mark.parametrize(
    ("size", "kernel", "stride"), [(5, 2, 1), (6, 3, 2), (7, 2, 2), (9, 3, 3)]
)
def test_conv3d_and_conv1d_same_sizes(size: int, kernel: int, stride: int) -> None:
    out3 = L.Conv3d(num_filter=1, filter_size=kernel, strides=stride)(
        torch.randn(1, 1, size, 4, 5)
    )
    assert tuple(out3.shape[2:]) == tuple(math.ceil(n / stride) for n in (size, 4, 5))
    out1 = L.Conv1d(num_filter=1, filter_size=kernel, strides=stride)(torch.randn(1, 1, size))
    assert out1.shape[2] == math.ceil(size / stride)


def _pool_reference(x: np.ndarray, kernel: int, stride: int, padding: str, reduce) -> np.ndarray:
    """Plain-loop pooling over the real (unpadded) elements of each TF window."""
    n, c, h, w = x.shape
    (top, _), (left, _) = (
        ((0, 0), (0, 0))
        if padding == "valid"
        else (tf_pads(h, kernel, stride), tf_pads(w, kernel, stride))
    )
    out_h = tf_output_size(h, kernel, stride, 1, padding)
    out_w = tf_output_size(w, kernel, stride, 1, padding)
    out = np.empty((n, c, out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            r0, c0 = i * stride - top, j * stride - left
            rows = slice(max(r0, 0), min(r0 + kernel, h))
            cols = slice(max(c0, 0), min(c0 + kernel, w))
            out[:, :, i, j] = reduce(x[:, :, rows, cols], axis=(2, 3))
    return out


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize(
    ("size", "kernel", "stride"), [(7, 2, 2), (8, 3, 2), (6, 2, 1), (9, 3, 3), (5, 4, 1)]
)
@pytest.mark.parametrize(("layer", "reduce"), [(L.MaxPool2d, np.max), (L.AvgPool2d, np.mean)])
def test_pools_follow_tf(layer, reduce, size: int, kernel: int, stride: int, padding: str) -> None:
    x = torch.randn(2, 3, size, size + 2)
    out = layer(kernel_size=kernel, strides=stride, padding=padding)(x)
    expected = _pool_reference(x.numpy(), kernel, stride, padding, reduce)
    torch.testing.assert_close(out, torch.from_numpy(expected))


def test_pool_strides_default_to_kernel_size() -> None:
    assert L.MaxPool2d(kernel_size=3).strides == (3, 3)
    assert L.AvgPool1d(kernel_size=2, strides=1).strides == (1,)
    out = L.AvgPool1d(kernel_size=2)(torch.arange(5.0).reshape(1, 1, 5))
    torch.testing.assert_close(out, torch.tensor([[[0.5, 2.5, 4.0]]]))


TRANSPOSE_COMBOS = [
    (size, kernel, stride, padding)
    for size, kernel, stride, padding in itertools.product(
        (4, 5, 7), (1, 2, 3, 4, 5), (1, 2, 3), ("same", "valid")
    )
    if kernel <= size
]


@pytest.mark.parametrize(("size", "kernel", "stride", "padding"), TRANSPOSE_COMBOS)
def test_conv2d_transpose_is_the_adjoint_of_conv2d(
    size: int, kernel: int, stride: int, padding: str
) -> None:
    """TF's conv2d_transpose is the gradient of conv2d: <conv(x), y> == <x, conv_t(y)>."""
    torch.manual_seed(0)
    conv = L.Conv2d(num_filter=3, filter_size=kernel, strides=stride, padding=padding, bias=False)
    x = torch.randn(2, 2, size, size + 1, dtype=torch.float64)
    conv.double()
    y_shape = conv(x).shape
    transpose = L.Conv2dTranspose(
        num_filter=2,
        filter_size=kernel,
        strides=stride,
        padding=padding,
        output_shape=list(x.shape[2:]),
        bias=False,
    ).double()
    y = torch.randn(y_shape, dtype=torch.float64)
    transpose(y)
    with torch.no_grad():
        transpose.weight.copy_(conv.weight)  # [C_out, C_in, k, k] is conv_transpose's layout too
        back = transpose(y)
    assert back.shape == x.shape
    torch.testing.assert_close((conv(x) * y).sum(), (x * back).sum())


@pytest.mark.parametrize(
    ("size", "kernel", "stride"), [(5, 3, 2), (4, 4, 2), (3, 1, 3), (6, 5, 1)]
)
def test_conv2d_transpose_default_output_sizes(size: int, kernel: int, stride: int) -> None:
    x = torch.randn(1, 3, size, size)
    same = L.Conv2dTranspose(num_filter=2, filter_size=kernel, strides=stride)(x)
    assert same.shape == (1, 2, size * stride, size * stride)
    valid = L.Conv2dTranspose(num_filter=2, filter_size=kernel, strides=stride, padding="valid")(x)
    assert valid.shape[2] == (size - 1) * stride + kernel


def test_conv2d_transpose_output_shape_forms_and_errors() -> None:
    x = torch.randn(1, 3, 4, 4)
    for shape in ([7, 8], [2, 7, 8], [7, 8, 2]):
        assert L.Conv2dTranspose(num_filter=2, filter_size=3, strides=2, output_shape=shape)(
            x
        ).shape == (1, 2, 7, 8)
    layer = L.Conv2dTranspose(num_filter=2, filter_size=3, strides=2, output_shape=[12, 12])
    with pytest.raises(ValueError, match="output_shape"):
        layer(x)
    with pytest.raises(ValueError, match="output_shape to hold 2 spatial sizes"):
        L.Conv2dTranspose(num_filter=2, filter_size=3, output_shape=[1, 2, 3, 4])


def test_conv_padding_is_settled_at_construction() -> None:
    odd = L.Conv2d(num_filter=1, filter_size=3)
    assert odd._padding == (1, 1) and odd._pad is None and odd._same is None
    even = L.Conv2d(num_filter=1, filter_size=(2, 3))
    assert even._padding == (0, 0) and even._pad == [1, 1, 0, 1]
    strided = L.Conv2d(num_filter=1, filter_size=3, strides=2)
    assert strided._same is not None
