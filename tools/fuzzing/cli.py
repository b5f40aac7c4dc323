"""The command line of ``tools/fuzz``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fuzzing.formats import FORMATS
from fuzzing.runner import Job, mutated_inputs, run, write_json
from fuzzing.seeds import REPO, default_seed_folders, seeds

__all__ = ["main"]


def _formats(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown format(s) {', '.join(unknown) or text!r}; formats: {', '.join(FORMATS)}")
    return names


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tools/fuzz",
        description="Fuzz r3d's loaders: every input must load or raise an r3d error "
                    "(InputError, FileFormatError, MissingFileError) within 2 s and a memory "
                    "budget. Exits 1 on any finding (crash, hang, memory blow-up).")
    p.add_argument("--seconds", type=float, help="stop after this many seconds")
    p.add_argument("--inputs", type=int, help="stop after this many inputs (default: 1000 "
                                              "when --seconds is not given)")
    p.add_argument("--seed", type=int, default=0, help="the run's seed (default 0)")
    p.add_argument("--format", type=_formats, default=list(FORMATS),
                   help=f"comma-separated formats (default all: {', '.join(FORMATS)})")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--seeds", type=Path, action="append",
                   help="a seed folder (repeatable; default tests/data, recipes and "
                        "../shared/data/meshes when present)")
    p.add_argument("--max-seed-bytes", type=int, default=64 * 1024,
                   help="skip seed files larger than this (default 65536)")
    p.add_argument("--out", type=Path, default=REPO / "build" / "fuzz" / "findings",
                   help="where findings are saved (default build/fuzz/findings)")
    p.add_argument("--json", type=Path, help="also write the summary as JSON here")
    p.add_argument("--replay", type=Path, action="append",
                   help="instead of fuzzing, run these inputs through the oracle: a folder "
                        "laid out as <format>/<file> (tests/data/fuzz, the --out folder), or "
                        "a file of the one --format given (repeatable)")
    return p


def _replayed(paths: list[Path], formats: list[str]) -> list[tuple[str, Path]]:
    """(format, file) of each input to replay; SystemExit for a path that names none."""
    found = []
    for path in paths:
        if path.is_dir():
            found += [(p.parent.name, p) for p in sorted(path.glob("*/*"))
                      if p.is_file() and p.parent.name in FORMATS]
        elif path.is_file() and len(formats) == 1:
            found.append((formats[0], path))
        else:
            raise SystemExit(f"tools/fuzz: --replay {path}: not a folder of <format>/<file>, "
                             f"nor a file with one --format")
    return found


def _replay_jobs(replayed: list[tuple[str, Path]]) -> list[Job]:
    return [(fmt, i, str(path), path.read_bytes()) for i, (fmt, path) in enumerate(replayed)]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.jobs < 1:
        _parser().error("--jobs must be at least 1")
    inputs = args.inputs if args.inputs is not None or args.seconds else 1000
    replayed = _replayed(args.replay, args.format) if args.replay else None
    names = sorted({fmt for fmt, _ in replayed}) if replayed is not None else args.format
    found = seeds(names, args.seeds or default_seed_folders(), args.max_seed_bytes)
    print("seeds: " + ", ".join(f"{n} {len(s)}" for n, s in found.items()), flush=True)
    jobs = (iter(_replay_jobs(replayed)) if replayed is not None
            else mutated_inputs(found, args.seed, args.seconds, inputs))
    tally = run(jobs, {n: s[0][1] for n, s in found.items() if s}, seed=args.seed,
                workers=args.jobs, out=None if replayed is not None else args.out,
                log=lambda line: print(line, flush=True))
    print(tally.table())
    distinct = tally.distinct()
    print(f"{tally.inputs} inputs in {tally.seconds:.0f} s, {len(tally.findings)} findings "
          f"({len(distinct)} distinct)" + (f", saved under {args.out}" if distinct else ""))
    if args.json:
        write_json(tally, args.json)
    return 1 if tally.findings else 0


if __name__ == "__main__":
    sys.exit(main())
