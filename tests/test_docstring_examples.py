"""The examples in the docstrings run and print what they claim."""
import doctest
import importlib
import pkgutil

import pytest

import workbench

PACKAGES = ["workbench.core", "workbench.problems", "workbench.linear", "workbench.sketching", "workbench.tuning",
            "workbench.dfo", "workbench.fixedpoint", "workbench.bilevel"]


def _modules():
    for pkg_name in PACKAGES:
        pkg = importlib.import_module(pkg_name)
        yield pkg_name
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg_name + "."):
            yield info.name


@pytest.mark.parametrize("module_name", sorted(set(_modules())))
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"


def test_the_examples_exist():
    attempted = sum(
        doctest.testmod(importlib.import_module(m), optionflags=doctest.ELLIPSIS).attempted for m in set(_modules())
    )
    assert attempted >= 40  # the numpydoc examples of the core, the gallery and the linear solvers
