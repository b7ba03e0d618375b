"""Saved investigations: a named view of the graph, kept in the workspace and shareable.

An investigation holds what the graph page's URL holds, in three parts, plus words:

``filters``    which traffic: ``from``, ``to``, ``host``, ``port``, ``proto``, ``scope``,
               ``set``, ``setop``, ``min_weight`` (and ``window_days``: the last N days of
               data, resolved when the investigation is opened)
``selection``  which part of the graph: ``finding``, ``expand``, ``hops``, ``open``, ``close``,
               ``per``, ``fanout``, ``omit``, ``collapse``, ``prefix``, ``max_edges``,
               ``focus``, ``sel``
``styling``    how it is drawn: ``layout``, ``color``, ``size``, ``label``, and optionally
               ``rules``, a styling-rules document (:mod:`graphflow.rules`, validated)
``notes``      free text; ``description`` one line; ``created``/``updated`` UTC times

Values are the graph page's query parameters (strings, or lists of strings for ``host``,
``port``, ``proto``, ``set``, ``expand``, ``open``, ``close``), so :meth:`Investigation.query`
gives back exactly the URL that reopens the view. The web layer validates them further
(:class:`web.selection.Selection`) before saving.

Stored as ``<workspace>/investigations/<slug>.json`` (written atomically); exported and
imported as JSON or YAML (``yaml.safe_load`` only), validated on import with errors naming
the investigation and the key. A small library of ready-made investigations
(:data:`BUILTINS`) can be listed and opened like saved ones; saving one under the same name
makes it your own.

>>> import tempfile
>>> from graphflow.workspace import Workspace
>>> ws = Workspace.open(tempfile.mkdtemp() + "/ws")
>>> inv = save_investigation(ws, Investigation(name="SSH from outside",
...     filters={"port": ["22"], "scope": "cross"}, notes="check the failures"))
>>> inv.slug, [i.slug for i in list_investigations(ws, builtins=False)]
('ssh-from-outside', ['ssh-from-outside'])
>>> get_investigation(ws, "ssh-from-outside").query()
{'port': ['22'], 'scope': 'cross'}
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from graphflow.errors import GraphFlowError
from graphflow.workspace import Workspace

__all__ = ["BUILTINS", "FILTER_KEYS", "LIST_KEYS", "RULES_KEY", "SELECTION_KEYS",
           "STYLING_KEYS", "Investigation", "InvestigationError", "UnknownInvestigation",
           "delete_investigation", "export_investigations", "get_investigation",
           "import_investigations",
           "list_investigations", "newest_day", "parse_investigations", "save_investigation",
           "slugify", "validate", "view_url"]

FORMAT = "graphflow-investigations"
FORMAT_VERSION = 1

FILTER_KEYS = ("from", "to", "host", "port", "proto", "scope", "set", "setop", "min_weight")
SELECTION_KEYS = ("finding", "expand", "hops", "open", "close", "per", "fanout", "omit",
                  "collapse", "prefix", "max_edges", "focus", "sel")
STYLING_KEYS = ("layout", "color", "size", "label")
#: the graph page parameter naming the investigation whose stored styling rules apply
RULES_KEY = "inv"
#: Parameters that take several values.
LIST_KEYS = frozenset({"host", "port", "proto", "set", "expand", "open", "close"})

MAX_NAME = 80
MAX_TEXT = 20_000
MAX_VALUE = 512
MAX_LIST = 200
_SLUG_PART = re.compile(r"[a-z0-9]+")
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class InvestigationError(GraphFlowError):
    """An investigation that cannot be saved or imported; the message says where and why."""


class UnknownInvestigation(InvestigationError):
    """No investigation by that name in this workspace (nor in the built-in library)."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def slugify(name: str) -> str:
    """The file name of an investigation: lower-case words joined by ``-``.

    >>> slugify("What talks to the HVAs?")
    'what-talks-to-the-hvas'
    """
    slug = "-".join(_SLUG_PART.findall(name.lower()))[:64].strip("-")
    if not slug:
        raise InvestigationError(f"name {name!r}: needs at least one letter or digit")
    return slug


