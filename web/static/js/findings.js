/* Findings pages: the list of analyses, and one analysis' findings with their evidence. */
(function () {
  'use strict';
  const GF = window.GF;
  const el = GF.el;

  async function listPage() {
    const box = document.getElementById('analyses-list');
    try {
      const doc = await GF.api('analyses');
      doc.analyses.forEach((a) => {
        box.append(el('div', { class: 'card', dataset: { analysis: a.name } },
          el('h3', null, el('a', { href: '/findings/' + encodeURIComponent(a.name), text: a.name })),
          el('p', { text: a.summary }), el('p', { class: 'explain', text: a.explain }),
          a.params.length ? GF.table([{ key: 'name', label: 'parameter' }, { key: 'type' }, { key: 'default', fmt: (p) => GF.fmt.text(p.default) }, { key: 'help' }], a.params) : null));
      });
    } catch (err) { GF.showError(err); }
    document.body.dataset.state = 'ready';
  }

  function figuresCell(f) {
    const d = el('div');
    Object.entries(f.figures || {}).forEach(([k, v]) => d.append(el('span', { class: 'tag', text: k + ': ' + GF.fmt.text(v) })));
    return d;
  }

  async function analysisPage(page) {
    const name = page.dataset.analysis;
    const form = document.getElementById('params-form');
    const list = document.getElementById('findings-list');
    const status = document.getElementById('findings-status');
    let meta;
    try {
      meta = (await GF.api('analyses')).analyses.find((a) => a.name === name.replace(/-/g, '_'));
    } catch (err) { GF.showError(err); document.body.dataset.state = 'error'; return; }
    if (!meta) { GF.showError('no analysis named ' + name); document.body.dataset.state = 'error'; return; }
    document.getElementById('analysis-title').textContent = meta.name;
    document.getElementById('analysis-explain').textContent = meta.explain || meta.summary;
    const url = new URLSearchParams(window.location.search);
    const inputs = {};
    meta.params.forEach((p) => {
      const input = el('input', { name: p.name, type: (p.type === 'int' || p.type === 'float') ? 'number' : 'text',
        value: url.has(p.name) ? url.get(p.name) : GF.fmt.text(p.default), title: p.help });
      if (p.type === 'float') input.step = 'any';
      inputs[p.name] = input;
      form.append(el('label', null, p.name, input));
    });
    form.append(el('button', { type: 'submit', text: 'Run' }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const q = {};
      meta.params.forEach((p) => { const v = inputs[p.name].value.trim(); if (v !== '' && v !== GF.fmt.text(p.default)) q[p.name] = v; });
      window.history.pushState(null, '', '?' + GF.qs(q));
      run(q);
    });
    window.addEventListener('popstate', () => window.location.reload());
    async function run(q) {
      document.body.dataset.state = 'loading';
      status.textContent = 'running ' + meta.name + '…';
      GF.clear(list);
      try {
        const doc = await GF.api('analyses/' + encodeURIComponent(meta.name), Object.assign({ limit: 1000 }, q));
        document.getElementById('analysis-query').textContent = doc.query.cli + '\n\nparameters: ' + JSON.stringify(doc.params, null, 1);
        status.textContent = doc.total + ' finding(s)';
        list.append(GF.table([
          { key: 'entity', fmt: (f) => el('a', { href: '/?' + GF.qs({ finding: f.id }), class: 'finding-link', dataset: { finding: f.id }, text: f.entity }) },
          { key: 'members', fmt: (f) => ((f.members || []).length ? (f.members.length + ': ' + f.members.slice(0, 6).join(', ') + (f.members.length > 6 ? ' …' : '')) : '') },
          { key: 'figures', fmt: figuresCell },
          { key: 'evidence', fmt: (f) => el('details', null, el('summary', { text: 'evidence' }), GF.kv(Object.entries(f.evidence || {}))) },
          { key: 'flows', fmt: (f) => el('button', { type: 'button', text: 'flows', dataset: { finding: f.id }, onclick: (ev) => showFlows(ev.target, f) }) },
        ], doc.findings, { id: 'findings-table' }));
        GF.showError(null);
      } catch (err) { GF.showError(err); status.textContent = ''; }
      document.body.dataset.state = 'ready';
    }
    function showFlows(button, f) {
      const row = button.closest('tr');
      const box = el('div', { class: 'finding-flows' });
      const td = el('td', { colSpan: 5 }, box);
      row.after(el('tr', null, td));
      button.disabled = true;
      GF.flowsTable(box, (limit, offset) => GF.api('findings/' + encodeURIComponent(f.id) + '/flows', { limit: limit, offset: offset }), 25);
    }
    const q = {};
    meta.params.forEach((p) => { if (url.has(p.name)) q[p.name] = url.get(p.name); });
    run(q);
  }

  document.addEventListener('DOMContentLoaded', () => {
    const page = document.getElementById('analysis-page');
    if (page) analysisPage(page); else listPage();
  });
}());
