"""Fixtures of the infra tests: every module of infra/ parsed once per test file (the root module,
modules/member, modules/team-exceptions and each example), by the keys of MODULE_DIRS."""

from __future__ import annotations

import pytest

from hcl_helpers import MODULE_DIRS, load_module


@pytest.fixture(scope="module")
def modules():
    return {key: load_module(directory) for key, directory in MODULE_DIRS.items()}


@pytest.fixture(scope="module")
def root(modules):
    return modules["root"]


@pytest.fixture(scope="module")
def member(modules):
    return modules["member"]
