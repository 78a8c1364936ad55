"""(being written: see igautopost.api.dashboard)"""

from __future__ import annotations

from fastapi import APIRouter


def register(routes: APIRouter) -> None:
    """Add this page's routes."""
