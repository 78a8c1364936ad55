"""igautopost: schedule Instagram posts and publish them on time, exactly once.

>>> from datetime import UTC, datetime, timedelta
>>> import igautopost
>>> store = igautopost.open_store()                                     # doctest: +SKIP
>>> result = igautopost.schedule(store, [{"account": "17841400000000000",
...     "access_token": "EAAB...", "media_type": "image", "media_url": "https://example.com/a.jpg",
...     "publish_at": "2030-01-01T09:00:00+01:00"}], now=datetime.now(UTC))  # doctest: +SKIP

Names are imported on first use, so that ``import igautopost`` (and ``igautopost --help``)
stays fast and opens nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "CarouselItem": "models",
    "Event": "models",
    "MediaType": "models",
    "Post": "models",
    "PostError": "models",
    "PostSpec": "models",
    "Status": "models",
    "UserTag": "models",
    "IgAutopostError": "errors",
    "InvalidPost": "errors",
    "InvalidTransition": "errors",
    "PostNotFound": "errors",
    "Problem": "errors",
    "ConfigurationError": "errors",
    "Clock": "clock",
    "FakeClock": "clock",
    "SystemClock": "clock",
    "Settings": "config",
    "PostQuery": "storage",
    "SqlStore": "storage",
    "InMemoryStore": "storage",
    "Store": "storage",
    "TokenCipher": "crypto",
    "open_store": "services",
    "ScheduleResult": "posts",
    "cancel": "posts",
    "parse_posts": "posts",
    "reschedule": "posts",
    "retry": "posts",
    "edit": "edits",
    "Publisher": "engine.publisher",
    "EnginePolicy": "engine.policy",
    "LeadTimes": "engine.policy",
    "PollPolicy": "engine.policy",
    "RetryPolicy": "engine.policy",
    "LocalScheduler": "scheduler",
    "Scheduler": "scheduler",
    "Simulation": "engine.simulation",
    "GraphClient": "graph",
    "GraphError": "graph",
    "schedule": "posts",
    "next_occurrence": "recurrence",
    "MediaIntake": "media_intake",
}

__all__ = [
    "CarouselItem",
    "Clock",
    "ConfigurationError",
    "EnginePolicy",
    "Event",
    "FakeClock",
    "GraphClient",
    "GraphError",
    "IgAutopostError",
    "InMemoryStore",
    "InvalidPost",
    "InvalidTransition",
    "LeadTimes",
    "LocalScheduler",
    "MediaIntake",
    "MediaType",
    "PollPolicy",
    "Post",
    "PostError",
    "PostNotFound",
    "PostQuery",
    "PostSpec",
    "Problem",
    "Publisher",
    "RetryPolicy",
    "ScheduleResult",
    "Scheduler",
    "Settings",
    "Simulation",
    "SqlStore",
    "Status",
    "Store",
    "SystemClock",
    "TokenCipher",
    "UserTag",
    "cancel",
    "edit",
    "next_occurrence",
    "open_store",
    "parse_posts",
    "reschedule",
    "retry",
    "schedule",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from .clock import Clock, FakeClock, SystemClock
    from .config import Settings
    from .crypto import TokenCipher
    from .edits import edit
    from .engine.policy import EnginePolicy, LeadTimes, PollPolicy, RetryPolicy
    from .engine.publisher import Publisher
    from .engine.simulation import Simulation
    from .errors import (
        ConfigurationError,
        IgAutopostError,
        InvalidPost,
        InvalidTransition,
        PostNotFound,
        Problem,
    )
    from .graph import GraphClient, GraphError
    from .media_intake import MediaIntake
    from .models import CarouselItem, Event, MediaType, Post, PostError, PostSpec, Status, UserTag
    from .posts import ScheduleResult, cancel, parse_posts, reschedule, retry, schedule
    from .recurrence import next_occurrence
    from .scheduler import LocalScheduler, Scheduler
    from .services import open_store
    from .storage import InMemoryStore, PostQuery, SqlStore, Store
