"""Optional parts of GraphFlow the UI builds on, found at run time.

The UI works on the embedded store alone. Analyses, exports, styling rules, the hosts table
and Neo4j are used when present; when one is missing, the feature is hidden in the UI and
:func:`features` says why, so the page can explain it instead of failing. Modules are
imported lazily (on first use), never at app start-up.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

__all__ = ["Feature", "feature_module", "feature_reason", "features", "vendor_missing"]

logger = logging.getLogger(__name__)

VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
#: The front-end files the pages load (copied there by scripts/setup.d/50-web.sh).
VENDOR_FILES = ("cytoscape.min.js", "layout-base.js", "cose-base.js", "cytoscape-fcose.js",
                "cytoscape-dagre.min.js", "cytoscape-svg.js", "chart.umd.min.js")

#: feature -> (module, attributes it must provide, what to do when it is missing)
OPTIONAL: dict[str, tuple[str, tuple[str, ...], str]] = {
    "analyses": ("graphflow.analyses", ("REGISTRY", "run_analysis", "get_finding",
                                        "finding_flows"),
                 "the analyses module (graphflow.analyses) is not installed in this build"),
    "exports": ("graphflow.exports", (),
                "the exports module (graphflow.exports) is not installed: GDF, GEXF, DOT and "
                "GraphML exports are unavailable (PNG, SVG, CSV and JSON still work)"),
    "rules": ("graphflow.rules", (),
              "no styling-rules module (graphflow.rules): the built-in AfterGlow-style "
              "styling is used"),
    "neo4j": ("graphflow.stores.neo4j_console", ("run_read_only",),
              "the Neo4j backend (graphflow.stores.neo4j) is not installed"),
}


@dataclass(frozen=True)
class Feature:
    name: str
    available: bool
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"available": self.available, "reason": self.reason}


_cache: dict[str, tuple[ModuleType | None, str]] = {}


def _import(name: str) -> tuple[ModuleType | None, str]:
    module_name, attrs, missing = OPTIONAL[name]
    if name in _cache and _cache[name][0] is not None:
        return _cache[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None, missing
        logger.warning("%s: import failed: %s", module_name, exc)
        return None, f"{module_name} failed to import ({exc})"
    except ImportError as exc:  # present but broken (e.g. half-written by a parallel change)
        logger.warning("%s: import failed: %s", module_name, exc)
        return None, f"{module_name} failed to import ({exc})"
    lacking = [a for a in attrs if not hasattr(module, a)]
    if lacking:
        return None, f"{module_name} lacks {', '.join(lacking)}"
    _cache[name] = (module, "")
    return module, ""


def feature_module(name: str) -> ModuleType | None:
    """The optional module behind ``name`` (``analyses``, ``exports``, ``rules``,
    ``neo4j``), or None when it is not there."""
    return _import(name)[0]


def feature_reason(name: str) -> str:
    """Why the optional module behind ``name`` is unavailable ("" when it is available)."""
    return _import(name)[1]


def vendor_missing() -> list[str]:
    """Front-end files that the set-up has not produced yet."""
    return [f for f in VENDOR_FILES if not (VENDOR_DIR / f).is_file()]


def features(has_hosts: bool) -> dict[str, Feature]:
    """Every optional feature, whether the UI can offer it, and why not."""
    out = {}
    for name in OPTIONAL:
        module, reason = _import(name)
        out[name] = Feature(name, module is not None, reason)
    if out["neo4j"].available:
        from web.console import console_target

        _, reason = console_target()
        if reason:
            out["neo4j"] = Feature("neo4j", False, reason)
    out["hosts"] = Feature("hosts", has_hosts, "" if has_hosts else (
        "the hosts table is not built (run 'graphflow enrich'): own/external, HVA, DNS "
        "names, GeoIP/ASN, grouping by ASN or DNS domain and named sets need it"))
    missing = vendor_missing()
    out["frontend"] = Feature("frontend", not missing, "" if not missing else (
        "front-end files missing from web/static/vendor (" + ", ".join(missing) +
        "): run scripts/setup.d/50-web.sh"))
    return out
