"""The benchmark cases of ``r3d bench``, one module per op family.

Every family is registered explicitly below; importing this package imports each family module,
which declares its cases with :func:`r3d.bench.registry.register_case`. Only
:func:`r3d.bench.registry.all_cases` imports it, on first use. A new family is a new module
here, added to the imports.

Shared inputs (bumpy grid meshes, image sizes) live in :mod:`r3d.bench.cases._inputs`.
"""

# The import order is the registration order: the order of ``r3d bench --list``.
# isort: off
from r3d.bench.cases import (  # noqa: F401 - importing a family registers its cases
    face_areas,
    packing,
    knn,
    sample_farthest_points,
    ball_query,
    chamfer,
    mesh_ops,
    points_to_volumes,
    voxelize,
    point_mesh,
    mesh_losses,
    rasterize_meshes,
    rasterize_points,
    compositing,
    fit,
    compiled,
)
# isort: on
