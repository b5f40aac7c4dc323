"""Learning-rate schedules shared by fits and trainings."""

from __future__ import annotations

import math


def cosine_decay(iteration: int, total: int, final: float) -> float:
    """A multiplier falling from 1 at iteration 0 to ``final`` at ``total`` along a half
    cosine."""
    return final + (1 - final) * 0.5 * (1 + math.cos(math.pi * iteration / max(total, 1)))
