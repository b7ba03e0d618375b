/* The side panels: host, group, edge and finding. Built with GF.el (text only). */
(function () {
  'use strict';
  const GF = window.GF = window.GF || {};
  const el = GF.el;
  let chart = null;

  function section(title) { return el('h3', { text: title }); }

  function dailyChart(container, daily) {
    if (chart) { chart.destroy(); chart = null; }
    if (typeof window.Chart !== 'function') {
      container.append(el('p', { class: 'hint', text: 'charts unavailable (front-end files missing)' }));
      return;
    }
    const canvas = el('canvas', { id: 'daily-chart' });
    container.append(el('div', { class: 'chart-box' }, canvas));
    chart = new window.Chart(canvas, {
      type: 'bar',
      data: {
        labels: daily.map((d) => d.day),
        datasets: [
          { label: 'bytes', data: daily.map((d) => d.bytes), backgroundColor: '#4e79a7' },
          { label: 'same weekday one week earlier', data: daily.map((d) => (d.week_before ? d.week_before.bytes : null)), backgroundColor: '#bab0ac' },
        ],
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: { y: { ticks: { callback: (v) => GF.fmt.bytes(v) } } },
        plugins: { tooltip: { callbacks: { label: (c) => c.dataset.label + ': ' + GF.fmt.bytes(c.raw) } } },
      },
    });
  }

  function peerTable(rows, onPick) {
    return GF.table([
      { key: 'ip', label: 'peer' },
      { key: 'name', label: 'name', fmt: (r) => r.name || (r.dns && r.dns[0]) || '' },
      { key: 'flows', num: true, fmt: (r) => GF.fmt.num(r.flows) },
      { key: 'bytes', num: true, fmt: (r) => GF.fmt.bytes(r.bytes) },
    ], rows, { onRowClick: (r) => onPick(r.ip) });
  }

  function portTable(rows) {
    return GF.table([
      { key: 'service', label: 'port', fmt: (r) => r.proto + (r.dst_port === null ? '' : '/' + r.dst_port) },
      { key: 'flows', num: true, fmt: (r) => GF.fmt.num(r.flows) },
      { key: 'peers', num: true },
      { key: 'unanswered', num: true },
      { key: 'bytes', num: true, fmt: (r) => GF.fmt.bytes(r.bytes) },
    ], rows);
  }

  /** The host panel; ctx: {window: {from, to}, actions: [{label, run}], onPeer(ip), onFinding(id)}. */
  GF.hostPanel = async function (container, ip, ctx) {
    GF.clear(container);
    container.dataset.kind = 'host'; container.dataset.id = ip; container.dataset.state = 'loading';
    const title = el('h2', { id: 'panel-title', text: ip });
    container.append(title);
    const actions = el('div', { class: 'buttons', id: 'host-actions' });
    (ctx.actions || []).forEach((a) => actions.append(el('button', { type: 'button', text: a.label, dataset: { action: a.id }, onclick: a.run })));
    container.append(actions);
    let doc;
    try {
      doc = await GF.api('hosts/' + encodeURIComponent(ip), ctx.window || {});
    } catch (err) {
      container.append(el('p', { class: 'error-text', text: err.message }));
      container.dataset.state = 'error';
      return;
    }
    const h = doc.host || {};
    if (h.name || (h.dns && h.dns.length)) title.append(el('div', { class: 'hint', id: 'panel-name', text: [h.name].concat(h.dns || []).filter(Boolean).join(', ') }));
    container.append(section('Asset'));
    if (!doc.has_hosts) container.append(el('p', { class: 'hint', text: 'Hosts table not built: run graphflow enrich for asset, GeoIP, ASN and DNS information.' }));
    container.append(GF.kv([
      ['address class', doc.address_class], ['own', h.own === undefined ? null : (h.own ? 'yes' : 'no')],
      ['high-value asset', h.hva ? 'yes' : null], ['role', h.role], ['asset name', h.name],
      ['owner', h.owner], ['criticality', h.criticality], ['whitelisted', h.whitelisted ? 'yes' : null],
      ['DNS names', h.dns && h.dns.length ? h.dns.join(', ') : null], ['DNS domain', h.domain],
      ['country', h.country ? h.country + (h.country_name ? ' (' + h.country_name + ')' : '') : null],
      ['city', h.city], ['ASN', h.asn !== null && h.asn !== undefined ? 'AS' + h.asn + (h.as_org ? ' ' + h.as_org : '') : null],
      ['subnet', doc.group.replace('subnet:', '')],
    ]));
    const t = doc.totals;
    container.append(section('Traffic'), GF.kv([
      ['flows out / in', GF.fmt.num(t.flows_out) + ' / ' + GF.fmt.num(t.flows_in)],
      ['bytes sent / received', GF.fmt.bytes(t.bytes_sent) + ' / ' + GF.fmt.bytes(t.bytes_received)],
      ['peers out / in', GF.fmt.num(t.peers_out) + ' / ' + GF.fmt.num(t.peers_in)],
      ['first / last seen', GF.fmt.time(t.first_seen) + ' … ' + GF.fmt.time(t.last_seen)],
    ]));
    container.append(section('Daily volume'));
    dailyChart(container, doc.daily);
    const findingsBox = el('div', { id: 'host-findings', class: 'findings-of-host' });
    container.append(section('Findings'), findingsBox);
    container.append(section('Ports served'), portTable(doc.ports_served));
    container.append(section('Ports used'), portTable(doc.ports_used));
    container.append(section('Peers out (top)'), peerTable(doc.peers_out, ctx.onPeer));
    container.append(section('Peers in (top)'), peerTable(doc.peers_in, ctx.onPeer));
    const flowsBox = el('div', { id: 'host-flows' });
    container.append(section('Flows'), el('button', { type: 'button', id: 'host-flows-btn', text: 'Show flows of this host', onclick: (ev) => {
      ev.target.remove();
      GF.flowsTable(flowsBox, (limit, offset) => GF.api('flows', Object.assign({ host: ip, limit: limit, offset: offset }, ctx.window || {})), 25);
    } }), flowsBox);
    container.dataset.state = 'ready';
    loadHostFindings(findingsBox, ip, ctx);
  };

  async function loadHostFindings(box, ip, ctx) {
    const info = await GF.info();
    if (!info.features.analyses.available) {
      box.append(el('p', { class: 'hint', text: 'Analyses unavailable: ' + info.features.analyses.reason }));
      return;
    }
    box.append(el('p', { class: 'hint', text: 'running the analyses…' }));
    box.dataset.state = 'loading';
    try {
      const doc = await GF.api('hosts/' + encodeURIComponent(ip) + '/findings');
      GF.clear(box);
      if (!doc.findings.length) box.append(el('p', { class: 'hint', text: 'none (default parameters)' }));
      const ul = el('ul');
      doc.findings.forEach((f) => {
        ul.append(el('li', null,
          el('a', { href: '/?' + GF.qs({ finding: f.id }), class: 'finding-link', dataset: { finding: f.id }, text: f.analysis, onclick: (ev) => { if (ctx.onFinding) { ev.preventDefault(); ctx.onFinding(f.id); } } }),
          ' ', f.entity === ip ? el('span', { class: 'tag', text: 'entity' }) : el('span', { class: 'tag', text: 'member of ' + f.entity }),
          ' ', el('span', { class: 'hint', text: summarize(f.figures) })));
      });
      box.append(ul);
    } catch (err) {
      GF.clear(box).append(el('p', { class: 'error-text', text: err.message }));
    }
    box.dataset.state = 'ready';
  }

  function summarize(figures) {
    return Object.entries(figures || {}).filter(([, v]) => v === null || typeof v !== 'object')
      .slice(0, 5).map(([k, v]) => k + ' ' + GF.fmt.text(v)).join(', ');
  }
  GF.summarizeFigures = summarize;

  GF.groupPanel = function (container, node, ctx) {
    GF.clear(container);
    container.dataset.kind = 'group'; container.dataset.id = node.id;
    container.append(el('h2', { id: 'panel-title', text: node.label || node.id }));
    const actions = el('div', { class: 'buttons', id: 'group-actions' });
    (ctx.actions || []).forEach((a) => actions.append(el('button', { type: 'button', text: a.label, dataset: { action: a.id }, onclick: a.run })));
    container.append(actions, GF.kv([
      ['group', node.id], ['hosts', GF.fmt.num(node.members)],
      ['flows out / in', GF.fmt.num(node.out_flows) + ' / ' + GF.fmt.num(node.in_flows)],
      ['flows inside the group', GF.fmt.num(node.internal_flows)], ['bytes', GF.fmt.bytes(node.bytes)],
    ]));
    container.dataset.state = 'ready';
  };

  /** The edge panel with the paged flows table; edge = node data of the edge. */
  GF.edgePanel = async function (container, e, ctx) {
    GF.clear(container);
    container.dataset.kind = 'edge'; container.dataset.id = e.id; container.dataset.state = 'loading';
    const label = e.proto ? (e.proto + (e.dst_port === null || e.dst_port === undefined ? '' : '/' + e.dst_port)) : 'all ports';
    container.append(el('h2', { id: 'panel-title', text: e.source + ' → ' + e.target + ' (' + label + ')' }));
    if (e.grouped) {
      container.append(GF.kv([['flows', GF.fmt.num(e.flows)], ['bytes', GF.fmt.bytes(e.bytes)],
        ['services', (e.service_list || []).join(' ')], ['first / last seen', GF.fmt.time(e.first_seen) + ' … ' + GF.fmt.time(e.last_seen)]]));
      container.append(el('p', { class: 'hint', text: 'This edge joins groups of hosts: open the groups to see single edges and their flows.' }));
      container.dataset.state = 'ready';
      return;
    }
    const q = Object.assign({ src: e.source, dst: e.target }, ctx.window || {});
    if (e.proto) { q.proto = e.proto; if (e.dst_port !== null && e.dst_port !== undefined) q.port = e.dst_port; }
    try {
      const d = await GF.api('edge', q);
      container.append(GF.kv([
        ['flows', GF.fmt.num(d.flows)], ['bytes src → dst', GF.fmt.bytes(d.src_bytes)], ['bytes dst → src', GF.fmt.bytes(d.dst_bytes)],
        ['packets', GF.fmt.num(d.src_pkts) + ' / ' + GF.fmt.num(d.dst_pkts)],
        ['first seen', GF.fmt.time(d.first_seen)], ['last seen', GF.fmt.time(d.last_seen)], ['days', d.days],
        ['unanswered (SYN-only)', GF.fmt.num(d.syn_only_flows)], ['S0 / REJ', GF.fmt.num(d.s0_flows) + ' / ' + GF.fmt.num(d.rej_flows)],
        ['services', (d.services || []).join(' ')],
      ]));
    } catch (err) {
      container.append(el('p', { class: 'error-text', text: err.message }));
    }
    const box = el('div', { id: 'edge-flows' });
    container.append(el('h3', { text: 'Flows' }), box);
    GF.flowsTable(box, (limit, offset) => GF.api('flows', Object.assign({}, q, { limit: limit, offset: offset })), 100);
    container.dataset.state = 'ready';
  };

  /** The finding panel: evidence, figures, the query behind, flows behind. */
  GF.findingPanel = function (container, f, ctx) {
    GF.clear(container);
    container.dataset.kind = 'finding'; container.dataset.id = f.id;
    container.append(el('h2', { id: 'panel-title', text: f.analysis + ': ' + f.entity }));
    const actions = el('div', { class: 'buttons' });
    (ctx.actions || []).forEach((a) => actions.append(el('button', { type: 'button', text: a.label, dataset: { action: a.id }, onclick: a.run })));
    container.append(actions);
    container.append(GF.kv([['finding', f.id], ['entity', f.entity],
      ['members', (f.members || []).length ? (f.members || []).join(', ') : null]]));
    container.append(el('h3', { text: 'Figures' }), GF.kv(Object.entries(f.figures || {})));
    container.append(el('h3', { text: 'Evidence' }), GF.kv(Object.entries(f.evidence || {})));
    if (f.query) {
      container.append(el('details', { class: 'query' }, el('summary', { text: 'Query behind this finding' }),
        el('pre', { text: 'analysis: ' + f.query.analysis + '\nparameters: ' + JSON.stringify(f.query.params, null, 1) + (f.query.cypher ? '\n\nCypher:\n' + f.query.cypher : '') })));
    }
    const box = el('div', { id: 'finding-flows' });
    container.append(el('h3', { text: 'Flows behind the finding' }), box);
    GF.flowsTable(box, (limit, offset) => GF.api('findings/' + encodeURIComponent(f.id) + '/flows', { limit: limit, offset: offset }), 25);
    container.dataset.state = 'ready';
  };
}());