@dataclass
class Investigation:
    """A saved view: filters, selection, styling, notes (see the module docstring)."""

    name: str
    description: str = ""
    filters: dict[str, Any] = field(default_factory=dict)
    selection: dict[str, Any] = field(default_factory=dict)
    styling: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    window_days: int | None = None
    created: str | None = None
    updated: str | None = None
    builtin: bool = False

    @property
    def slug(self) -> str:
        return slugify(self.name)

    def query(self, newest_day: dt.date | None = None) -> dict[str, Any]:
        """The graph page's query parameters that reopen this view; ``window_days`` becomes
        ``from``/``to`` relative to ``newest_day`` (the workspace's last day of data)."""
        q: dict[str, Any] = {}
        for part in (self.filters, self.selection, self.styling):
            for k, v in part.items():
                if k != "rules" and v not in (None, "", []):
                    q[k] = list(v) if isinstance(v, list) else v
        if self.styling.get("rules") is not None:
            q[RULES_KEY] = self.slug  # the "styling rules" colour mode uses these rules
        if self.window_days and newest_day is not None and "from" not in q:
            q["from"] = (newest_day - dt.timedelta(days=self.window_days - 1)).isoformat()
            q["to"] = newest_day.isoformat()
        return q

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "slug": self.slug, "description": self.description,
                "filters": self.filters, "selection": self.selection, "styling": self.styling,
                "notes": self.notes, "window_days": self.window_days, "created": self.created,
                "updated": self.updated, "builtin": self.builtin}

    @classmethod
    def from_query(cls, name: str, params: Mapping[str, Any], **kw: Any) -> Investigation:
        """Split a graph page query (as :meth:`query` gives) into filters/selection/styling."""
        parts: dict[str, dict[str, Any]] = {"filters": {}, "selection": {}, "styling": {}}
        for k, v in params.items():
            if k == RULES_KEY:  # derived from the stored rules (the caller passes those)
                continue
            part = ("filters" if k in FILTER_KEYS else "selection" if k in SELECTION_KEYS
                    else "styling" if k in STYLING_KEYS else None)
            if part is None:
                raise InvestigationError(f"view parameter {k!r}: not a graph view parameter")
            parts[part][k] = v
        return validate({"name": name, **parts, **kw})


# ---- validation -----------------------------------------------------------------------------
def _text(v: Any, where: str, max_len: int, *, required: bool = False) -> str:
    if v is None and not required:
        return ""
    if not isinstance(v, str):
        raise InvestigationError(f"{where}: expected text, got {type(v).__name__}")
    if _CONTROL.search(v):
        raise InvestigationError(f"{where}: control characters are not allowed")
    if len(v) > max_len:
        raise InvestigationError(f"{where}: longer than {max_len} characters")
    if required and not v.strip():
        raise InvestigationError(f"{where}: must not be empty")
    return v.strip() if max_len <= MAX_NAME else v


def _scalar(v: Any, where: str) -> str:
    if isinstance(v, bool) or not isinstance(v, str | int | float):
        raise InvestigationError(f"{where}: expected a string or a number, got "
                                 f"{type(v).__name__}")
    s = str(v)
    if len(s) > MAX_VALUE or _CONTROL.search(s):
        raise InvestigationError(f"{where}: not a valid value")
    return s


