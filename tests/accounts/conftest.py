"""Fixtures for tests/accounts. They live in accountstest.py, which the tests import by
its own name: two conftest modules would shadow each other in sys.modules."""

from accountstest import *  # noqa: F403
