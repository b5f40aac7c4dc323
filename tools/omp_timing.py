"""Timings of a few native CPU kernels on a quiet machine and under a load of busy processes.

Written for issue 23 (OpenMP threads busy-waiting on shared CPUs). The load that shows the
problem is one that itself runs OpenMP threads: ``--load N`` starts N processes that each loop
``(x @ x).sum()`` on a 64 x 64 torch tensor (with the default wait policy), and stops them at the
end. Each configuration runs in a fresh Python process, since the OpenMP runtime reads
``OMP_WAIT_POLICY`` only when it loads; "default" is libgomp's default spinning (made explicit
with ``GOMP_SPINCOUNT=300000``, which the r3d CLI keeps), "PASSIVE" sleeps at once.

The cases (float32, CPU, native kernels): ``knn_points`` (1k queries, 1k points, K=1),
``rasterize_meshes`` of an ico_sphere(4) at 128 px (forward, and forward + backward),
``packed_to_padded`` of 10k rows of 3 into a batch of 4, ``chamfer_distance`` of two 1k clouds
(forward, and forward + backward). Each case is called for about ``--seconds`` (after warm-up
calls) and reported as the median and 90th percentile of single calls, in milliseconds; with
``--rounds R`` the configurations alternate R times and the medians of the rounds are reported.

Examples (from the repository root, in the dev venv)::

    python tools/omp_timing.py                        # this process, as the environment is
    python tools/omp_timing.py --matrix               # {quiet, loaded} x {default, PASSIVE}
    python tools/omp_timing.py --matrix --native-lib installed --native-lib /tmp/old/_C.so
    python tools/omp_timing.py --matrix --command "r3d fit --set iterations=100 --out /tmp/f"

``--native-lib`` loads ``r3d._C`` from another build (same bindings); given several times with
``--matrix``, the builds alternate within each round, for a fair comparison on a busy machine;
``--command`` times a whole shell command (seconds) in each configuration instead of the cases.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

# what each load process runs: torch's own OpenMP threads, busy between tiny matrix products
LOAD_SOURCE = "import torch\nx = torch.rand(64, 64)\nwhile True:\n    (x @ x).sum()\n"
POLICIES = ("default", "PASSIVE")
INSTALLED = "installed"
OMP_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def import_r3d(native_lib: str | None) -> None:
    """Imports torch, then r3d with ``r3d._C`` taken from ``native_lib`` when given (torch first,
    so that both use torch's OpenMP runtime, as in a normal import)."""
    import torch  # noqa: F401

    import r3d

    if native_lib:
        spec = importlib.util.spec_from_file_location("r3d._C", native_lib)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules["r3d._C"] = module
        r3d._C = module


def make_cases() -> dict[str, Callable[[], object]]:
    """The timed calls, by name, on inputs made once (fixed seed)."""
    import torch

    from r3d.loss import chamfer_distance
    from r3d.ops import knn_points, packed_to_padded
    from r3d.renderer import rasterize_meshes
    from r3d.utils import ico_sphere

    torch.manual_seed(0)
    p1, p2 = torch.rand(1, 1000, 3), torch.rand(1, 1000, 3)
    sphere = ico_sphere(4)
    sphere = sphere.offset_verts(torch.tensor([0.0, 0.0, 2.0]).expand_as(sphere.verts_packed()))
    rows = torch.rand(10000, 3)
    first = torch.tensor([0, 2500, 5000, 7500])
    x_grad = p1.clone().requires_grad_(True)
    sphere_grad = sphere.clone()
    verts = sphere_grad.verts_packed().detach().clone().requires_grad_(True)
    sphere_grad = sphere_grad.update_padded(verts.unsqueeze(0))

    def raster_backward():
        zbuf = rasterize_meshes(sphere_grad, image_size=128)[1]
        zbuf.sum().backward()

    def chamfer_backward():
        chamfer_distance(x_grad, p2)[0].backward()

    return {
        "knn_points 1k x 1k K=1": lambda: knn_points(p1, p2, K=1),
        "rasterize_meshes ico4 128px": lambda: rasterize_meshes(sphere, image_size=128),
        "rasterize_meshes ico4 128px fwd+bwd": raster_backward,
        "packed_to_padded 10k rows": lambda: packed_to_padded(rows, first, 2500),
        "chamfer_distance 1k x 1k": lambda: chamfer_distance(p1, p2),
        "chamfer_distance 1k x 1k fwd+bwd": chamfer_backward,
    }


def time_call(fn: Callable[[], object], seconds: float, max_calls: int = 2000) -> dict:
    """Median and 90th percentile (ms) of single calls of fn, called for about ``seconds``."""
    for _ in range(3):
        fn()
    times = []
    stop = time.perf_counter() + seconds
    while len(times) < 5 or (time.perf_counter() < stop and len(times) < max_calls):
        start = time.perf_counter()
        fn()
        times.append(1e3 * (time.perf_counter() - start))
    times.sort()
    return {"median_ms": statistics.median(times), "p90_ms": times[int(0.9 * (len(times) - 1))],
            "calls": len(times)}


def time_cases(seconds: float, native_lib: str | None) -> dict[str, dict]:
    """Times every case in this process."""
    import_r3d(native_lib)
    import torch

    results = {name: time_call(fn, seconds) for name, fn in make_cases().items()}
    results["_threads"] = {"torch": torch.get_num_threads(),
                           "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "")}
    return results


def policy_env(policy: str) -> dict[str, str]:
    """The environment with OpenMP's wait settings removed, then OMP_WAIT_POLICY=policy, or for
    "default" libgomp's own default spin count set explicitly (GOMP_SPINCOUNT=300000, what it
    uses when OMP_WAIT_POLICY is unset), so that the r3d CLI keeps it instead of PASSIVE."""
    env = {k: v for k, v in os.environ.items() if k not in OMP_VARIABLES}
    if policy == "default":
        env["GOMP_SPINCOUNT"] = "300000"
    else:
        env["OMP_WAIT_POLICY"] = policy
    return env


def start_load(count: int) -> list[subprocess.Popen]:
    """Starts count busy torch processes (default wait policy); lets them warm up."""
    env = {k: v for k, v in os.environ.items() if k not in OMP_VARIABLES}
    procs = [subprocess.Popen([sys.executable, "-c", LOAD_SOURCE], env=env) for _ in range(count)]
    time.sleep(3.0 if procs else 0.0)
    return procs


def stop_load(procs: list[subprocess.Popen]) -> None:
    """Ends the load processes started by start_load (only those)."""
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()


def run_configuration(args: argparse.Namespace, policy: str, native_lib: str) -> dict:
    """Times the cases (or args.command) in a fresh process under ``policy``, with r3d._C from
    native_lib ("installed" for the installed one)."""
    env = policy_env(policy)
    if args.command:
        start = time.perf_counter()
        done = subprocess.run(args.command, shell=True, env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{args.command!r} failed ({done.returncode}):\n{done.stderr}")
        return {"command": {"median_ms": 1e3 * (time.perf_counter() - start)}}
    cmd = [sys.executable, __file__, "--json", "--seconds", str(args.seconds)]
    if native_lib != INSTALLED:
        cmd += ["--native-lib", native_lib]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def matrix(args: argparse.Namespace) -> dict[str, dict[str, dict[str, float]]]:
    """Per build, per configuration "<quiet|loaded> <policy>", per case: the median over the
    rounds of the case's median (ms). Builds and policies alternate within each round."""
    builds = args.native_lib or [INSTALLED]
    rounds: dict[tuple[str, str], list[dict]] = {}
    for load in (0, args.load):
        label = "quiet" if load == 0 else f"loaded x{load}"
        procs = start_load(load)
        try:
            for _ in range(args.rounds):
                for build in builds:
                    for policy in POLICIES:
                        rounds.setdefault((build, f"{label} {policy}"), []).append(
                            run_configuration(args, policy, build))
        finally:
            stop_load(procs)
    table: dict[str, dict[str, dict[str, float]]] = {}
    for (build, config), runs in rounds.items():
        table.setdefault(build, {})[config] = {
            name: statistics.median(r[name]["median_ms"] for r in runs)
            for name in runs[0] if not name.startswith("_")
        }
    return table


def print_table(build: str, table: dict[str, dict[str, float]]) -> None:
    """One row per case, one column per configuration (ms)."""
    configs = list(table)
    names = list(table[configs[0]])
    print(f"r3d._C: {build}")
    print(f"{'case (median ms)':40s}" + "".join(f"{c:>22s}" for c in configs))
    for name in names:
        print(f"{name:40s}" + "".join(f"{table[c][name]:22.3f}" for c in configs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrix", action="store_true",
                        help="run quiet and loaded, default and PASSIVE wait policy")
    parser.add_argument("--load", type=int, default=2, help="load processes for --matrix")
    parser.add_argument("--rounds", type=int, default=3, help="alternations for --matrix")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case")
    parser.add_argument("--native-lib", action="append",
                        help="load r3d._C from this file (another build); with --matrix, "
                        "repeatable to alternate builds ('installed': the installed one)")
    parser.add_argument("--command", help="with --matrix: time this shell command instead")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    if args.matrix:
        tables = matrix(args)
    else:
        native_lib = (args.native_lib or [INSTALLED])[-1]
        results = time_cases(args.seconds, None if native_lib == INSTALLED else native_lib)
        if args.json:
            print(json.dumps(results))
            return
        tables = {native_lib: {"this process": {k: v["median_ms"] for k, v in results.items()
                                                if not k.startswith("_")}}}
    if args.json:
        print(json.dumps(tables, indent=1))
        return
    for build, table in tables.items():
        print_table(build, table)


if __name__ == "__main__":
    main()
