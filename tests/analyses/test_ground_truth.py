"""Every analysis against the generator's ground truth on three seeds: every planted positive
found (recall 1.0) and precision >= 0.95, where near-misses and benign look-alikes count as
false positives."""

from __future__ import annotations

from typing import Any

import pytest

from graphflow.analyses import REGISTRY, Finding, run_analysis
from tests.analyses.conftest import SEEDS

#: analyses whose output is a table or ranking, checked by unit tests instead
TABLES = {"low_traffic", "top_scanners", "top_talkers"}
SCORED = sorted(set(REGISTRY) - TABLES)


def _matches(f: Finding, p: dict[str, Any]) -> bool:
    if f.entity == p["entity"]:
        return True
    # a coordinated group may be found by its DNS domain or ASN: same members
    return bool(p.get("members")) and set(p["members"]) <= set(f.members)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", SCORED)
def test_recall_and_precision(generated, seed: int, name: str) -> None:
    ws, truth = generated[seed]
    findings = run_analysis(ws, name)
    positives = [p for p in truth["positives"] if p["analysis"] == name]
    assert positives, f"the generator plants no {name}"
    missed = [p["entity"] for p in positives if not any(_matches(f, p) for f in findings)]
    assert not missed, f"{name} missed planted {missed}"
    true_pos = [f for f in findings if any(_matches(f, p) for p in positives)]
    false_pos = [f.entity for f in findings if f not in true_pos]
    precision = len(true_pos) / len(findings)
    assert precision >= 0.95, f"{name} false positives: {false_pos}"
    decoys = {p["entity"] for p in truth["near_misses"] if p["analysis"] == name} | {
        lk["entity"] for lk in truth["lookalikes"] if name in lk["mimics"]}
    assert not [f.entity for f in findings if f.entity in decoys]


@pytest.mark.parametrize("seed", SEEDS)
def test_figures_agree_with_ground_truth(generated, seed: int) -> None:
    ws, truth = generated[seed]
    by = {(f.analysis, f.entity): f for name in SCORED for f in run_analysis(ws, name)}
    for p in truth["positives"]:
        f = by.get((p["analysis"], p["entity"]))
        fig = p["figures"]
        if p["analysis"] == "fanout_scanners" and f:
            # peers reached by unanswered flows: at most all peers, at most the failed flows
            assert f.figures["max_peers_per_day"] <= min(fig["peers"], fig["failed"])
        if p["analysis"] == "vertical_scans" and f:
            assert f.figures["max_ports_on_target"] == fig["ports_on_target"]
            assert f.figures["target"] == fig["target"]
        if p["analysis"] == "syn_only_scans" and f:
            assert f.figures["max_failed_per_day"] == fig["failed"]
        if p["analysis"] == "low_and_slow" and f:
            assert f.figures["own_hosts"] == fig["own_hosts"]
        if p["analysis"] == "ingress_peaks" and f:
            assert f.figures["day"] == fig["day"] and f.figures["top"] == fig["top"]
        if p["analysis"] == "coordinated_scanners" and f:
            assert f.figures["hosts"] == fig["hosts"]
            assert sorted(f.members) == sorted(p["members"])


def test_findings_are_stable(generated) -> None:
    ws, _ = generated[SEEDS[0]]
    from graphflow.analyses.context import open_context

    name = "fanout_scanners"
    a = [f.id for f in run_analysis(ws, name)]
    with open_context(ws) as ctx:  # recompute without the cache
        b = [f.id for f in REGISTRY[name].run(ctx, __import__(
            "graphflow.analyses", fromlist=["analysis_params"]).analysis_params(name))]
    assert a == b
    c = [f.id for f in run_analysis(ws, name, {"min_peers": 40})]
    assert set(a).isdisjoint(c)  # other parameters, other ids


@pytest.mark.parametrize("name", SCORED)
def test_recall_and_precision_at_higher_volume(generated_large, name: str) -> None:
    ws, truth = generated_large
    findings = run_analysis(ws, name)
    positives = [p for p in truth["positives"] if p["analysis"] == name]
    assert all(any(_matches(f, p) for f in findings) for p in positives)
    false_pos = [f.entity for f in findings if not any(_matches(f, p) for p in positives)]
    assert len(findings) - len(false_pos) >= 0.95 * len(findings), false_pos
