/* The high-value-asset page: each HVA's neighbourhood in figures, one click to its graph. */
(function () {
  'use strict';
  const GF = window.GF;
  const el = GF.el;

  document.addEventListener('DOMContentLoaded', async () => {
    const box = document.getElementById('hva-list');
    const status = document.getElementById('hva-status');
    try {
      const doc = await GF.api('hva');
      status.textContent = doc.hvas.length + ' high-value asset(s); new peers: first seen since ' + doc.new_since + (doc.comparable ? '' : ' (no earlier days to compare with)');
      box.append(GF.table([
        { key: 'ip', fmt: (h) => el('a', { href: '/?' + GF.qs({ host: h.ip, focus: h.ip, sel: 'host:' + h.ip, layout: 'concentric' }), class: 'hva-link', text: h.ip }) },
        { key: 'name' }, { key: 'role' }, { key: 'owner' },
        { key: 'peers_in', label: 'peers in', num: true }, { key: 'peers_out', label: 'peers out', num: true },
        { key: 'internal_peers', label: 'internal', num: true }, { key: 'external_peers', label: 'external', num: true },
        { key: 'ports_in', label: 'ports served', fmt: (h) => (h.ports_in || []).join(' ') },
        { key: 'flows', num: true, fmt: (h) => GF.fmt.num(h.flows) },
        { key: 'first_seen', label: 'first / last seen', fmt: (h) => GF.fmt.time(h.first_seen) + ' … ' + GF.fmt.time(h.last_seen) },
        { key: 'new_peers', label: 'new peers', fmt: (h) => (h.new_peers || []).join(', ') },
      ], doc.hvas, { id: 'hva-table' }));
    } catch (err) { GF.showError(err); }
    document.body.dataset.state = 'ready';
  });
}());
