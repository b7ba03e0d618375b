/* Saved investigations on the graph page: save the current view (its URL state), list,
   reopen (navigate to the saved view), delete, export and import. Text only, no markup. */
(function () {
  'use strict';
  const GF = window.GF;
  const el = GF.el;
  const $ = (id) => document.getElementById(id);

  function say(text, isError) {
    const s = $('inv-status');
    s.textContent = text || '';
    s.classList.toggle('error-text', Boolean(isError));
  }

  async function refresh() {
    const list = $('inv-list');
    list.dataset.state = 'loading';
    try {
      const doc = await GF.api('investigations');
      GF.clear(list);
      doc.investigations.forEach((inv) => {
        const open = el('button', { type: 'button', class: 'inv-open', text: 'Open', title: inv.url,
          onclick: () => window.location.assign(GF.safeHref(inv.url)) });
        const del = inv.builtin ? null : el('button', { type: 'button', class: 'inv-delete', text: 'Delete',
          onclick: async () => {
            try { await remove(inv.slug); say('deleted ' + inv.name); refresh(); } catch (err) { say(err.message, true); }
          } });
        list.append(el('li', { dataset: { slug: inv.slug, builtin: inv.builtin ? '1' : '0' }, title: inv.notes || inv.description || '' },
          el('span', { class: 'inv-name', text: inv.name }), inv.builtin ? el('span', { class: 'hint', text: ' (built-in)' }) : null,
          inv.description ? el('div', { class: 'hint', text: inv.description }) : null,
          el('div', { class: 'buttons' }, open, del)));
      });
      list.dataset.state = 'ready';
    } catch (err) { say(err.message, true); list.dataset.state = 'error'; }
  }

  /** GF.api only GETs and POSTs: deletion has its own fetch. */
  async function remove(slug) {
    const resp = await fetch('/api/investigations/' + encodeURIComponent(slug), { method: 'DELETE', headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    const body = await resp.json().catch(() => null);
    if (!resp.ok || !body || body.ok !== true) throw new GF.ApiError(body, resp.status);
  }

  document.addEventListener('DOMContentLoaded', () => {
    if (!$('investigations-box')) return;
    GF.investigations = { refresh, remove };
    $('inv-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = $('inv-name').value.trim();
      if (!name) { say('give the view a name', true); return; }
      try {
        const doc = await GF.api('investigations', null, { body: { name, notes: $('inv-notes').value, view: window.location.search, overwrite: true } });
        say('saved ' + doc.investigation.name);
        refresh();
      } catch (err) { say(err.message, true); }
    });
    $('inv-export').addEventListener('click', () => window.location.assign('/api/investigations/export?format=json'));
    $('inv-export-yaml').addEventListener('click', () => window.location.assign('/api/investigations/export?format=yaml'));
    $('inv-import').addEventListener('change', async (ev) => {
      const file = ev.target.files && ev.target.files[0];
      if (!file) return;
      try {
        const doc = await GF.api('investigations/import', null, { body: { text: await file.text(), overwrite: false } });
        say('imported ' + doc.imported.map((i) => i.name).join(', '));
        refresh();
      } catch (err) { say(err.message, true); }
      ev.target.value = '';
    });
    refresh();
  });
}());
