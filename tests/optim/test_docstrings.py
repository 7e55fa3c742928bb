"""The examples in the optimizer docstrings run and print what they say.

(The objectives' examples run in tests/test_docstring_examples.py, with the rest of
``workbench.problems``.)
"""
import doctest
import importlib
import pkgutil

import pytest

import workbench.optim

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules():
    return [info.name for info in pkgutil.walk_packages(workbench.optim.__path__, prefix="workbench.optim.")]


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS)
    assert result.failed == 0


def test_the_examples_exist():
    finder = doctest.DocTestFinder()
    attempted = sum(len(t.examples) for name in _modules() for t in finder.find(importlib.import_module(name)))
    assert attempted >= 20  # GD, heavy ball, Nesterov, normalized GD, perceptron, Adam, DoG
