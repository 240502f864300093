"""The shape every controller shares: reconcile(view, memory) -> Decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from godseye.control.actions import Action

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class Decision(Generic[M]):
    """A controller's new memory, what it asks for, and when it wants to run again at the latest."""

    memory: M
    actions: tuple[Action, ...] = ()
    requeue_after_s: float | None = None


@dataclass(frozen=True, slots=True)
class Emitted:
    """An action as the plane hands it to a driver: when, and which controller asked for it."""

    t_s: float
    actor: str
    action: Action