def _part(doc: Any, keys: tuple[str, ...], where: str) -> dict[str, Any]:
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InvestigationError(f"{where}: expected a mapping of {', '.join(keys)}")
    out: dict[str, Any] = {}
    for k, v in doc.items():
        if k not in keys:
            raise InvestigationError(f"{where}.{k}: unknown key (known: {', '.join(keys)})")
        if v is None or v == "" or v == []:
            continue
        if k in LIST_KEYS:
            items = v if isinstance(v, list) else [v]
            if len(items) > MAX_LIST:
                raise InvestigationError(f"{where}.{k}: more than {MAX_LIST} values")
            out[k] = [_scalar(x, f"{where}.{k}[{i}]") for i, x in enumerate(items)]
        else:
            if isinstance(v, list):
                raise InvestigationError(f"{where}.{k}: expected one value, got a list")
            out[k] = _scalar(v, f"{where}.{k}")
    return out


def _timestamp(v: Any, where: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):  # YAML reads unquoted times as datetimes
        t = v if v.tzinfo else v.replace(tzinfo=dt.UTC)
    else:
        try:
            t = dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))
        except ValueError:
            raise InvestigationError(f"{where}: {v!r} is not an ISO time") from None
        t = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def validate(doc: Any, where: str = "investigation") -> Investigation:
    """An :class:`Investigation` from a mapping (a file, a request body), or a clear error."""
    if not isinstance(doc, dict):
        raise InvestigationError(f"{where}: expected a mapping with name, filters, selection, "
                                 "styling, notes")
    known = {"name", "slug", "description", "filters", "selection", "styling", "notes",
             "window_days", "created", "updated", "builtin"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise InvestigationError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
    name = _text(doc.get("name"), f"{where}.name", MAX_NAME, required=True)
    where = f"investigation {name!r}"
    slugify(name)
    styling_doc = doc.get("styling")
    rules = None
    if isinstance(styling_doc, dict) and "rules" in styling_doc:
        styling_doc = dict(styling_doc)
        rules = styling_doc.pop("rules")
    styling = _part(styling_doc, STYLING_KEYS, f"{where}: styling")
    if rules is not None:
        from graphflow.rules import RulesError, parse_rules

        try:
            parse_rules(rules, f"{where}: styling.rules")
        except RulesError as exc:
            raise InvestigationError(str(exc)) from None
        styling["rules"] = json.loads(json.dumps(rules))
    window = doc.get("window_days")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int)
                               or not 1 <= window <= 3660):
        raise InvestigationError(f"{where}: window_days: expected a number of days 1-3660")
    return Investigation(
        name=name,
        description=_text(doc.get("description"), f"{where}: description", 500),
        filters=_part(doc.get("filters"), FILTER_KEYS, f"{where}: filters"),
        selection=_part(doc.get("selection"), SELECTION_KEYS, f"{where}: selection"),
        styling=styling,
        notes=_text(doc.get("notes"), f"{where}: notes", MAX_TEXT),
        window_days=window,
        created=_timestamp(doc.get("created"), f"{where}: created"),
        updated=_timestamp(doc.get("updated"), f"{where}: updated"),
    )


# ---- the built-in library -------------------------------------------------------------------
_SEVERITY_RULES: dict[str, Any] = {"version": 1, "rules": [
    {"element": "node", "color": "#d62728", "when": {"field": "hva", "equals": True}},
    {"element": "node", "color": "#2ca02c", "when": {"field": "own", "equals": True}},
    {"element": "node", "color": "#ff7f0e"},
]}

