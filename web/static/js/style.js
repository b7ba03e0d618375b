/* AfterGlow-style styling of the graph: colour, size, shape and label per node from its data,
   edge colour/width from its flows, and the legend that explains the current choice.
   Everything is computed into data fields (dcolor, dsize, dshape, dlabel) that the
   stylesheet maps; labels are drawn on the canvas, never as HTML. */
(function () {
  'use strict';
  const GF = window.GF = window.GF || {};
  const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948',
    '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  const OTHER = '#d0d0d0';
  const OWN = '#3b7dd8'; const EXTERNAL = '#e8743b'; const GROUP = '#9aa5b1';
  const UNANSWERED = '#d64545'; const EDGE = '#a6abb3';

  function nameOf(d) {
    if (d.kind === 'group') return d.label || d.id;
    if (d.name) return d.name;
    if (Array.isArray(d.dns) && d.dns.length) return d.dns[0];
    return null;
  }

  function labelOf(d, mode) {
    if (d.kind === 'group') return mode === 'none' ? '' : (d.label || d.id);
    const name = nameOf(d);
    if (mode === 'none') return '';
    if (mode === 'ip') return d.ip;
    if (mode === 'both') return name ? d.ip + '\n' + name : d.ip;
    return name || d.ip;
  }

  function categoryOf(d, mode) {
    if (mode === 'role') return d.role || null;
    if (mode === 'country') return d.country || null;
    if (mode === 'asn') return d.asn === null || d.asn === undefined ? null : ('AS' + d.asn + (d.as_org ? ' ' + d.as_org : ''));
    if (mode === 'domain') return d.domain || null;
    return null;
  }

  function lerpColor(t) { // light blue -> dark blue
    const a = [198, 219, 239]; const b = [8, 48, 107];
    const c = a.map((x, i) => Math.round(x + (b[i] - x) * t));
    return 'rgb(' + c.join(',') + ')';
  }

  function scaleOf(nodes, f) {
    let max = 0; let min = Infinity;
    nodes.forEach((n) => { const v = f(n.data()); if (v > max) max = v; if (v < min) min = v; });
    if (!isFinite(min)) min = 0;
    return { min: min, max: max, t: (v) => (max > min ? Math.log1p(v - min) / Math.log1p(max - min) : 0) };
  }

  const METRIC = {
    degree: (d) => (d.in_degree || 0) + (d.out_degree || 0),
    bytes: (d) => d.bytes || 0,
    flows: (d) => (d.in_flows || 0) + (d.out_flows || 0),
  };

  /** Apply colour/size/shape/label modes to every element; return the legend spec. */
  GF.applyStyle = function (cy, opts) {
    const nodes = cy.nodes();
    const legend = { sections: [] };
    const hasHosts = !!opts.hasHosts;
    let colorItems = [];
    let colorTitle = '';
    const mode = opts.color || 'auto';
    let colorFn;
    if (mode === 'auto') {
      colorTitle = hasHosts ? 'Colour: own / external' : 'Colour: address class (hosts table not built)';
      colorFn = (d) => {
        if (d.kind === 'group') return GROUP;
        if (hasHosts && d.own !== undefined && d.own !== null) return d.own ? OWN : EXTERNAL;
        return d.address_class === 'private' ? OWN : (d.address_class === 'public' ? EXTERNAL : OTHER);
      };
      colorItems = hasHosts
        ? [[OWN, 'own host'], [EXTERNAL, 'external host'], [GROUP, 'group of hosts']]
        : [[OWN, 'private address'], [EXTERNAL, 'public address'], [OTHER, 'other (multicast, loopback, ...)'], [GROUP, 'group of hosts']];
    } else if (mode === 'finding') {
      colorTitle = 'Colour: role in the finding';
      const roles = { entity: '#c62828', member: '#ef6c00', peer: '#7e57c2' };
      colorFn = (d) => (d.kind === 'group' ? GROUP : (roles[d.finding_role] || OTHER));
      colorItems = [[roles.entity, 'finding entity'], [roles.member, 'member'], [roles.peer, 'peer in its flows'], [OTHER, 'not in a finding']];
    } else if (mode === 'degree' || mode === 'bytes') {
      const s = scaleOf(nodes, METRIC[mode]);
      colorTitle = 'Colour: ' + mode + ' (log scale)';
      colorFn = (d) => lerpColor(s.t(METRIC[mode](d)));
      colorItems = [[lerpColor(0), 'low: ' + (mode === 'bytes' ? GF.fmt.bytes(s.min) : GF.fmt.num(s.min))],
        [lerpColor(1), 'high: ' + (mode === 'bytes' ? GF.fmt.bytes(s.max) : GF.fmt.num(s.max))]];
    } else if (mode === 'rules') {
      colorTitle = 'Colour: styling rules';
      colorFn = (d) => (d.style && d.style.color) || OTHER;
      const seen = new Map();
      nodes.forEach((n) => {
        const st = n.data('style');
        if (!st || !st.color) return;
        const entry = seen.get(st.color) || { why: st.rule || st.color, n: 0 };
        entry.n += 1; seen.set(st.color, entry);
      });
      colorItems = Array.from(seen.entries()).slice(0, 12).map(([c, e]) => [c, e.why + ' (' + e.n + ')']);
      colorItems.push([null, 'from the styling rules file (first matching rule wins)']);
    } else {
      colorTitle = 'Colour: ' + ({ role: 'role', country: 'country', asn: 'ASN', domain: 'DNS domain' }[mode] || mode);
      const counts = new Map();
      nodes.forEach((n) => { const c = categoryOf(n.data(), mode); if (c !== null) counts.set(c, (counts.get(c) || 0) + 1); });
      const top = Array.from(counts.entries()).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, PALETTE.length);
      const colorOf = new Map(top.map(([c], i) => [c, PALETTE[i]]));
      colorFn = (d) => (d.kind === 'group' ? GROUP : (colorOf.get(categoryOf(d, mode)) || OTHER));
      colorItems = top.map(([c, n], i) => [PALETTE[i], c + ' (' + n + ')']);
      colorItems.push([OTHER, 'other / unknown']);
    }
    legend.sections.push({ title: colorTitle, items: colorItems });

    const sizeMode = opts.size || 'degree';
    const sizeScale = sizeMode === 'none' ? null : scaleOf(nodes, METRIC[sizeMode]);
    nodes.forEach((n) => {
      const d = n.data();
      let size = 18;
      if (sizeScale) size = 14 + 34 * sizeScale.t(METRIC[sizeMode](d));
      if (d.kind === 'group') size = Math.max(size, 26);
      if (mode === 'rules' && d.style && d.style.size) size = Number(d.style.size) || size;
      let shape = 'ellipse';
      if (d.kind === 'group') shape = 'round-rectangle';
      else if (d.finding_role === 'entity') shape = 'diamond';
      else if (d.hva) shape = 'star';
      if (mode === 'rules' && d.style && d.style.shape) shape = d.style.shape;
      const label = mode === 'rules' && d.style && d.style.label !== undefined && opts.label !== 'none' ? d.style.label : labelOf(d, opts.label || 'name');
      n.data({ dcolor: colorFn(d), dsize: size, dshape: shape, dlabel: label,
        dborder: d.hva ? '#b71c1c' : '#555', dborderw: d.hva ? 3 : 1 });
    });
    if (sizeScale) {
      legend.sections.push({ title: 'Size: ' + sizeMode + ' (log scale)', items: [
        [null, 'smallest ' + (sizeMode === 'bytes' ? GF.fmt.bytes(sizeScale.min) : GF.fmt.num(sizeScale.min)) +
          ', largest ' + (sizeMode === 'bytes' ? GF.fmt.bytes(sizeScale.max) : GF.fmt.num(sizeScale.max))]] });
    }
    legend.sections.push({ title: 'Shape', items: [[null, '● host  ▢ group of hosts  ◆ finding entity  ★ high-value asset']] });

    const edges = cy.edges();
    const ew = scaleOf(edges, (d) => d.flows || 0);
    edges.forEach((e) => {
      const d = e.data();
      const failed = d.flows ? ((d.failed_flows ?? d.syn_only_flows) || 0) / d.flows : 0;
      let label;
      if (d.proto) label = d.dst_port === null || d.dst_port === undefined ? d.proto : d.proto + '/' + d.dst_port;
      else {
        const list = d.service_list || [];
        label = list.join(' ') + (d.services > list.length ? ' +' + (d.services - list.length) : '');
      }
      let color = failed > 0.5 ? UNANSWERED : EDGE;
      if (mode === 'rules' && d.style && d.style.color) color = d.style.color;
      if (mode === 'rules' && d.style && d.style.label) label = d.style.label;
      e.data({ dlabel: label, dwidth: 1 + 5 * ew.t(d.flows || 0), dcolor: color });
    });
    legend.sections.push({ title: 'Edges', items: [[UNANSWERED, 'mostly unanswered (SYN-only, S0, REJ)'], [EDGE, 'answered'],
      [null, 'width: flows (log scale), label: ' + (opts.per === 'pair' ? 'services' : 'proto/port')]] });
    return legend;
  };

  GF.renderLegend = function (container, legend) {
    GF.clear(container);
    legend.sections.forEach((s) => {
      container.append(GF.el('h4', { text: s.title }));
      const ul = GF.el('ul');
      s.items.forEach(([color, text]) => {
        const sw = GF.el('span', { class: 'swatch' });
        if (color) sw.style.backgroundColor = color; else sw.hidden = true;
        ul.append(GF.el('li', null, sw, GF.el('span', { class: 'legend-text', text: text })));
      });
      container.append(ul);
    });
  };

  GF.cyStyle = [
    { selector: 'node', style: {
      'background-color': 'data(dcolor)', 'width': 'data(dsize)', 'height': 'data(dsize)',
      'shape': 'data(dshape)', 'label': 'data(dlabel)', 'font-size': 9, 'color': '#222',
      'text-valign': 'bottom', 'text-halign': 'center', 'text-margin-y': 2,
      'text-wrap': 'wrap', 'text-max-width': 160, 'min-zoomed-font-size': 7,
      'border-width': 'data(dborderw)', 'border-color': 'data(dborder)' } },
    { selector: 'node:selected', style: { 'border-width': 4, 'border-color': '#111', 'overlay-opacity': 0.08 } },
    { selector: 'node.focus', style: { 'border-width': 5, 'border-color': '#fbc02d' } },
    { selector: 'edge', style: {
      'width': 'data(dwidth)', 'line-color': 'data(dcolor)', 'target-arrow-color': 'data(dcolor)',
      'target-arrow-shape': 'triangle', 'arrow-scale': 0.7, 'curve-style': 'bezier',
      'label': 'data(dlabel)', 'font-size': 7, 'color': '#555', 'min-zoomed-font-size': 8,
      'text-rotation': 'autorotate', 'text-background-color': '#fff', 'text-background-opacity': 0.7,
      'text-background-padding': 1, 'opacity': 0.85 } },
    { selector: 'edge.lite', style: { 'curve-style': 'haystack', 'haystack-radius': 0,
      'target-arrow-shape': 'none', 'label': '', 'opacity': 0.5 } },
    { selector: 'edge:selected', style: { 'line-color': '#111', 'target-arrow-color': '#111', 'width': 4 } },
  ];
}());
