"""The examples in the optimizer and objective docstrings run and print what they say."""
import doctest
import importlib
import pkgutil

import pytest

import workbench.optim
import workbench.problems.objectives


def _modules():
    for pkg in (workbench.optim, workbench.problems.objectives):
        for info in pkgutil.iter_modules(pkg.__path__):
            yield f"{pkg.__name__}.{info.name}"


@pytest.mark.parametrize("name", sorted(_modules()))
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