#: Ready-made investigations: listed with the saved ones, opened the same way.
BUILTINS: tuple[Investigation, ...] = (
    Investigation(
        name="Inbound scanners this week",
        description="External sources touching own hosts over the last 7 days of data, one edge "
                    "per pair, hosts sized by degree (fan-out stars stand out).",
        filters={"scope": "cross"},
        selection={"per": "pair", "collapse": "none", "max_edges": "3000"},
        styling={"layout": "fcose", "color": "degree", "size": "degree",
                 "rules": _SEVERITY_RULES},
        window_days=7,
        notes="Stars around an external address are fan-out scanners; confirm with the "
              "fanout_scanners and syn_only_scans findings and 'graphflow flows --finding'.",
        builtin=True),
    Investigation(
        name="What talks to the HVAs",
        description="Every peer of the high-value assets, by role, around the HVAs.",
        filters={"set": ["hva"]},
        selection={"per": "pair", "collapse": "none"},
        styling={"layout": "concentric", "color": "role", "size": "flows", "label": "both"},
        notes="New peers of an HVA are in the hva_neighbourhood analysis (HVAs page).",
        builtin=True),
    Investigation(
        name="Policy violations",
        description="Own hosts talking to external peers, coloured by country, to review "
                    "against the per-role policies (policy_violations findings).",
        filters={"scope": "cross", "set": ["own"]},
        selection={"per": "port", "collapse": "auto"},
        styling={"layout": "fcose", "color": "country", "size": "bytes"},
        notes="Open the policy_violations findings for the flows behind each violation.",
        builtin=True),
    Investigation(
        name="Unanswered SSH and RDP",
        description="Connections to SSH (22) and RDP (3389), per port, over the last 7 days.",
        filters={"port": ["22", "3389"], "proto": ["tcp"]},
        selection={"per": "port"},
        styling={"color": "auto", "size": "flows"},
        window_days=7,
        notes="Many pairs with no bytes back: brute force or scanning.",
        builtin=True),
)


# ---- storage --------------------------------------------------------------------------------
def _dir(ws: Workspace) -> Path:
    return ws.root / "investigations"


def _slug_of(name: str) -> str:
    try:
        return slugify(name)
    except InvestigationError:
        raise UnknownInvestigation(f"{name!r} is not an investigation name") from None


def _path(ws: Workspace, slug: str) -> Path:
    if not _SLUG.match(slug) or len(slug) > 64:
        raise UnknownInvestigation(f"{slug!r} is not an investigation name")
    return _dir(ws) / f"{slug}.json"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _stored(inv: Investigation) -> dict[str, Any]:
    d = inv.to_dict()
    del d["slug"], d["builtin"]
    return d


def save_investigation(ws: Workspace, inv: Investigation | Mapping[str, Any], *,
                       overwrite: bool = True, touch: bool = True) -> Investigation:
    """Validate and store ``inv``; ``created`` is kept when it replaces a saved one.

    ``overwrite=False`` refuses to replace an existing investigation of the same name;
    ``touch=False`` keeps the ``created``/``updated`` times ``inv`` carries (imports).
    """
    new = validate(_stored(inv) if isinstance(inv, Investigation) else dict(inv))
    path = _path(ws, new.slug)
    old: Investigation | None = None
    if path.exists():
        if not overwrite:
            raise InvestigationError(f"an investigation {new.slug!r} exists already (delete it "
                                     "or save with overwrite)")
        old = _read(path)
    now = _now()
    if touch:
        new.created = (old.created if old else None) or new.created or now
        new.updated = now
    else:
        new.created = new.created or (old.created if old else None) or now
        new.updated = new.updated or now
    _write_atomic(path, json.dumps(_stored(new), indent=1, ensure_ascii=False) + "\n")
    return new


def _read(path: Path) -> Investigation:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvestigationError(f"{path}: unreadable ({exc})") from None
    return validate(doc, str(path))


def list_investigations(ws: Workspace, *, builtins: bool = True) -> list[Investigation]:
    """Saved investigations (by name), then the built-in ones not shadowed by a saved one."""
    saved = [_read(p) for p in sorted(_dir(ws).glob("*.json"))] if _dir(ws).exists() else []
    saved.sort(key=lambda i: i.name.lower())
    if not builtins:
        return saved
    mine = {i.slug for i in saved}
    return saved + [b for b in BUILTINS if b.slug not in mine]


def get_investigation(ws: Workspace, name: str) -> Investigation:
    """A saved investigation by name or slug, else a built-in one."""
    slug = _slug_of(name)
    path = _path(ws, slug)
    if path.exists():
        return _read(path)
    for b in BUILTINS:
        if b.slug == slug:
            return b
    raise UnknownInvestigation(f"no investigation {name!r} (see 'graphflow investigation "
                               "list')")


