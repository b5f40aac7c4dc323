"""Frames of a fit: the bounding sphere of points, and points moved into it and back.

A frame is ``(centre (3,), scale)``: a point ``p`` of the normalised frame is
``centre + scale * p`` in the frame it was taken from.
"""

from __future__ import annotations

import torch

__all__ = ["Frame", "bounding_sphere", "from_frame", "normalised"]

Frame = tuple[torch.Tensor, float]  # (centre (3,), scale)


def bounding_sphere(points: torch.Tensor) -> Frame:
    """(centre (3,), radius) of (P, 3) points: the centre of their bounding box and the largest
    distance from it (at least 1e-12)."""
    centre = (points.amin(0) + points.amax(0)) / 2
    return centre, float((points - centre).norm(dim=1).max().clamp(min=1e-12))


def normalised(points: torch.Tensor) -> tuple[torch.Tensor, Frame]:
    """(P, 3) points centred on their bounding box and scaled into the unit sphere, and the
    frame they came from."""
    centre, scale = bounding_sphere(points)
    return (points - centre) / scale, (centre, scale)


def from_frame(points: torch.Tensor, frame: Frame | None) -> torch.Tensor:
    """(..., 3) points of a normalised frame in the frame it was taken from (as they are for
    None)."""
    if frame is None:
        return points
    centre, scale = frame
    return centre.to(points) + scale * points
