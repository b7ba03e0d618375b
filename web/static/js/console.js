/* The read-only Cypher console: results as a table or as a graph. */
(function () {
  'use strict';
  const GF = window.GF;
  const el = GF.el;
  const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]+)$/;

  function asGraph(result) {
    const nodes = new Map(); const edges = [];
    result.rows.forEach((row, i) => {
      const ips = row.filter((v) => typeof v === 'string' && IP.test(v));
      ips.forEach((ip) => nodes.set(ip, { data: { id: ip, label: ip } }));
      if (ips.length >= 2) edges.push({ data: { id: 'r' + i, source: ips[0], target: ips[1], label: row.filter((v) => !ips.includes(v)).map((v) => GF.fmt.text(v)).join(' ') } });
    });
    return Array.from(nodes.values()).concat(edges);
  }

  document.addEventListener('DOMContentLoaded', () => {
    const form = document.getElementById('cypher-form');
    const status = document.getElementById('cypher-status');
    const out = document.getElementById('cypher-result');
    const cyBox = document.getElementById('cy');
    let cy = null;
    document.body.dataset.state = 'ready';
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      document.body.dataset.state = 'loading';
      GF.clear(out); status.textContent = 'running…'; status.classList.remove('error-text');
      try {
        const doc = await GF.api('cypher', null, { body: { query: document.getElementById('cypher-query').value, limit: Number(document.getElementById('cypher-limit').value) || 1000 } });
        const r = doc.result;
        status.textContent = r.rows.length + ' row(s)';
        if (document.getElementById('cypher-view').value === 'graph' && typeof window.cytoscape === 'function') {
          cyBox.hidden = false;
          if (!cy) cy = window.cytoscape({ container: cyBox, style: [
            { selector: 'node', style: { label: 'data(label)', 'font-size': 9, 'background-color': '#4e79a7', width: 16, height: 16 } },
            { selector: 'edge', style: { label: 'data(label)', 'font-size': 7, 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', width: 1.5 } }] });
          cy.elements().remove(); cy.add(asGraph(r));
          cy.layout({ name: window.cytoscapeFcose || cy.fcose ? 'fcose' : 'cose', animate: false }).run();
        } else {
          cyBox.hidden = true;
          out.append(GF.table(r.columns.map((c, i) => ({ key: String(i), label: c, fmt: (row) => GF.fmt.text(row[i]) })), r.rows, { id: 'cypher-table' }));
        }
      } catch (err) {
        status.textContent = err.message; status.classList.add('error-text');
      }
      document.body.dataset.state = 'ready';
    });
  });
}());
