"""Synthetic enterprise network generator: the public entry point.

The implementation lives in :mod:`graphflow.synth`; this module re-exports its API.

Examples
--------
>>> cfg = GeneratorConfig(seed=7, days=8, flows_per_day=1000, fmt="json")
>>> cfg.thresholds.fanout_min_peers
50
"""

from graphflow.synth import (
    GeneratorConfig,
    GroundTruth,
    Lookalike,
    NearMiss,
    Positive,
    generate,
    load_ground_truth,
)

__all__ = [
    "GeneratorConfig",
    "GroundTruth",
    "Lookalike",
    "NearMiss",
    "Positive",
    "generate",
    "load_ground_truth",
]
