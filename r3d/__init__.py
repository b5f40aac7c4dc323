"""r3d: batched meshes and point clouds, differentiable operators and rendering for PyTorch."""

from r3d.errors import R3DWarning

__version__ = "0.1.0"

__all__ = ["R3DWarning", "__version__"]
