"""Choosing credentials: candidate filtering, the scheduler plugin's pick, built-in fill-first and round-robin
selectors, cooldowns, and state that several replicas can share through Redis."""

from pluginkit.scheduling._credentials import Credential, candidates_for
from pluginkit.scheduling._scheduler import BUILTINS, Pick, Scheduler
from pluginkit.scheduling._state import MemoryState, RedisState, SchedulerState

__all__ = [
    "BUILTINS",
    "Credential",
    "MemoryState",
    "Pick",
    "RedisState",
    "Scheduler",
    "SchedulerState",
    "candidates_for",
]
