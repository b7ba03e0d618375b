"""Seeded synthetic enterprise network traffic (Zeek conn.log) with planted ground truth.

Modules, in the order data flows through them: :mod:`.model` (configuration, ground truth),
:mod:`.network` (the organisation), :mod:`.flows` (Zeek-consistent counters),
:mod:`.background` (vectorised daily traffic), :mod:`.plants`, :mod:`.positives` and
:mod:`.decoys` (planted scenarios), :mod:`.zeek` (writers), :mod:`.audit` and :mod:`.truth`
(figures measured on the written flows), :mod:`.outputs` (side files) and
:mod:`.generator` (``generate``).
"""

from graphflow.synth.generator import generate
from graphflow.synth.model import (
    GeneratorConfig,
    GroundTruth,
    Lookalike,
    NearMiss,
    Positive,
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
