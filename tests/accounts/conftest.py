"""Fixtures for tests/accounts; they live in accountstest.py, which tests import by its own name (two
conftest modules would shadow each other in sys.modules)."""

from accountstest import *  # noqa: F403
