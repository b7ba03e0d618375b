"""The rules model: elements, properties, conditions, values, rules and the rule set.

Plain frozen dataclasses: :mod:`graphflow.rules.parse` builds them from a YAML document,
:mod:`graphflow.exports.properties` from an AfterGlow ``.properties`` file, and
:mod:`graphflow.rules.matching` applies them to Arrow tables.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from graphflow.errors import GraphFlowError

__all__ = [
    "ELEMENTS",
    "PROPERTIES",
    "SHAPES",
    "All",
    "Any_",
    "Compare",
    "Condition",
    "Equals",
    "Extract",
    "FieldRef",
    "FieldValue",
    "InFinding",
    "InNetworks",
    "InSet",
    "Literal",
    "Net",
    "Not",
    "Regex",
    "Rule",
    "RuleContext",
    "RuleSet",
    "RulesError",
    "Settings",
    "Severity",
    "Template",
    "Value",
]

ELEMENTS = ("node", "source", "target", "sourcetarget", "event", "edge")
PROPERTIES = ("color", "size", "shape", "label", "cluster")
#: Node shapes accepted (Graphviz names; Gephi and the web UI map them to their nearest).
SHAPES = frozenset(
    "box polygon ellipse oval circle point egg triangle plaintext plain diamond trapezium "
    "parallelogram house pentagon hexagon septagon octagon doublecircle doubleoctagon "
    "tripleoctagon invtriangle invtrapezium invhouse Mdiamond Msquare Mcircle rect rectangle "
    "square star none underline cylinder note tab folder box3d component Mrecord record".split())
COMPARE_OPS = {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
                "eq": "equal", "ne": "not_equal"}
Net = ipaddress.IPv4Network | ipaddress.IPv6Network
FieldRef = int | str | None


class RulesError(GraphFlowError):
    """A rules (or AfterGlow properties) file cannot be used; the message says where."""


@dataclass(frozen=True)
class Equals:
    field: FieldRef
    values: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class Regex:
    field: FieldRef
    pattern: str
    flags: int = 0
    negate: bool = False


@dataclass(frozen=True)
class Compare:
    field: FieldRef
    op: str
    number: float
    #: "strict": non-numbers never compare; "leading": Perl's rule (leading number, else 0)
    numeric: str = "strict"


@dataclass(frozen=True)
class InNetworks:
    field: FieldRef
    networks: tuple[Net, ...]
    negate: bool = False


@dataclass(frozen=True)
class InSet:
    field: FieldRef
    name: str
    negate: bool = False


@dataclass(frozen=True)
class InFinding:
    field: FieldRef
    finding: str
    negate: bool = False


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Any_:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Equals | Regex | Compare | InNetworks | InSet | InFinding | All | Any_ | Not


@dataclass(frozen=True)
class Literal:
    value: str | float | bool


@dataclass(frozen=True)
class FieldValue:
    field: FieldRef


@dataclass(frozen=True)
class Extract:
    pattern: str
    field: FieldRef = None
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class Template:
    #: alternating literal text and field references
    parts: tuple[str | tuple[FieldRef], ...]


@dataclass(frozen=True)
class Severity:
    field: FieldRef
    steps: int = 10


Value = Literal | FieldValue | Extract | Template | Severity


@dataclass(frozen=True)
class Rule:
    element: str
    prop: str
    value: Value
    when: Condition | None = None
    #: where the rule came from, for messages ("rules.yaml: rules[3]", "x.properties:7")
    origin: str = ""


@dataclass(frozen=True)
class Settings:
    duplicate_edges: bool = False
    max_node_size: float | None = None
    #: node kinds whose sizes add up over rows (AfterGlow sum.*) instead of the last one
    sum_sizes: frozenset[str] = frozenset()
    concentrate: bool = True
    xlabels: bool = True
    url: str | None = None
    #: AfterGlow thresholds: "all" (-o), "source", "event", "target"
    thresholds: Mapping[str, int] = field(default_factory=dict)
    output: str | None = None


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    sets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)

    def for_prop(self, prop: str) -> list[Rule]:
        return [r for r in self.rules if r.prop == prop]

    def has(self, prop: str, elements: Collection[str]) -> bool:
        return any(r.prop == prop and r.element in elements for r in self.rules)


@dataclass
class RuleContext:
    """What a rule's field references mean for the table being styled.

    ``columns`` maps positional references (AfterGlow's ``$fields[n]``) to column names;
    ``own`` is the column holding the element's own value (``field()``); ``sets`` adds named
    IP sets to those of the rules file; ``findings`` resolves ``in_finding`` (hook for the
    analyses: given a finding id, the IPs it involves).
    """

    columns: Sequence[str] = ()
    own: str = "id"
    sets: Mapping[str, Collection[str]] = field(default_factory=dict)
    findings: Callable[[str], Collection[str]] | None = None
    _nets: dict[tuple[str, ...], tuple[list[Net], set[str]]] = field(default_factory=dict)
