"""The examples in the data modules' docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "petri.data.records.example",
    "petri.data.records.tfrecord",
    "petri.data.converters",
    "petri.data.input_fn",
    "petri.data.pipelines.tfrecord",
    "petri.data.pipelines.tfrecord_image",
]


@pytest.mark.slow
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
