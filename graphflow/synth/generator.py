"""``generate``: lay out the organisation, plant the scenarios, write day by day, audit.

Memory stays bounded by one day of flows: each day's background is generated, merged with
that day's planted flows, sorted by start time, written and measured, then dropped.

Examples
--------
>>> import tempfile
>>> with tempfile.TemporaryDirectory() as d:
...     truth = generate(GeneratorConfig(days=8, flows_per_day=300), Path(d))
...     sorted(p.name for p in Path(d).iterdir())
['assets.json', 'conn.log', 'dns.log', 'ground_truth.json', 'names.csv', 'whitelist.txt']
>>> truth.audit["unplanned_crossings"], truth.audit["failed_plants"]
([], [])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from graphflow.synth.audit import Audit
from graphflow.synth.background import DAY, background_day, day_start_us
from graphflow.synth.decoys import lookalikes, near_misses
from graphflow.synth.dns import write_dns_log
from graphflow.synth.flows import FlowBatch
from graphflow.synth.model import GeneratorConfig, GroundTruth
from graphflow.synth.network import build_world, rng_for
from graphflow.synth.outputs import write_side_files
from graphflow.synth.plants import Plant
from graphflow.synth.positives import POSITIVES
from graphflow.synth.truth import build_truth
from graphflow.synth.zeek import ConnLogWriter

__all__ = ["generate"]


def generate(config: GeneratorConfig, out_dir: Path,
             progress: Callable[[int], None] | None = None) -> GroundTruth:
    """Write a synthetic enterprise network's conn.log and its ground truth into ``out_dir``.

    Files: ``conn.log`` (or ``conn/`` when ``config.rotate``), ``dns.log``, ``ground_truth.json``,
    ``names.csv``, ``whitelist.txt`` and ``assets.json``. ``progress`` is called after each
    written day with the number of flows written so far. The same configuration always gives
    byte-identical files.
    """
    config.validate()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    world = build_world(config)
    plants: list[Plant] = []
    for scenario in POSITIVES:
        plants += scenario(world)
    plants += near_misses(world)
    plants += lookalikes(world)

    day0 = day_start_us(config, 0)
    by_day: dict[int, list[FlowBatch]] = {}
    for p in plants:
        for b in p.flows:
            days = (b.ts - day0) // DAY
            for d in sorted({int(x) for x in days}):
                if 0 <= d < config.days:
                    by_day.setdefault(d, []).append(b.take(days == d))
    watch = {m for p in plants for m in p.watch}
    hvas = [h.idx for h in world.hosts.values() if h.criticality == "high"]
    start = dt.datetime.fromisoformat(config.start).replace(tzinfo=dt.UTC)
    dates = [(start + dt.timedelta(days=d)).date().isoformat() for d in range(config.days)]
    own = world.book.own_mask()
    audit = Audit(world.book.addrs, own, config.days, config.thresholds, dates, watch, hvas)
    writer = ConnLogWriter(out_dir, config.fmt, config.rotate, start,
                           start + dt.timedelta(days=config.days), world.book.addrs, own)
    try:
        for d in range(config.days):
            flows = FlowBatch.concat([background_day(world, d), *by_day.get(d, [])])
            flows = flows.sorted_by_time()
            writer.write_day(start + dt.timedelta(days=d), flows, rng_for(config.seed, "uid", d))
            audit.add_day(d, flows)
            if progress is not None:
                progress(writer.rows)
    finally:
        writer.close()
    audit.finish()
    truth = build_truth(world, plants, audit, config.to_dict())
    (out_dir / "ground_truth.json").write_text(truth.to_json(), encoding="utf-8")
    write_side_files(world, out_dir)
    write_dns_log(world, out_dir)
    return truth
