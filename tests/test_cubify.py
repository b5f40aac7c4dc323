import pytest
import torch

from r3d.errors import InputError
from r3d.ops import cubify


def closed_and_outward(verts, faces):
    """Every undirected edge in two faces, every directed edge once; the enclosed volume."""
    directed = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    und = torch.unique(directed.sort(1).values, dim=0, return_counts=True)[1]
    dirc = torch.unique(directed, dim=0, return_counts=True)[1]
    a, b, c = verts[faces].unbind(1)
    volume = float((a * torch.cross(b, c, dim=1)).sum() / 6)
    return bool((und == 2).all() and (dirc == 1).all()), volume


def test_single_voxel_is_a_cube():
    vox = torch.zeros(1, 3, 3, 3)
    vox[0, 1, 1, 1] = 1.0
    mesh = cubify(vox, 0.5)
    verts, faces = mesh.verts_list()[0], mesh.faces_list()[0]
    assert verts.shape == (8, 3) and faces.shape == (12, 3)
    closed, volume = closed_and_outward(verts, faces)
    assert closed and volume == pytest.approx(1.0)  # topleft: voxel 1 of 3 spans [0, 1]
    assert verts.min(0).values.tolist() == [0, 0, 0] and verts.max(0).values.tolist() == [1, 1, 1]


def test_adjacent_voxels_share_a_side_which_is_removed():
    vox = torch.zeros(1, 2, 2, 3)
    vox[0, 0, 0, 0] = vox[0, 0, 0, 1] = 1.0  # neighbours along x (w)
    mesh = cubify(vox, 0.5, align="corner")
    verts, faces = mesh.verts_list()[0], mesh.faces_list()[0]
    assert verts.shape == (12, 3) and faces.shape == (20, 3)
    closed, volume = closed_and_outward(verts, faces)
    assert closed and volume == pytest.approx(2 * (2 / 3) * 1 * 1)
    assert len(torch.unique(verts, dim=0)) == 12  # vertices are shared, not duplicated


@pytest.mark.parametrize("align,lo,hi", [
    # (x, y, z) along (W, H, D) = (4, 3, 2): topleft / center steps 2/3, 1, 2
    ("topleft", [-1, -1, -1], [5 / 3, 2, 3]),
    ("corner", [-1, -1, -1], [1, 1, 1]),
    ("center", [-4 / 3, -1.5, -2], [4 / 3, 1.5, 2]),
])
def test_alignments(align, lo, hi):
    vox = torch.ones(1, 2, 3, 4)
    verts = cubify(vox, 0.5, align=align).verts_list()[0]
    torch.testing.assert_close(verts.min(0).values, torch.tensor(lo, dtype=torch.float32))
    torch.testing.assert_close(verts.max(0).values, torch.tensor(hi, dtype=torch.float32))
    assert len(verts) == 5 * 4 * 3 - 3 * 2 * 1  # the corner lattice minus its interior points


def test_batch_threshold_and_features():
    g = torch.Generator().manual_seed(0)
    vox = torch.rand(3, 4, 4, 4, generator=g)
    vox[1] = 0.0
    meshes = cubify(vox, 0.6)
    assert len(meshes) == 3 and int(meshes.num_faces_per_mesh()[1]) == 0
    for i in (0, 2):
        _, volume = closed_and_outward(meshes.verts_list()[i], meshes.faces_list()[i])
        assert volume == pytest.approx(float((vox[i] >= 0.6).sum()) * (2 / 3) ** 3, rel=1e-5)
    feats = torch.rand(3, 2, 4, 4, 4, generator=g)
    tex = cubify(vox, 0.6, feats=feats, align="center").textures
    atlas = tex.atlas_list()
    assert [a.shape[0] for a in atlas] == meshes.num_faces_per_mesh().tolist()
    assert atlas[0].shape[1:] == (1, 1, 2)
    assert cubify(vox.double(), 0.6, device="cpu").verts_list()[0].dtype == torch.float32


def test_invalid_inputs():
    with pytest.raises(InputError, match="voxels must be"):
        cubify(torch.zeros(2, 2, 2), 0.5)
    with pytest.raises(InputError, match="align must be one of"):
        cubify(torch.zeros(1, 2, 2, 2), 0.5, align="middle")
    with pytest.raises(InputError, match="feats are supported only with align='center'"):
        cubify(torch.zeros(1, 2, 2, 2), 0.5, feats=torch.zeros(1, 3, 2, 2, 2))
    with pytest.raises(InputError, match="feats must have shape"):
        cubify(torch.zeros(1, 2, 2, 2), 0.5, feats=torch.zeros(1, 3, 2, 2), align="center")
