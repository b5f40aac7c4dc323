"""Rendering meshes end to end: rasteriser with cameras, shaders, renderer, anti-aliasing."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from r3d.errors import InputError
from r3d.io import load_objs_as_meshes
from r3d.renderer import (
    AmbientLights,
    BlendParams,
    DepthShader,
    DirectionalLights,
    FoVPerspectiveCameras,
    HardFlatShader,
    HardGouraudShader,
    HardPhongShader,
    Materials,
    MeshRasterizer,
    MeshRenderer,
    MeshRendererWithFragments,
    NormalShader,
    PointLights,
    RasterizationSettings,
    SilhouetteShader,
    SoftGouraudShader,
    SoftPhongShader,
    SoftSilhouetteShader,
    TexturesUV,
    TexturesVertex,
    look_at_view_transform,
)
from r3d.structures import Meshes
from r3d.utils import ico_sphere

COW = Path(__file__).resolve().parents[1] / "r3d" / "assets" / "cow" / "cow.obj"
REFERENCE = Path(__file__).resolve().parent / "data" / "reference" / "cow_front_hard_phong_256.png"
DIST, FOV = 3.0, 60.0


def _cameras(dist=DIST, azim=0.0, device="cpu"):
    R, T = look_at_view_transform(dist, 0.0, azim)
    return FoVPerspectiveCameras(R=R, T=T, fov=FOV).to(device)


def _renderer(shader, size=64, antialias=1, device="cpu", **settings):
    cameras = _cameras()
    shader.cameras = cameras
    raster = RasterizationSettings(image_size=size, **settings)
    return MeshRenderer(MeshRasterizer(cameras, raster), shader, antialias=antialias).to(device)


def _sphere(level=3, color=(0.2, 0.6, 0.4), device="cpu"):
    mesh = ico_sphere(level)
    verts = mesh.verts_packed()
    tex = TexturesVertex([torch.tensor(color).expand(len(verts), 3)])
    return Meshes([verts], [mesh.faces_packed()], tex).to(device)


def _sphere_area_px(size: int) -> float:
    """Pixels inside the projected outline of the unit sphere seen from DIST."""
    r_ndc = math.tan(math.asin(1 / DIST)) / math.tan(math.radians(FOV) / 2)
    return math.pi * (r_ndc * size / 2) ** 2


def test_soft_silhouette_area_of_a_sphere(device):
    # sigma well below a pixel's squared size (in NDC) so that pixels near the inner edges of
    # the faces (several pixels wide) count as covered
    size, sigma = 128, 1e-5
    renderer = _renderer(SoftSilhouetteShader(blend_params=BlendParams(sigma=sigma)), size=size,
                         device=device, blur_radius=math.log(1 / 1e-4 - 1) * sigma,
                         faces_per_pixel=8)
    alpha = renderer(_sphere(3, device=device))[0, ..., 3]
    assert alpha.device.type == device
    assert float(alpha.sum()) == pytest.approx(_sphere_area_px(size), rel=0.02)
    assert float(alpha.max()) <= 1.0 and float(alpha.min()) >= 0.0


@pytest.mark.parametrize("shader", [HardPhongShader, HardGouraudShader, HardFlatShader])
def test_ambient_light_only_gives_the_texture_colour(shader, device):
    color = (0.2, 0.6, 0.4)
    bg = (0.0, 0.0, 1.0)
    renderer = _renderer(shader(lights=AmbientLights(), blend_params=BlendParams(
        background_color=bg)), device=device)
    image = renderer(_sphere(color=color, device=device))[0].cpu()
    covered = image[..., 3] == 1
    assert 0 < int(covered.sum()) < covered.numel()
    # exact up to float rounding of the barycentric weights (which sum to 1 within an ulp)
    torch.testing.assert_close(image[covered][:, :3], torch.tensor(color).expand(
        int(covered.sum()), 3), atol=1e-6, rtol=0)
    assert torch.equal(image[~covered][:, :3], torch.tensor(bg).expand(int((~covered).sum()), 3))


def test_soft_shaders_match_the_colour_inside(device):
    for shader in (SoftPhongShader, SoftGouraudShader):
        renderer = _renderer(shader(lights=AmbientLights()), device=device, faces_per_pixel=4)
        image = renderer(_sphere(device=device))[0].cpu()
        torch.testing.assert_close(image[32, 32, :3], torch.tensor([0.2, 0.6, 0.4]))
        torch.testing.assert_close(image[0, 0], torch.tensor([1.0, 1.0, 1.0, 0.0]))


def test_flat_shading_of_a_quad_by_hand(device):
    # a quad facing the camera; flat shading lights each face at its centroid
    verts = torch.tensor([[-1.0, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    color = torch.tensor([0.5, 0.25, 1.0])
    mesh = Meshes([verts], [faces], TexturesVertex([color.expand(4, 3)])).to(device)
    direction = torch.tensor([0.0, 1.0, 1.0])
    lights = DirectionalLights(ambient_color=[0.1] * 3, diffuse_color=[0.6] * 3,
                               specular_color=[0.3] * 3, direction=direction)
    materials = Materials(shininess=2)
    image = _renderer(HardFlatShader(lights=lights, materials=materials), size=32,
                      device=device)(mesh)[0].cpu()
    camera = torch.tensor([0.0, 0.0, DIST])
    n = torch.tensor([0.0, 0.0, 1.0])
    l_dir = direction / direction.norm()
    reflected = 2 * (n @ l_dir) * n - l_dir
    # pixel (row 10, col 16) lies in the upper face (0, 2, 3) whose centroid is (-1/3, 1/3, 0)
    for (row, col), centroid in (((10, 16), [-1 / 3, 1 / 3, 0]), ((22, 16), [1 / 3, -1 / 3, 0])):
        view = camera - torch.tensor(centroid)
        spec = 0.3 * max(0.0, float(view @ reflected / view.norm())) ** 2
        expected = (0.1 + 0.6 * float(n @ l_dir)) * color + spec
        torch.testing.assert_close(image[row, col, :3], expected)


def _cow_image(device="cpu") -> np.ndarray:
    mesh = load_objs_as_meshes([COW], device=device)
    R, T = look_at_view_transform(2.7, 0.0, 180.0)
    cameras = FoVPerspectiveCameras(R=R, T=T)
    renderer = MeshRenderer(
        MeshRasterizer(cameras, RasterizationSettings(image_size=256)),
        HardPhongShader(cameras=cameras, lights=PointLights(location=[[0.0, 0.0, -3.0]])),
    ).to(device)
    image = renderer(mesh)[0, ..., :3]
    return (image.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def test_textured_cow_matches_the_reference(device):
    """The cow from the front (face, pink muzzle, horns, black patches) on white."""
    image = _cow_image(device)
    if os.environ.get("R3D_WRITE_REFERENCE") and device == "cpu":
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(REFERENCE)
    reference = np.asarray(Image.open(REFERENCE).convert("RGB"))
    diff = np.abs(image.astype(np.float64) - reference) / 255
    assert diff.mean() < 2 / 255
    assert (diff.max(axis=-1) <= 8 / 255).mean() >= 0.99
    # the texture shows: many distinct colours, not one shaded colour
    assert len(np.unique(image.reshape(-1, 3) // 16, axis=0)) > 20


def test_gradients_reach_vertices_and_texture_maps(device):
    mesh = load_objs_as_meshes([COW], device=device)
    verts = mesh.verts_packed().clone().requires_grad_(True)
    tex = mesh.textures
    maps = tex.maps_list()[0].clone().requires_grad_(True)
    textures = TexturesUV([maps], tex.faces_uvs_list(), tex.verts_uvs_list())
    mesh = Meshes([verts], [mesh.faces_packed()], textures)
    blend = BlendParams(sigma=1e-4, gamma=1e-4)
    renderer = _renderer(SoftPhongShader(blend_params=blend), size=48, device=device,
                         faces_per_pixel=4, blur_radius=math.log(1 / 1e-4 - 1) * 1e-4)
    image = renderer(mesh, cameras=_cameras(2.7, 180.0, device))
    image.sum().backward()
    assert torch.isfinite(verts.grad).all() and verts.grad.abs().sum() > 0
    assert torch.isfinite(maps.grad).all() and maps.grad.abs().sum() > 0


def test_silhouette_gradient_reaches_vertices(device):
    mesh = ico_sphere(2, device=device)
    verts = mesh.verts_packed().clone().requires_grad_(True)
    renderer = _renderer(SoftSilhouetteShader(), size=32, device=device, faces_per_pixel=4,
                         blur_radius=math.log(1 / 1e-4 - 1) * 1e-4)
    alpha = renderer(Meshes([verts], [mesh.faces_packed()]))[..., 3]
    alpha.sum().backward()
    # growing the sphere grows the silhouette: the gradient points outwards
    assert float((verts.grad * verts.detach()).sum()) > 0


def test_antialias_gives_partial_edges_and_keeps_coverage(device):
    size, factor = 48, 4
    mesh = _sphere(device=device)
    hard = _renderer(SilhouetteShader(), size=size, device=device)(mesh)[0, ..., 0]
    fine = _renderer(SilhouetteShader(), size=size * factor, device=device)(mesh)[0, ..., 0]
    smooth = _renderer(SilhouetteShader(), size=size, antialias=factor,
                       device=device)(mesh)[0, ..., 0]
    assert smooth.shape == (size, size)
    assert set(hard.unique().tolist()) <= {0.0, 1.0}
    partial = (smooth > 0) & (smooth < 1)
    assert int(partial.sum()) > 40  # the outline
    assert float(smooth.mean()) == pytest.approx(float(fine.mean()), rel=1e-5)
    assert float(smooth.mean()) == pytest.approx(float(hard.mean()), rel=0.03)
    assert float(smooth.sum()) == pytest.approx(_sphere_area_px(size), rel=0.03)
    tent = MeshRenderer(_renderer(SilhouetteShader(), size=size, device=device).rasterizer,
                        SilhouetteShader(), antialias=factor,
                        antialias_filter="tent")(mesh)[0, ..., 0]
    assert float(tent.mean()) == pytest.approx(float(fine.mean()), rel=0.01)
    # hard colour renders: the alpha channel is the coverage
    rgba = _renderer(HardPhongShader(), size=size, antialias=factor, device=device)(mesh)[0]
    torch.testing.assert_close(rgba[..., 3], smooth)


def test_depth_and_normal_shaders(device):
    mesh = _sphere(device=device)
    depth = _renderer(DepthShader(background=7.0), device=device)(mesh)[0, ..., 0]
    assert float(depth[32, 32]) == pytest.approx(DIST - 1, abs=0.02)
    assert float(depth[0, 0]) == 7.0
    normals = _renderer(NormalShader(), device=device)(mesh)[0].cpu()
    torch.testing.assert_close(normals[32, 32], torch.tensor([0.5, 0.5, 1.0, 1.0]), atol=0.02,
                               rtol=0)
    torch.testing.assert_close(normals[0, 0], torch.ones(4).index_fill(0, torch.tensor(3), 0.0))


def test_renderer_with_fragments_and_overrides(device):
    mesh = _sphere(device=device).extend(2)
    renderer = MeshRendererWithFragments(
        MeshRasterizer(raster_settings=RasterizationSettings(image_size=16)),
        SilhouetteShader(),
    )
    cameras = FoVPerspectiveCameras(T=[[0.0, 0.0, 3.0], [0.0, 0.0, 6.0]], device=device)
    images, fragments = renderer(mesh, cameras=cameras)
    assert images.shape == (2, 16, 16, 1) and fragments.pix_to_face.shape == (2, 16, 16, 1)
    assert images[0].sum() > images[1].sum()  # the nearer sphere looks bigger
    assert int(fragments.pix_to_face[1].max()) >= mesh.num_faces_per_mesh()[0]  # packed faces
    big = RasterizationSettings(image_size=(8, 12))
    images, _ = renderer(mesh, cameras=cameras, raster_settings=big, antialias=2)
    assert images.shape == (2, 8, 12, 1)
    fragments = renderer.rasterizer(mesh, cameras=cameras)
    assert fragments.zbuf[0, 8, 8, 0] == pytest.approx(2.0, abs=0.05)  # view-space depth


def test_invalid_use_is_reported():
    mesh = _sphere()
    with pytest.raises(InputError, match="cameras"):
        MeshRasterizer()(mesh)
    with pytest.raises(InputError, match="cameras"):
        MeshRasterizer(FoVPerspectiveCameras(T=torch.zeros(3, 3)))(mesh.extend(2))
    with pytest.raises(InputError, match="antialias"):
        MeshRenderer(MeshRasterizer(), SilhouetteShader(), antialias=0)
    with pytest.raises(InputError, match="antialias_filter"):
        MeshRenderer(MeshRasterizer(), SilhouetteShader(), antialias_filter="gauss")
    with pytest.raises(InputError, match="cameras"):
        _renderer(HardPhongShader()).shader(
            MeshRasterizer(_cameras())(mesh), mesh, cameras=None
        )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_render_matches_cpu():
    mesh = _sphere()
    renderer = _renderer(HardPhongShader(), antialias=2)
    expected = renderer(mesh)
    image = renderer.to("cuda")(mesh.to("cuda"))
    assert image.device.type == "cuda"
    torch.testing.assert_close(image.cpu(), expected, atol=1e-4, rtol=0)


def _soft_render_and_grad(device, kernel=None):
    """A soft-shaded sphere (SoftPhong, K=6, blur), seen from the side so that its outline crosses
    faces at all angles, and the gradient of a fixed weighting of the image w.r.t. its verts."""
    sigma = 1e-4
    mesh = ico_sphere(3, device=device)
    verts = mesh.verts_packed().clone().requires_grad_(True)
    tex = TexturesVertex([torch.tensor([0.2, 0.6, 0.4], device=device).expand(len(verts), 3)])
    shader = SoftPhongShader(blend_params=BlendParams(sigma=sigma, gamma=1e-3))
    renderer = _renderer(shader, size=48, device=device, faces_per_pixel=6,
                         blur_radius=math.log(1 / 1e-4 - 1) * sigma, perspective_correct=True)
    image = renderer(Meshes([verts], [mesh.faces_packed()], tex),
                     cameras=_cameras(azim=30.0, device=device))
    weights = torch.rand(image.shape, generator=torch.Generator().manual_seed(0))
    (image * weights.to(device)).sum().backward()
    return image.detach().cpu(), verts.grad.cpu()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_soft_render_and_gradients_match_cpu():
    # A soft render is continuous in the fragments: a face that rounding lets in or out at the
    # blur radius weighs 1e-4 there, and two faces whose depth order rounding swaps are blended
    # by a softmax of their depths. So the CUDA and CPU renders, and their gradients, agree
    # within a tolerance small against their scale, though their rasterisers round differently.
    image_cpu, grad_cpu = _soft_render_and_grad("cpu")
    image_gpu, grad_gpu = _soft_render_and_grad("cuda")
    assert 0.1 < float((image_cpu[..., 3] > 0.5).float().mean()) < 0.9
    torch.testing.assert_close(image_gpu, image_cpu, atol=1e-4, rtol=0)
    scale = grad_cpu.abs().max().item()
    assert scale > 0
    torch.testing.assert_close(grad_gpu, grad_cpu, atol=1e-3 * scale, rtol=1e-3)
