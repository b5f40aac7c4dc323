"""The native bridge: ``r3d._C`` loaded once (:mod:`r3d._native.core`) and one bridge module per
op family (``knn``, ``rasterize_meshes``, ...), each the only Python code that calls that family's
launchers. Ops choose between a bridge and their pure-PyTorch twin with :func:`use_native`."""

from r3d._native.core import built_with_cuda, cuda_device_count, has_native, torch_only, use_native

__all__ = ["built_with_cuda", "cuda_device_count", "has_native", "torch_only", "use_native"]
