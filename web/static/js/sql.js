/* The read-only SQL console: examples, parameters, results as a table (text only). */
(function () {
  'use strict';
  const GF = window.GF;
  const el = GF.el;
  const $ = (id) => document.getElementById(id);

  function parseParams(text) {
    const out = {};
    text.split('\n').map((l) => l.trim()).filter(Boolean).forEach((l) => {
      const i = l.indexOf('=');
      if (i < 1) throw new Error('parameter line ' + JSON.stringify(l) + ': expected name=value');
      out[l.slice(0, i).trim()] = l.slice(i + 1).trim();
    });
    return out;
  }

  document.addEventListener('DOMContentLoaded', async () => {
    const status = $('sql-status');
    const out = $('sql-result');
    let examples = [];
    try {
      examples = (await GF.api('sql/examples')).examples;
    } catch (err) { GF.showError(err); }
    const pick = $('sql-example');
    examples.forEach((e) => pick.append(el('option', { value: e.name, text: e.name + ': ' + e.title })));
    pick.addEventListener('change', () => {
      const e = examples.find((x) => x.name === pick.value);
      if (!e) { $('sql-example-help').textContent = ''; return; }
      $('sql-query').value = e.sql;
      $('sql-example-help').textContent = e.description;
      $('sql-params').value = Object.entries(e.params).map(([k, p]) => k + '=' + (p.default === null ? '' : p.default)).join('\n');
    });
    document.body.dataset.state = 'ready';
    $('sql-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      document.body.dataset.state = 'loading';
      GF.clear(out); status.textContent = 'running…'; status.classList.remove('error-text');
      try {
        const body = { query: $('sql-query').value, params: parseParams($('sql-params').value),
          limit: Number($('sql-limit').value) || 1000, timeout: Number($('sql-timeout').value) || 30 };
        const r = (await GF.api('sql', null, { body })).result;
        status.textContent = r.rows.length + ' row(s) in ' + r.seconds + ' s' + (r.truncated ? ' (truncated at ' + r.limit + ' rows: raise the row limit)' : '');
        out.append(GF.table(r.columns.map((c, i) => ({ key: String(i), label: c, fmt: (row) => GF.fmt.text(row[i]) })), r.rows, { id: 'sql-table' }));
      } catch (err) {
        status.textContent = err.message; status.classList.add('error-text');
      }
      document.body.dataset.state = 'ready';
    });
  });
}());
