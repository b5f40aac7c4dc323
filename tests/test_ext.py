"""The native bridge rejects every unsafe input before it reaches a kernel."""

import pytest
import torch

from r3d._native import core, mesh_normals, packed_padded
from r3d.errors import InputError, NativeError


def test_module_imports_and_reports_cuda():
    # fails when the tests import an r3d source tree that has no built module next to it
    assert core._C is not None, f"r3d._C did not import: {core._IMPORT_ERROR}"
    assert isinstance(core.built_with_cuda(), bool)
    assert core.cuda_device_count() >= 0
    if not torch.cuda.is_available():
        assert core.cuda_device_count() == 0


def test_noncontiguous_is_rejected():
    verts = torch.zeros(3, 6)[:, ::2]
    with pytest.raises(InputError, match="verts must be contiguous"):
        mesh_normals.face_areas_normals_forward(verts, torch.tensor([[0, 1, 2]]), 1e-6)
    faces = torch.tensor([[0, 1, 2, 0, 1, 2]])[:, ::2]
    with pytest.raises(InputError, match="faces must be contiguous"):
        mesh_normals.face_areas_normals_forward(torch.zeros(3, 3), faces, 1e-6)


def test_wrong_dtype_and_device_are_rejected():
    with pytest.raises(InputError, match="float32 or float64, got torch.float16"):
        mesh_normals.face_areas_normals_forward(torch.zeros(3, 3, dtype=torch.float16),
                                        torch.tensor([[0, 1, 2]]), 1e-6)
    with pytest.raises(InputError, match="faces must have dtype torch.int64"):
        mesh_normals.face_areas_normals_forward(torch.zeros(3, 3), torch.tensor([[0, 1, 2]],
                                        dtype=torch.int32), 1e-6)
    with pytest.raises(InputError, match="must be on cpu"):
        faces = torch.zeros(1, 3, dtype=torch.int64, device="meta")
        mesh_normals.face_areas_normals_forward(torch.zeros(3, 3), faces, 1e-6)
    with pytest.raises(NativeError, match="no native kernel for device meta"):
        packed_padded.packed_to_padded(torch.zeros(3, 3, device="meta"), torch.tensor([0]), 3)


def test_out_of_range_and_bad_shapes_are_rejected():
    with pytest.raises(InputError, match=r"values in \[0, 3\], expected them in \[0, 2\]"):
        mesh_normals.face_areas_normals_forward(torch.zeros(3, 3), torch.tensor([[0, 1, 3]]), 1e-6)
    with pytest.raises(InputError, match=r"grad_normals must have shape \(1, 3\)"):
        mesh_normals.face_areas_normals_backward(torch.zeros(3, 3), torch.tensor([[0, 1, 2]]),
                                         torch.zeros(1), torch.zeros(2, 3), 1e-6)
    with pytest.raises(InputError, match=r"inputs must have shape \(\*, \*, \*\)"):
        packed_padded.padded_to_packed(torch.zeros(3, 3), torch.tensor([0]), 3)


def test_cuda_launcher_fails_cleanly_without_gpu():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from r3d import _C
    # a launch with no device must raise, not crash the interpreter
    match = "r3d native kernel failed" if _C.with_cuda else "built without CUDA"
    with pytest.raises(RuntimeError, match=match):
        _C.cuda_set_device(0)
    with pytest.raises(RuntimeError, match=match):
        _C.packed_padded_cuda("float32", 0, 0, 0, 1, 1, 1, 1, True, 0.0, 0)
