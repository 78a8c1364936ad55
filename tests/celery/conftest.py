"""Celery fixtures: a cluster on the real PostgreSQL and Redis (see tests/services.py). They
live in cluster.py, which tests import by its own name (two conftest modules would shadow
each other in sys.modules)."""

from cluster import make_cluster  # noqa: F401
