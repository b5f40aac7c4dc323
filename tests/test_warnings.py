"""r3d's warnings in library use: Python warnings of r3d's own category (R3DWarning, a
UserWarning), a file's naming its path and line, raised at the caller's line, silenced or made
errors by the usual filters."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest
import torch

import r3d
from r3d.errors import FileWarning, R3DDeprecationWarning, R3DWarning
from r3d.io import IO, load_obj
from r3d.ops import corresponding_points_alignment
from r3d.transforms import so3_exponential_map

SKIPPED_FACE = "face with 2 corner(s) skipped (a face needs 3)"


@pytest.fixture
def two_corner_face(tmp_path) -> Path:
    """An OBJ whose line 5 is a face of 2 corners (skipped with a warning)."""
    path = tmp_path / "scan.obj"
    path.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nf 1 2\n")
    return path


def test_r3d_warning_is_a_user_warning_exported_from_r3d():
    assert r3d.R3DWarning is R3DWarning
    assert issubclass(R3DWarning, UserWarning)
    assert issubclass(FileWarning, R3DWarning)
    assert issubclass(R3DDeprecationWarning, R3DWarning)
    assert issubclass(R3DDeprecationWarning, PendingDeprecationWarning)


def test_a_loader_warning_names_the_file_and_line_at_the_callers_line(two_corner_face):
    with pytest.warns(r3d.R3DWarning) as record:
        load_obj(two_corner_face)
    [warning] = record
    assert warning.category is FileWarning
    assert warning.message.path == str(two_corner_face)
    assert warning.message.line == 5
    assert warning.message.reason == SKIPPED_FACE
    assert str(warning.message) == f"{two_corner_face}:5: {SKIPPED_FACE}"
    assert warning.filename == __file__  # this test's line, not r3d's


def test_io_load_mesh_warns_once_at_the_callers_line(two_corner_face):
    # file_has_faces' look at the file says nothing: the load that follows warns
    io = IO()
    with pytest.warns(FileWarning) as record:
        assert io.file_has_faces(two_corner_face)
        io.load_mesh(two_corner_face)
    assert [str(w.message) for w in record] == [f"{two_corner_face}:5: {SKIPPED_FACE}"]
    assert record[0].filename == __file__


def test_a_warning_without_a_file_is_raised_at_the_callers_line():
    X = torch.rand(1, 2, 3)
    with pytest.warns(R3DWarning, match="rotation is not unique") as record:
        corresponding_points_alignment(X, X)
    assert record[0].category is R3DWarning
    assert record[0].filename == __file__


def test_filtering_r3d_warning_silences_them(two_corner_face):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=r3d.R3DWarning)
        load_obj(two_corner_face)
    assert record == []


def test_error_filter_raises_the_file_warning(two_corner_face):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=r3d.R3DWarning)
        with pytest.raises(FileWarning) as info:
            load_obj(two_corner_face)
    assert (info.value.path, info.value.line) == (str(two_corner_face), 5)


def test_pytorch3d_aliases_warn_pending_deprecation_as_pytorch3d():
    with pytest.warns(PendingDeprecationWarning, match="so3_exp_map") as record:
        so3_exponential_map(torch.zeros(1, 3))
    assert record[0].category is R3DDeprecationWarning
    assert record[0].filename == __file__


def test_every_warning_goes_through_r3d_errors_warn():
    """r3d raises warnings only through r3d.errors.warn (its category, the user's line)."""
    root = Path(r3d.__file__).parent
    direct = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "warn" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "warnings"):
                direct.append(f"{path.relative_to(root)}:{node.lineno}")
    assert len(direct) == 1 and direct[0].startswith("errors.py:"), direct
