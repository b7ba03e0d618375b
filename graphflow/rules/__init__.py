"""Declarative styling rules: colour, size, shape, label and cluster of nodes and edges.

One rules file drives every styled view: DOT, GDF, GEXF, GraphML, Cytoscape JSON (so the web
UI) and the ``afterglow`` command, whose AfterGlow ``.properties`` files are translated into
these rules (:mod:`graphflow.afterglow`). The file is YAML and only ever *data*: conditions and
values are a fixed vocabulary, nothing in it is evaluated as code.

.. code-block:: yaml

    version: 1
    sets:                                  # named IP sets (CIDRs or addresses)
      dmz: [10.1.0.0/16, "2001:db8:1::/48"]
    settings: {duplicate_edges: false, max_node_size: 0.2}
    rules:
      - element: node                      # node | source | target | sourcetarget | event | edge
        color: red
        when: {field: hva, equals: true}
      - element: node
        color: {severity: {field: score}, steps: 10}
      - element: source
        color: yellow
        when: {field: id, regex: '^192\\.168\\.'}
      - element: edge
        label: {field: dst_port}

For each element and property the rules are tried in file order and the **first match wins**;
a rule matches when its ``when`` holds and its value is not empty. Conditions:
``equals``/``in``, ``regex``/``not_regex`` (Python ``re``), ``lt le gt ge eq ne`` (numeric),
``cidr`` (IPv4 and IPv6), ``in_set`` (a named set), ``in_finding`` (an analysis result, through
a hook), and ``all``/``any``/``not``. Values: a literal, ``{field: F}``, ``{extract: REGEX}``
(the first group, with ``prefix``/``suffix``), ``{template: "{id} ({role})"}``,
``{severity: {field: F}, steps: N}`` (green to red). ``field`` names a column (``id`` is the
element's own value) or, in AfterGlow input, a column position (``0`` = first).

Evaluation is vectorised over Arrow tables: regular expressions and CIDR tests run once per
distinct value, never once per row.

The package: :mod:`~graphflow.rules.model` (the dataclasses), :mod:`~graphflow.rules.parse`
(YAML to a :class:`RuleSet`), :mod:`~graphflow.rules.matching` (evaluation over Arrow tables) and
:mod:`~graphflow.rules.compat` (AfterGlow's severity scale and Perl numbers); AfterGlow
``.properties`` files are translated by :mod:`graphflow.exports.properties`.

>>> import pyarrow as pa
>>> rs = parse_rules({"rules": [{"element": "node", "color": "red",
...                              "when": {"field": "id", "cidr": "10.0.0.0/8"}},
...                             {"element": "node", "color": "gray"}]})
>>> t = pa.table({"id": ["10.1.2.3", "192.0.2.1", "2001:db8::1"]})
>>> evaluate(rs, "color", t, RuleContext(own="id"), elements=("node",)).to_pylist()
['red', 'gray', 'gray']
"""

from graphflow.rules import compat, matching, model, parse
from graphflow.rules.compat import *  # noqa: F403
from graphflow.rules.matching import *  # noqa: F403
from graphflow.rules.model import *  # noqa: F403
from graphflow.rules.parse import *  # noqa: F403

__all__ = [*model.__all__, *parse.__all__, *matching.__all__, *compat.__all__]
