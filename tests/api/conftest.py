"""Fixtures for tests/api; they live in apitest.py, which tests import by its own name (two
conftest modules would shadow each other in sys.modules)."""

from apitest import *  # noqa: F403
