"""What the commands of one run share: the settings, the store (opened on first use), the
local zone and the clock. The root callback (`app.py`) puts a `State` in Typer's context;
a command reads it back with `state_of(ctx)`.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from igautopost import Settings, SqlStore


class State:
    """One run's settings and store. Nothing is read or opened until a command asks: `--help`
    and the commands that work on a server never touch the database."""

    @cached_property
    def settings(self) -> Settings:
        from igautopost import Settings

        return Settings()

    @cached_property
    def store(self) -> SqlStore:
        from igautopost import services

        return services.open_store(self.settings)

    @cached_property
    def zone(self) -> ZoneInfo:
        """The zone naive times are read in (igautopost.zones: the one rule everywhere)."""
        from igautopost.zones import default_zone

        return default_zone(self.settings.timezone)

    def zone_notice(self) -> str:
        """The line that says which zone naive times were read in, and why that one."""
        from .timeinput import zone_notice

        return zone_notice(self.zone, self.settings.timezone)

    def now(self) -> datetime:
        from igautopost import SystemClock

        return SystemClock().now()

    def close(self) -> None:
        """Close the store, if this run opened it."""
        if "store" in self.__dict__:
            self.store.close()


def state_of(ctx: typer.Context) -> State:
    """The run's state, which the root callback put in the context (sub-commands inherit it)."""
    return ctx.ensure_object(State)