def delete_investigation(ws: Workspace, name: str) -> None:
    """Remove a saved investigation (built-in ones cannot be deleted)."""
    slug = _slug_of(name)
    path = _path(ws, slug)
    if not path.exists():
        if any(b.slug == slug for b in BUILTINS):
            raise InvestigationError(f"{name!r} is a built-in investigation and cannot be "
                                     "deleted")
        raise UnknownInvestigation(f"no saved investigation {name!r}")
    path.unlink()


def newest_day(ws: Workspace) -> dt.date | None:
    """The last UTC day with flows (from the day partitions; no data is read)."""
    days = {p.parent.name.removeprefix("day=") for p in ws.table_files("flows")}
    return max((dt.date.fromisoformat(d) for d in days), default=None)


def view_url(ws: Workspace, inv: Investigation) -> str:
    """The graph page address (path and query) that reopens ``inv`` on ``ws``."""
    from urllib.parse import urlencode

    return "/?" + urlencode(inv.query(newest_day(ws)), doseq=True)


# ---- export / import ------------------------------------------------------------------------
def export_investigations(ws: Workspace, names: list[str] | None = None, *,
                          fmt: str = "json") -> str:
    """A document holding the named investigations (default: every saved one)."""
    if fmt not in ("json", "yaml"):
        raise InvestigationError(f"format {fmt!r}: expected json or yaml")
    invs = ([get_investigation(ws, n) for n in names] if names
            else list_investigations(ws, builtins=False))
    doc = {"format": FORMAT, "version": FORMAT_VERSION,
           "investigations": [_stored(i) for i in invs]}
    if fmt == "yaml":
        return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def parse_investigations(text: str, source: str = "import") -> list[Investigation]:
    """Investigations from an exported JSON or YAML document (or one investigation)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        raise InvestigationError(f"{source}:{at} not valid JSON or YAML "
                                 f"({getattr(exc, 'problem', None) or exc})") from None
    if isinstance(doc, dict) and "investigations" in doc:
        if doc.get("format", FORMAT) != FORMAT:
            raise InvestigationError(f"{source}: format {doc.get('format')!r} is not {FORMAT}")
        if doc.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise InvestigationError(f"{source}: version {doc.get('version')!r} is not "
                                     f"{FORMAT_VERSION}")
        items = doc["investigations"]
        if not isinstance(items, list):
            raise InvestigationError(f"{source}: investigations: expected a list")
    elif isinstance(doc, dict) and "name" in doc:
        items = [doc]
    else:
        raise InvestigationError(f"{source}: expected an exported investigations document "
                                 "(format, version, investigations: [...])")
    out = [validate(d, f"{source}: investigations[{i}]") for i, d in enumerate(items)]
    seen: set[str] = set()
    for inv in out:
        if inv.slug in seen:
            raise InvestigationError(f"{source}: {inv.name!r} appears twice")
        seen.add(inv.slug)
    return out


def import_investigations(ws: Workspace, text: str, *, overwrite: bool = False,
                          source: str = "import",
                          progress: Callable[[int], None] | None = None
                          ) -> list[Investigation]:
    """Validate every investigation of ``text`` first, then save them all.

    Without ``overwrite`` nothing is saved when any of them exists already.
    """
    invs = parse_investigations(text, source)
    if not overwrite:
        clash = [i.name for i in invs if _path(ws, i.slug).exists()]
        if clash:
            raise InvestigationError(f"{source}: already saved: {', '.join(clash)} (use "
                                     "overwrite to replace them)")
    saved = []
    for n, inv in enumerate(invs, 1):
        saved.append(save_investigation(ws, inv, overwrite=True, touch=False))
        if progress is not None:
            progress(n)
    return saved
