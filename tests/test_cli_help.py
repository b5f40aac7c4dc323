"""`r3d --help` and `--version` answer without importing torch: the commands import the library
when they run, and the defaults they show are the library's."""

import subprocess
import sys
import tempfile

import pytest

from r3d.cli import chamfer as cli_chamfer
from r3d.cli import dataset as cli_dataset
from r3d.cli import fit as cli_fit
from r3d.cli import view as cli_view
from r3d.datasets.procedural import FAMILIES
from r3d.fit.recipe import QUICK_EXAMPLE_SIZE, QUICK_IMAGE_SIZE, QUICK_ITERATIONS
from r3d.runs.surface import SAMPLES, SEED
from r3d.vis import MAX_FACES, MAX_POINTS

COMMANDS = [[], ["fit"], ["render"], ["chamfer"], ["info"], ["bench"], ["doctor"], ["train"],
            ["eval"], ["dataset", "make"], ["view"]]


def modules_after(argv: list[str]) -> tuple[int, str, list[str]]:
    """(exit code, output, heavy modules imported) of ``r3d ARGV`` run in a fresh
    interpreter."""
    code = (
        "import sys\n"
        "from r3d.cli.main import app\n"
        "try:\n"
        f"    app({argv!r}, prog_name='r3d')\n"
        "except SystemExit as exc:\n"
        "    status = exc.code or 0\n"
        "heavy = [m for m in ('torch', 'numpy', 'matplotlib', 'r3d._C') if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))\n"
        "sys.exit(status)\n"
    )
    # run outside the repository, so that the installed r3d (with its r3d.cli) is imported
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tempfile.gettempdir())
    heavy = proc.stdout.rsplit("HEAVY:", 1)[-1].strip()
    return proc.returncode, proc.stdout + proc.stderr, [m for m in heavy.split(",") if m]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "r3d")
def test_help_imports_no_torch(command):
    status, output, heavy = modules_after([*command, "--help"])
    assert status == 0, output
    assert "Usage" in output
    assert heavy == [], f"r3d {' '.join(command)} --help imported {heavy}"


def test_version_imports_no_torch():
    status, output, heavy = modules_after(["--version"])
    assert status == 0 and heavy == [], (output, heavy)


def test_the_cli_shows_the_library_defaults():
    assert (cli_chamfer.SAMPLES, cli_chamfer.SEED) == (SAMPLES, SEED)
    assert cli_dataset.FAMILIES == FAMILIES
    assert (cli_fit.QUICK_ITERATIONS, cli_fit.QUICK_IMAGE_SIZE, cli_fit.QUICK_EXAMPLE_SIZE) == (
        QUICK_ITERATIONS, QUICK_IMAGE_SIZE, QUICK_EXAMPLE_SIZE)
    assert (cli_view.MAX_FACES, cli_view.MAX_POINTS) == (MAX_FACES, MAX_POINTS)
