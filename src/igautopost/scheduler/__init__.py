"""Schedulers decide when to run publishing steps: `LocalScheduler` in-process (default)."""

from .base import Scheduler, SchedulerHealth
from .local import LocalScheduler

__all__ = ["LocalScheduler", "Scheduler", "SchedulerHealth"]
