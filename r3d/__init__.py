"""r3d: batched meshes and point clouds, differentiable operators and rendering for PyTorch."""

__version__ = "0.1.0"
