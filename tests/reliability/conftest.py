"""Fixtures for tests/reliability; they live in reliabilitytest.py, which tests import by its
own name (two conftest modules would shadow each other in sys.modules)."""

from reliabilitytest import make_world  # noqa: F401
