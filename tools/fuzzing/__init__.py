"""r3d's loader fuzzer (run it with ``tools/fuzz``; see docs/fuzzing.md).

Modules: :mod:`~fuzzing.formats` (the fuzzed formats and their loaders), :mod:`~fuzzing.seeds`
(seed inputs), :mod:`~fuzzing.mutate` (mutations), :mod:`~fuzzing.oracle` (how a load must
end), :mod:`~fuzzing.worker` (the process that runs loads), :mod:`~fuzzing.runner` (the loop
and its tallies) and :mod:`~fuzzing.cli` (the command line).
"""
