"""PyTorch3D's ``pytorch3d.renderer.utils`` names: ``TensorProperties`` (defined in
:mod:`r3d.renderer.properties`)."""

from r3d.renderer.properties import TensorAccessor, TensorProperties

__all__ = ["TensorAccessor", "TensorProperties"]
