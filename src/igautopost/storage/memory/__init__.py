"""The in-memory `Store` (tests, examples, experiments): `InMemoryStore` and its accounts."""

from .accounts import InMemoryAccountStore
from .store import InMemoryStore

__all__ = ["InMemoryAccountStore", "InMemoryStore"]
