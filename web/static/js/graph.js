/* The graph page: view state <-> URL, /api/graph -> Cytoscape.js, panels, exports.
   Every control is a query parameter; pushState on change, popstate restores, so back and
   forward walk through the drill-down and a view can be bookmarked. */
(function () {
  'use strict';
  const GF = window.GF;
  const el = GF.el;

  const LISTS = ['host', 'port', 'proto', 'set', 'expand', 'open', 'close'];
  const DEFAULTS = { from: '', to: '', scope: 'all', setop: 'union', min_weight: '0', per: 'port',
    fanout: '0', omit: '0', hops: '1', collapse: 'auto', prefix: '24', max_edges: '1500',
    finding: '', inv: '', layout: 'fcose', color: 'auto', size: 'degree', label: 'name', focus: '', sel: '' };
  const CLIENT_ONLY = new Set(['layout', 'color', 'size', 'label', 'focus', 'sel']);

  let state = null;
  let info = null;
  let lastServerQuery = null;
  let lastDoc = null;
  let cy = null;
  let renders = 0;
  let inflight = null;

  function readState() {
    const u = new URLSearchParams(window.location.search);
    const s = {};
    LISTS.forEach((k) => { s[k] = u.getAll(k).flatMap((v) => (k === 'port' || k === 'proto' ? v.split(',') : [v])).map((v) => v.trim()).filter(Boolean); });
    Object.keys(DEFAULTS).forEach((k) => { s[k] = u.has(k) ? u.get(k) : DEFAULTS[k]; });
    if (s.finding && !u.has('color')) s.color = 'finding';
    return s;
  }

  function toParams(s, serverOnly) {
    const p = {};
    LISTS.forEach((k) => { if (s[k].length) p[k] = s[k]; });
    Object.keys(DEFAULTS).forEach((k) => {
      if (serverOnly && CLIENT_ONLY.has(k)) return;
      if (s[k] !== '' && s[k] !== DEFAULTS[k]) p[k] = s[k];
    });
    if (serverOnly && s.color === 'rules') p.style = 'rules';
    return p;
  }

  function commit(mutate, opts) {
    const next = JSON.parse(JSON.stringify(state));
    mutate(next);
    state = next;
    const url = '?' + GF.qs(toParams(state, false));
    if (opts && opts.replace) window.history.replaceState(null, '', url);
    else window.history.pushState(null, '', url);
    load();
  }

  function windowParams() { const w = {}; if (state.from) w.from = state.from; if (state.to) w.to = state.to; return w; }

  // ---- controls ------------------------------------------------------------------------------
  const $ = (id) => document.getElementById(id);

  function fillControls() {
    const days = info.days.map((d) => d.day);
    const fromI = state.from ? Math.max(0, days.indexOf(state.from)) : 0;
    const toI = state.to ? Math.max(0, days.indexOf(state.to)) : Math.max(0, days.length - 1);
    $('day-from').value = String(fromI); $('day-to').value = String(toI);
    $('day-from-label').textContent = days[fromI] || '';
    $('day-to-label').textContent = days[toI] || '';
    $('f-host').value = state.host.join(', ');
    $('f-port').value = state.port.join(',');
    document.querySelectorAll('#f-proto input').forEach((c) => { c.checked = state.proto.includes(c.value); });
    if ($('f-scope')) $('f-scope').value = state.scope;
    $('f-set').value = state.set.join(', ');
    $('f-setop').value = state.setop;
    $('f-min-weight').value = state.min_weight;
    $('g-per').value = state.per; $('g-layout').value = state.layout; $('g-color').value = state.color;
    if ($('g-color').value !== state.color) $('g-color').value = 'auto';
    $('g-size').value = state.size; $('g-label').value = state.label;
    $('g-fanout').value = state.fanout; $('g-omit').value = state.omit;
    $('g-max-edges').value = state.max_edges; $('g-collapse').value = state.collapse;
    $('g-prefix').value = state.prefix; $('g-hops').value = state.hops;
  }

  function splitList(v) { return v.split(',').map((x) => x.trim()).filter(Boolean); }

  function bindControls() {
    const days = info.days.map((d) => d.day);
    const max = Math.max(0, days.length - 1);
    ['day-from', 'day-to'].forEach((id) => {
      const r = $(id); r.min = '0'; r.max = String(max);
      r.addEventListener('input', () => { $(id + '-label').textContent = days[Number(r.value)] || ''; });
      r.addEventListener('change', () => {
        let a = Number($('day-from').value); let b = Number($('day-to').value);
        if (a > b) { if (id === 'day-from') b = a; else a = b; }
        commit((s) => { s.from = a > 0 ? days[a] : ''; s.to = b < max ? days[b] : ''; });
      });
    });
    const text = (id, key, parse) => $(id).addEventListener('change', () => commit((s) => { s[key] = parse($(id).value); }));
    text('f-host', 'host', splitList);
    text('f-port', 'port', splitList);
    text('f-set', 'set', splitList);
    text('f-min-weight', 'min_weight', (v) => String(Math.max(0, Number(v) || 0)));
    text('g-fanout', 'fanout', (v) => String(Math.max(0, Number(v) || 0)));
    text('g-omit', 'omit', (v) => String(Math.max(0, Number(v) || 0)));
    text('g-max-edges', 'max_edges', (v) => String(Math.max(1, Number(v) || 1)));
    text('g-hops', 'hops', (v) => String(Math.min(info.limits.max_hops, Math.max(1, Number(v) || 1))));
    document.querySelectorAll('#f-proto input').forEach((c) => c.addEventListener('change', () => commit((s) => {
      s.proto = Array.from(document.querySelectorAll('#f-proto input:checked')).map((x) => x.value);
    })));
    const sel = (id, key) => { if ($(id)) $(id).addEventListener('change', () => commit((s) => { s[key] = $(id).value; })); };
    [['f-scope', 'scope'], ['f-setop', 'setop'], ['g-per', 'per'], ['g-layout', 'layout'], ['g-color', 'color'],
      ['g-size', 'size'], ['g-label', 'label'], ['g-collapse', 'collapse'], ['g-prefix', 'prefix']].forEach(([id, k]) => sel(id, k));
    $('btn-reset').addEventListener('click', () => commit((s) => { Object.assign(s, DEFAULTS); LISTS.forEach((k) => { s[k] = []; }); }));
    $('btn-fit').addEventListener('click', () => fit());
    $('btn-query').addEventListener('click', () => { const q = $('query-box'); q.hidden = !q.hidden; });
    document.querySelectorAll('[data-export]').forEach((b) => b.addEventListener('click', () => exportView(b.dataset.export)));
  }

  // ---- rendering -----------------------------------------------------------------------------
  function setStatus(text) { $('status').textContent = text; }

  function notice(text) { const n = $('notice'); n.textContent = text || ''; n.hidden = !text; }

  function restyle() {
    cy.style().selector('node').style('min-zoomed-font-size', cy.nodes().length > 400 ? 12 : 7).update();
    cy.batch(() => { if (isBig()) cy.edges().addClass('lite'); });
    const legend = GF.applyStyle(cy, { color: state.color, size: state.size, label: state.label, per: state.per, hasHosts: info.has_hosts });
    GF.renderLegend($('legend'), legend);
  }

  function elementsOf(doc) {
    const els = [];
    doc.nodes.forEach((n) => els.push({ group: 'nodes', data: Object.assign({}, n) }));
    doc.edges.forEach((e) => els.push({ group: 'edges', data: Object.assign({}, e) }));
    return els;
  }

  function layoutOptions(n, reuse) {
    const focus = state.focus && cy.getElementById(state.focus).nonempty() ? state.focus : null;
    const name = state.layout;
    if (name === 'concentric') {
      const f = focus ? cy.getElementById(focus) : null;
      const near = f ? f.neighborhood().nodes() : cy.collection();
      return { name: 'concentric', animate: false, minNodeSpacing: 8, levelWidth: () => 1,
        concentric: (node) => (f && node.same(f) ? 3 : (near.has(node) ? 2 : 1)) };
    }
    if (name === 'dagre') return { name: 'dagre', animate: false, rankDir: 'LR', nodeSep: 8, rankSep: 90 };
    if (name === 'breadthfirst') return { name: 'breadthfirst', animate: false, directed: true, spacingFactor: 0.9, roots: focus ? [cy.getElementById(focus)] : undefined };
    if (name === 'grid') return { name: 'grid', animate: false };
    return { name: 'fcose', animate: false, randomize: !reuse, quality: n > 1500 ? 'draft' : 'default',
      nodeRepulsion: 6000, idealEdgeLength: 70, numIter: n > 2000 ? 1200 : 2500, packComponents: true, nodeDimensionsIncludeLabels: false };
  }

  const timings = {};
  const mark = (name, t0) => { timings[name] = Math.round(performance.now() - t0); return performance.now(); };

  function render(doc) {
    let t = performance.now();
    const old = new Map();
    cy.nodes().forEach((n) => old.set(n.id(), Object.assign({}, n.position())));
    cy.batch(() => { cy.elements().remove(); cy.add(elementsOf(doc)); });
    t = mark('add', t);
    restyle();
    mark('style', t);
    let reused = 0;
    cy.nodes().forEach((n) => {
      const p = old.get(n.id());
      if (p) { n.position(p); reused++; }
    });
    const reuse = reused > 0 && reused >= cy.nodes().length * 0.3 && state.layout === 'fcose';
    if (reuse) {
      cy.nodes().forEach((n) => {
        if (old.has(n.id())) return;
        const nb = n.neighborhood().nodes().filter((m) => old.has(m.id()));
        const base = nb.nonempty() ? old.get(nb[0].id()) : { x: 0, y: 0 };
        n.position({ x: base.x + (Math.random() - 0.5) * 80, y: base.y + (Math.random() - 0.5) * 80 });
      });
    }
    runLayout(reuse);
  }

  /** Big graphs: simpler edges (straight, no arrows or labels) so that drawing stays fast. */
  const BIG_NODES = 1200; const BIG_EDGES = 4000;
  function isBig() { return cy.nodes().length > BIG_NODES || cy.edges().length > BIG_EDGES; }

  function runLayout(reuse) {
    document.body.dataset.state = 'layout';
    const n = cy.nodes().length;
    if (!n) { finishRender(); return; }
    const opts = layoutOptions(n, reuse);
    if (isBig() && opts.name === 'fcose') {
      // lay out on a headless copy (no drawing while it iterates), then place the nodes at once
      const h = window.cytoscape({ headless: true, styleEnabled: false, elements:
        cy.nodes().map((x) => ({ group: 'nodes', data: { id: x.id() }, position: Object.assign({}, x.position()) }))
          .concat(cy.edges().map((e) => ({ group: 'edges', data: { id: e.id(), source: e.data('source'), target: e.data('target') } }))) });
      let t = performance.now();
      h.layout(opts).run();
      t = mark('layout', t);
      const pos = {};
      h.nodes().forEach((x) => { pos[x.id()] = x.position(); });
      h.destroy();
      cy.layout({ name: 'preset', animate: false, fit: false, positions: (x) => pos[x.id()] }).run();
      mark('place', t);
      finishRender();
      return;
    }
    const layout = cy.layout(opts);
    layout.one('layoutstop', () => finishRender());
    layout.run();
  }

  /** cy.fit() without measuring every label (slow on big graphs): node boxes only. */
  function fit() {
    if (cy.nodes().empty()) return;
    const bb = cy.nodes().boundingBox({ includeLabels: false, includeOverlays: false, includeEdges: false });
    const w = cy.width(); const h = cy.height(); const pad = 40;
    let z = Math.min((w - 2 * pad) / Math.max(bb.w, 1), (h - 2 * pad) / Math.max(bb.h, 1));
    z = Math.max(cy.minZoom(), Math.min(z, 2));
    cy.viewport({ zoom: z, pan: { x: (w - z * (bb.x1 + bb.x2)) / 2, y: (h - z * (bb.y1 + bb.y2)) / 2 } });
  }

  function finishRender() {
    const t = performance.now();
    fit();
    mark('fit', t);
    applyFocus();
    renders++;
    document.body.dataset.render = String(renders);
    document.body.dataset.state = 'ready';
  }

  function applyFocus() {
    cy.nodes().removeClass('focus');
    if (!state.focus) return;
    const n = cy.getElementById(state.focus);
    if (n.empty()) return;
    n.addClass('focus');
    if (cy.nodes().length > 1) cy.zoom({ level: Math.max(cy.zoom(), 1.2), renderedPosition: n.renderedPosition() });
    cy.center(n);
  }

  function describe(doc) {
    const s = doc.stats;
    let text = GF.fmt.num(s.nodes) + ' nodes, ' + GF.fmt.num(s.edges_shown) + ' edges';
    if (s.truncated) text += ' (heaviest ' + GF.fmt.num(s.edges_shown) + ' of ' + GF.fmt.num(s.edges_total) + ')';
    if (doc.finding) text += ' — finding ' + doc.finding.analysis + ' on ' + doc.finding.entity;
    setStatus(text);
    $('status').dataset.nodes = String(s.nodes);
    $('status').dataset.edges = String(s.edges_shown);
    const notes = [];
    if (s.collapsed_by) {
      const subnet = 'subnet /' + s.prefix + ' (IPv6 /' + ({ 24: 64, 16: 48, 8: 32 }[s.prefix] || 64) + ')';
      const how = s.collapsed_by === 'subnet' ? subnet
        : (s.collapsed_by === 'subnet+asn' ? subnet + ' for own hosts and by ASN for external hosts' : (s.collapsed_by === 'asn' ? 'ASN' : 'DNS domain'));
      notes.push((s.auto_collapsed ? 'The selection has ' + GF.fmt.num(s.selection_edges) + ' edges (more than ' + GF.fmt.num(s.max_edges) + '), so hosts are grouped by ' : 'Hosts grouped by ') + how + '. Double-click a group to open it.');
    }
    if (s.truncated) notes.push('Only the ' + GF.fmt.num(s.edges_shown) + ' heaviest edges are drawn: narrow the selection (time window, hosts, ports) or raise max edges.');
    if (s.finding_flows_truncated) notes.push('The finding has more flows than the graph takes; the heaviest are shown.');
    notice(notes.join(' '));
    const q = doc.query || {};
    const box = $('query-box');
    box.textContent = q.kind === 'finding'
      ? 'analysis: ' + q.analysis + '\nparameters: ' + JSON.stringify(q.params, null, 1) + '\nflows: ' + q.cli + (q.cypher ? '\n\nCypher:\n' + q.cypher : '')
      : 'graphflow CLI equivalent:\n' + q.cli + '\n\nselection:\n' + JSON.stringify(q.params, null, 1);
  }

  async function load() {
    if (!cy) return;
    const serverQuery = GF.qs(toParams(state, true));
    document.body.dataset.state = 'loading';
    try {
      if (serverQuery !== lastServerQuery || !lastDoc) {
        if (inflight) inflight.abort();
        inflight = new AbortController();
        setStatus('loading…');
        const doc = await GF.api('graph', toParams(state, true), { signal: inflight.signal });
        inflight = null;
        lastServerQuery = serverQuery;
        lastDoc = doc;
        GF.showError(null);
        describe(doc);
        render(doc);
      } else {
        restyle();
        if (state.layout !== lastLayout) runLayout(false);
        else { applyFocus(); document.body.dataset.state = 'ready'; }
      }
      lastLayout = state.layout;
      await restorePanel();
    } catch (err) {
      if (err.name === 'AbortError') return;
      GF.showError(err);
      setStatus('');
      document.body.dataset.state = 'error';
    }
  }
  let lastLayout = null;

  // ---- panels --------------------------------------------------------------------------------
  const panel = () => $('panel');

  function hostActions(ip) {
    const acts = [];
    const expanded = state.expand.includes(ip);
    acts.push({ id: 'expand', label: expanded ? 'Remove expansion' : 'Expand neighbours (k=' + state.hops + ')', run: () => commit((s) => {
      s.expand = expanded ? s.expand.filter((x) => x !== ip) : s.expand.concat([ip]); s.sel = 'host:' + ip; s.focus = ip;
    }) });
    acts.push({ id: 'only', label: 'Show only this host', run: () => commit((s) => { s.host = [ip]; s.expand = []; s.open = []; s.close = []; s.finding = ''; s.focus = ip; s.sel = 'host:' + ip; }) });
    acts.push({ id: 'focus', label: 'Focus (concentric)', run: () => commit((s) => { s.focus = ip; s.layout = 'concentric'; s.sel = 'host:' + ip; }) });
    const node = cy.getElementById(ip);
    const group = node.nonempty() ? node.data('group') : null;
    if (group) {
      const collapsed = lastDoc && lastDoc.stats.collapsed_by;
      acts.push({ id: 'collapse', label: 'Collapse ' + group.replace('subnet:', ''), run: () => commit((s) => {
        if (collapsed && s.open.includes(group)) s.open = s.open.filter((x) => x !== group);
        else if (!s.close.includes(group)) s.close = s.close.concat([group]);
        s.expand = s.expand.filter((x) => x !== ip); s.sel = ''; s.focus = '';
      }) });
    }
    return acts;
  }

  function groupActions(id) {
    const acts = [{ id: 'open', label: 'Open this group', run: () => openGroup(id) }];
    if (id.startsWith('subnet:')) acts.push({ id: 'only', label: 'Show only this subnet', run: () => commit((s) => { s.host = [id.slice(7)]; s.open = []; s.close = []; s.expand = []; s.finding = ''; s.sel = ''; }) });
    return acts;
  }

  function openGroup(id) {
    commit((s) => {
      if (s.close.includes(id)) s.close = s.close.filter((x) => x !== id);
      else if (!s.open.includes(id)) s.open = s.open.concat([id]);
      s.sel = ''; s.focus = '';
    });
  }

  const panelCtx = (extra) => Object.assign({
    window: windowParams(),
    onPeer: (ip) => selectHost(ip),
    onFinding: (id) => commit((s) => { s.finding = id; s.sel = ''; s.focus = ''; s.color = 'finding'; }),
  }, extra || {});

  function selectHost(ip) {
    if (cy.getElementById(ip).empty()) {
      commit((s) => { s.expand = s.expand.includes(ip) ? s.expand : s.expand.concat([ip]); s.focus = ip; s.sel = 'host:' + ip; });
    } else {
      commit((s) => { s.focus = ip; s.sel = 'host:' + ip; });
    }
  }

  let shownPanel = null;
  async function restorePanel() {
    const sel = state.sel;
    const key = sel || ('finding:' + (lastDoc && lastDoc.finding ? lastDoc.finding.id : ''));
    if (key === shownPanel) return;
    shownPanel = key;
    cy.elements().unselect();
    if (!sel) {
      if (lastDoc && lastDoc.finding) { GF.findingPanel(panel(), lastDoc.finding, { actions: findingActions() }); return; }
      GF.clear(panel()).append(el('p', { class: 'hint', text: 'Click a node or an edge. Double-click a group to open it.' }));
      panel().dataset.kind = '';
      return;
    }
    if (sel.startsWith('host:')) {
      const ip = sel.slice(5);
      cy.getElementById(ip).select();
      await GF.hostPanel(panel(), ip, panelCtx({ actions: hostActions(ip) }));
    } else if (sel.startsWith('group:')) {
      const id = sel.slice(6);
      const n = cy.getElementById(id);
      if (n.nonempty()) { n.select(); GF.groupPanel(panel(), n.data(), { actions: groupActions(id) }); }
    } else if (sel.startsWith('edge:')) {
      let key = null;
      try { key = JSON.parse(sel.slice(5)); } catch (e) { key = null; }
      if (!Array.isArray(key)) return;
      const e = cy.edges().filter((x) => x.data('source') === key[0] && x.data('target') === key[1] &&
        (x.data('dst_port') ?? null) === (key[2] ?? null) && (x.data('proto') ?? null) === (key[3] ?? null));
      if (e.nonempty()) { e.select(); await GF.edgePanel(panel(), e[0].data(), panelCtx()); }
    }
  }

  function findingActions() {
    return [{ id: 'close-finding', label: 'Close the finding', run: () => commit((s) => { s.finding = ''; s.sel = ''; if (s.color === 'finding') s.color = 'auto'; }) }];
  }

  // ---- tooltip -------------------------------------------------------------------------------
  function tooltip(ev, show) {
    const tip = $('tooltip');
    if (!show) { tip.hidden = true; return; }
    const d = ev.target.data();
    let lines;
    if (ev.target.isNode()) {
      lines = d.kind === 'group'
        ? [d.label || d.id, GF.fmt.num(d.members) + ' hosts']
        : [d.ip].concat(d.name ? [d.name] : []).concat(d.dns && d.dns.length ? [d.dns.join(', ')] : []).concat(d.role ? ['role ' + d.role] : []);
      lines.push('flows out ' + GF.fmt.num(d.out_flows) + ', in ' + GF.fmt.num(d.in_flows));
    } else {
      lines = [d.source + ' → ' + d.target, d.dlabel, GF.fmt.num(d.flows) + ' flows, ' + GF.fmt.bytes(d.bytes)];
    }
    tip.textContent = lines.join('\n');
    const p = ev.renderedPosition || ev.target.renderedMidpoint && ev.target.renderedMidpoint() || { x: 0, y: 0 };
    tip.style.left = (p.x + 14) + 'px';
    tip.style.top = (p.y + 40) + 'px';
    tip.hidden = false;
  }

  // ---- exports -------------------------------------------------------------------------------
  function download(blob, name) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  function exportView(fmt) {
    if (fmt === 'png') { download(cy.png({ output: 'blob', full: true, scale: 2, bg: '#ffffff' }), 'graphflow-view.png'); return; }
    if (fmt === 'svg') {
      if (typeof cy.svg !== 'function') { GF.showError('SVG export unavailable (front-end files missing)'); return; }
      download(new Blob([cy.svg({ full: true, bg: '#ffffff' })], { type: 'image/svg+xml' }), 'graphflow-view.svg');
      return;
    }
    const params = toParams(state, true);
    let path = fmt;
    if (fmt === 'csv-nodes') { path = 'csv'; params.what = 'nodes'; }
    window.location.assign('/api/export/' + path + '?' + GF.qs(params));
  }

  // ---- search hook ---------------------------------------------------------------------------
  GF.onSearchPick = function (ip, isCidr) {
    if (isCidr) { commit((s) => { s.host = [ip]; s.expand = []; s.finding = ''; s.open = []; s.close = []; s.sel = ''; s.focus = ''; }); return; }
    const n = cy.getElementById(ip);
    if (n.nonempty()) {
      commit((s) => { s.focus = ip; s.sel = 'host:' + ip; });
    } else {
      commit((s) => { s.host = [ip]; s.expand = []; s.finding = ''; s.open = []; s.close = []; s.focus = ip; s.sel = 'host:' + ip; });
    }
  };

  // ---- start ---------------------------------------------------------------------------------
  function registerExtensions() {
    const cs = window.cytoscape;
    if (window.cytoscapeDagre) { try { cs.use(window.cytoscapeDagre); } catch (e) { /* registered */ } }
    // fcose and svg register themselves when loaded after cytoscape; dagre needs this call
  }

  async function start() {
    state = readState();
    try {
      info = await GF.info();
    } catch (err) { GF.showError(err); document.body.dataset.state = 'error'; return; }
    if (typeof window.cytoscape !== 'function') {
      GF.showError(info.features.frontend.reason || 'cytoscape.js is missing');
      document.body.dataset.state = 'error';
      return;
    }
    registerExtensions();
    cy = window.cytoscape({ container: $('cy'), style: GF.cyStyle,
      hideEdgesOnViewport: true, textureOnViewport: true, minZoom: 0.02, maxZoom: 6 });
    window.graphflow = {
      get cy() { return cy; }, get state() { return state; }, get doc() { return lastDoc; },
      /** Draw a graph document as /api/graph returns it (used by bench/web_bench.py). */
      render(doc) { lastDoc = doc; describe(doc); render(doc); },
      timings: timings,
    };
    fillControls();
    bindControls();
    cy.on('tap', 'node', (ev) => {
      const d = ev.target.data();
      commit((s) => { s.sel = (d.kind === 'group' ? 'group:' : 'host:') + d.id; if (d.kind !== 'group') s.focus = d.id; });
    });
    cy.on('dbltap', 'node', (ev) => { if (ev.target.data('kind') === 'group') openGroup(ev.target.id()); });
    cy.on('tap', 'edge', (ev) => {
      const d = ev.target.data();
      commit((s) => { s.sel = 'edge:' + JSON.stringify([d.source, d.target, d.dst_port ?? null, d.proto ?? null]); });
    });
    cy.on('tap', (ev) => { if (ev.target === cy && state.sel) commit((s) => { s.sel = ''; s.focus = ''; }); });
    cy.on('mouseover', 'node, edge', (ev) => tooltip(ev, true));
    cy.on('mouseout', 'node, edge', (ev) => tooltip(ev, false));
    cy.on('viewport', () => { $('tooltip').hidden = true; });
    window.addEventListener('popstate', () => { state = readState(); fillControls(); load(); });
    load();
  }

  document.addEventListener('DOMContentLoaded', start);
}());
