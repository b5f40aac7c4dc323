"""The r3d command-line interface (installed as ``r3d.cli``).

Importing it sets ``OMP_WAIT_POLICY=PASSIVE`` unless the user set ``OMP_WAIT_POLICY`` or
``GOMP_SPINCOUNT``: the OpenMP threads of the commands (torch's and r3d's kernels share torch's
OpenMP runtime) then sleep as soon as they are idle instead of spinning for milliseconds, which
on a machine whose cores other processes use takes the cores the work needs (issue 23). The
runtime reads the variable once, when torch loads it: the ``r3d`` script imports this package
before anything imports torch.
"""

import os

if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
