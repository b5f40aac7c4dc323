"""r3d's packages form layers (docs/ARCHITECTURE.md): a module imports only from its own package
and from packages of lower layers, never from a higher layer nor from another package of its own
layer, and no r3d import hides inside a function.

The check reads the source with ``ast`` (imports at any depth, ``TYPE_CHECKING`` blocks
included), so it fails on a new upward import before anything runs."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Bottom to top. Packages of one layer are independent of each other.
LAYERS: list[tuple[str, ...]] = [
    ("r3d.errors", "r3d._C"),  # the error and warning types, the compiled module
    ("r3d",),  # the version, R3DWarning
    ("r3d.value_checks",),  # checks on tensor values: at once, compiled in, or deferred on CUDA
    ("r3d._checks",),  # argument and tensor validation
    ("r3d.transforms",),  # Transform3d, rotations, so3 / se3
    ("r3d._native",),  # the native bridge: one module per op family
    ("r3d.structures",),  # Meshes, Pointclouds, fragments, textures, the tensor kernels they use
    ("r3d.ops",),  # operators on structures
    ("r3d.loss",),  # losses (Chamfer and point-mesh distances build on ops)
    ("r3d.renderer",),  # cameras, rasterisers, shaders, compositors, renderers
    ("r3d.utils",),  # ico_sphere, torus; PyTorch3D's utils names of the camera conversions
    ("r3d.io", "r3d.models"),  # file formats; shape-prediction networks
    ("r3d.vis",),  # the HTML viewer and run reports
    ("r3d.schema",),  # recipe parsing helpers
    ("r3d.runs",),  # run plumbing: devices, checkpoints, plots, schedules, images, renders
    ("r3d.views",),  # the multi-view dataset format
    ("r3d.scene", "r3d.datasets"),  # applications: scene renders, datasets
    ("r3d.fit", "r3d.learn"),  # applications: fitting by rendering, learning from images
    ("r3d.bench", "r3d.doctor"),  # applications: benchmarks, the install's self-report
    ("r3d.cli",),  # the command line
]

# The command line is the top layer (nothing imports it, so no cycle can hide there): its
# commands import the library when they run, so that `r3d --help` does not load torch.
DEFERRING_PACKAGES = ("r3d.cli",)

# Function-level imports of r3d modules that are not there to dodge a cycle: (module, target).
LAZY_IMPORTS = {
    # the benchmark registry loads every op family's cases on first use only
    ("r3d.bench.registry", "r3d.bench"),
    # the memory probe process imports torch and r3d when it starts serving, not when loaded
    ("r3d.bench._probe", "r3d.bench"),
    ("r3d.bench._probe", "r3d.bench.memory"),
}


# Upward imports at call time, each the single way down-layer code reaches a higher layer:
# (module, target).
UPWARD_CALLS = {
    # Jupyter asks Meshes / Pointclouds / Volumes for _repr_html_; the viewer is above them
    ("r3d.structures.display", "r3d.vis.notebook"),
    # Pointclouds.estimate_normals (PyTorch3D's method) runs the op of r3d.ops, which uses KNN
    ("r3d.structures.pointclouds", "r3d.ops.points_normals"),
}


def layer_of(module: str) -> tuple[int, str]:
    """(layer index, package) of an r3d module: the longest package prefix in LAYERS."""
    best = None
    for index, packages in enumerate(LAYERS):
        for package in packages:
            if module == package or module.startswith(package + "."):
                if best is None or len(package) > len(best[1]):
                    best = (index, package)
    if best is None:
        raise AssertionError(f"{module} is in no layer: add its package to LAYERS")
    return best


def module_name(path: Path) -> str:
    """The dotted name of a source file (``cli/`` installs as ``r3d.cli``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[0] == "cli":
        parts = ["r3d", *parts]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(module: str, source: str, is_package: bool) -> list[tuple[str, int, bool]]:
    """(imported r3d module, line, inside a function) for every import in ``source``."""
    package = module if is_package else module.rpartition(".")[0]
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # "from r3d import views" names a package; "from r3d.ops import knn" is in r3d.ops
                targets = [f"r3d.{a.name}" for a in child.names] if base == "r3d" else [base]
            else:
                visit(child, inner)
                continue
            found.extend((t, child.lineno, in_function) for t in targets
                         if t == "r3d" or t.startswith("r3d."))

    visit(ast.parse(source), False)
    return found


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    """Every import of ``source`` (the text of ``module``) that breaks the layering."""
    own_layer, own_package = layer_of(module)
    problems = []
    for target, line, in_function in imported_modules(module, source, is_package):
        target_layer, target_package = layer_of(target)
        where = f"{module}:{line} imports {target}"
        if in_function and (module, target) in UPWARD_CALLS:
            continue
        if target_package == own_package:
            pass
        elif target_layer > own_layer:
            problems.append(f"{where}: {target_package} is in a higher layer")
        elif target_layer == own_layer:
            problems.append(f"{where}: {target_package} is in the same layer as {own_package}")
        if not in_function or own_package in DEFERRING_PACKAGES:
            continue
        if target_package != own_package:
            problems.append(f"{where} inside a function")
        elif (module, target) not in LAZY_IMPORTS:
            problems.append(f"{where} inside a function (list it in LAZY_IMPORTS if it is lazy)")
    return problems


def source_files() -> list[Path]:
    return sorted([*ROOT.glob("r3d/**/*.py"), *ROOT.glob("cli/**/*.py")])


def test_every_package_is_in_a_layer():
    for path in source_files():
        layer_of(module_name(path))


def test_no_import_breaks_the_layers():
    problems = []
    for path in source_files():
        problems += violations(module_name(path), path.read_text(), path.name == "__init__.py")
    assert not problems, "\n".join(problems)


# Imports the check must refuse: what each error says, then (module, its source) pairs.
REFUSED = {
    "higher layer": [
        ("r3d.structures.meshes", "from r3d.renderer import TexturesUV\n"),
        ("r3d.ops.knn", "import r3d.loss.chamfer\n"),
        ("r3d.ops.cubify", "if TYPE_CHECKING:\n    from r3d.fit import run\n"),
        ("r3d.fit.run", "from ..bench import runner\n"),
        ("r3d.structures", "from r3d import views\n"),
    ],
    "same layer": [("r3d.io.obj", "from r3d.models import MeshHead\n")],
    "a function": [("r3d.ops.cubify", "def f():\n    from r3d.structures import Meshes\n")],
    "LAZY_IMPORTS": [("r3d.ops.knn", "def f():\n    from r3d.ops import csr\n")],
}


def test_an_upward_import_is_caught():
    for message, examples in REFUSED.items():
        for module, source in examples:
            problems = violations(module, source)
            assert problems and message in problems[0], (module, source, problems)


def test_downward_and_own_package_imports_pass():
    source = "from r3d.structures import Meshes\nfrom r3d.ops.knn import knn_points\nimport r3d\n"
    assert violations("r3d.loss.chamfer", source) == []
    assert violations("r3d.cli.fit", "from r3d.fit.run import fit\n") == []
    assert violations("r3d.cli.fit", "def fit():\n    from r3d.fit.run import fit\n") == []
