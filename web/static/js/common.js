/* GraphFlow UI: shared helpers. Data only ever reaches the page as text (textContent) or as
   attributes set through DOM properties; nothing here parses HTML. */
(function () {
  'use strict';
  const GF = window.GF = window.GF || {};

  const PROPS = new Set(['id', 'title', 'type', 'value', 'hidden', 'disabled', 'checked',
    'placeholder', 'min', 'max', 'step', 'name', 'htmlFor', 'colSpan', 'tabIndex', 'rows',
    'selected', 'open', 'download', 'role', 'width', 'height']);

  /** A URL for an href: only same-origin paths, queries or fragments. */
  GF.safeHref = function (v) {
    const s = String(v);
    if ((s.startsWith('/') && !s.startsWith('//')) || s.startsWith('?') || s.startsWith('#')) {
      return s;
    }
    return '#';
  };

  /** Create an element; strings become text nodes, never markup. */
  GF.el = function (tag, props) {
    const e = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k === 'text') e.textContent = String(v);
        else if (k === 'dataset') Object.assign(e.dataset, v);
        else if (k === 'href') e.setAttribute('href', GF.safeHref(v));
        else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
        else if (PROPS.has(k)) e[k] = v;
        else throw new Error('GF.el: property not allowed: ' + k);
      }
    }
    for (let i = 2; i < arguments.length; i++) GF.append(e, arguments[i]);
    return e;
  };

  GF.append = function (parent, child) {
    if (child === null || child === undefined || child === false) return parent;
    if (Array.isArray(child)) { child.forEach((c) => GF.append(parent, c)); return parent; }
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return parent;
  };

  GF.clear = function (node) { while (node.firstChild) node.removeChild(node.firstChild); return node; };

  /** Query string from an object; arrays become repeated parameters. */
  GF.qs = function (params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v === null || v === undefined || v === '') continue;
      if (Array.isArray(v)) v.forEach((x) => u.append(k, String(x)));
      else u.append(k, String(v));
    }
    return u.toString();
  };

  class ApiError extends Error {
    constructor(body, status) {
      super((body && body.error) || ('HTTP ' + status));
      this.status = status; this.body = body;
    }
  }
  GF.ApiError = ApiError;

  /** GET (or POST with a JSON body) an /api path; resolves to the JSON body, or throws. */
  GF.api = async function (path, params, opts) {
    const q = params ? GF.qs(params) : '';
    const init = { headers: { Accept: 'application/json' }, credentials: 'same-origin' };
    if (opts && opts.body !== undefined) {
      init.method = 'POST';
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    if (opts && opts.signal) init.signal = opts.signal;
    const resp = await fetch('/api/' + path + (q ? '?' + q : ''), init);
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok || !body || body.ok !== true) throw new ApiError(body, resp.status);
    return body;
  };

  let infoPromise = null;
  GF.info = function () { if (!infoPromise) infoPromise = GF.api('info'); return infoPromise; };

  GF.showError = function (err) {
    const b = document.getElementById('error-banner');
    if (!b) return;
    if (!err) { b.hidden = true; GF.clear(b); return; }
    b.textContent = (err && err.message) ? err.message : String(err);
    b.hidden = false;
  };

  const nf = new Intl.NumberFormat('en-US');
  GF.fmt = {
    num(v) { return (v === null || v === undefined) ? '' : nf.format(v); },
    bytes(v) {
      if (v === null || v === undefined) return '';
      const u = ['B', 'kB', 'MB', 'GB', 'TB']; let i = 0; let x = Number(v);
      while (Math.abs(x) >= 1000 && i < u.length - 1) { x /= 1000; i++; }
      return (i ? x.toFixed(1) : String(x)) + ' ' + u[i];
    },
    time(v) { return v ? String(v).replace('T', ' ').replace(/\.\d+Z$/, 'Z') : ''; },
    text(v) {
      if (v === null || v === undefined) return '';
      if (Array.isArray(v)) return v.map((x) => GF.fmt.text(x)).join(', ');
      if (typeof v === 'object') return JSON.stringify(v);
      return String(v);
    },
    basename(p) { const s = String(p || ''); return s.slice(s.lastIndexOf('/') + 1); },
  };

  /** A key/value table from [label, value] pairs (values as text or nodes). */
  GF.kv = function (pairs) {
    const t = GF.el('table', { class: 'kv' });
    const tb = GF.el('tbody');
    pairs.forEach(([k, v]) => {
      if (v === null || v === undefined || v === '') return;
      tb.append(GF.el('tr', null, GF.el('th', { text: k }),
        GF.el('td', null, v instanceof Node ? v : GF.fmt.text(v))));
    });
    t.append(tb);
    return t;
  };

  /** A data table: columns [{key, label, num, fmt(row) -> text|Node, title(row)}]. */
  GF.table = function (columns, rows, opts) {
    opts = opts || {};
    const t = GF.el('table', { class: 'data', id: opts.id || null });
    const head = GF.el('tr');
    columns.forEach((c) => head.append(GF.el('th', { text: c.label || c.key, class: c.num ? 'num' : null })));
    t.append(GF.el('thead', null, head));
    const tb = GF.el('tbody');
    rows.forEach((r) => {
      const tr = GF.el('tr', { class: opts.onRowClick ? 'clickable' : null });
      columns.forEach((c) => {
        const v = c.fmt ? c.fmt(r) : GF.fmt.text(r[c.key]);
        const td = GF.el('td', { class: c.num ? 'num' : null, dataset: { col: c.key } },
          v instanceof Node ? v : String(v === null || v === undefined ? '' : v));
        if (c.title) td.title = c.title(r);
        tr.append(td);
      });
      if (opts.onRowClick) tr.addEventListener('click', () => opts.onRowClick(r));
      tb.append(tr);
    });
    t.append(tb);
    return t;
  };

  /** Pager controls for a paged endpoint; load(limit, offset) resolves to {total, rows...}. */
  GF.pager = function (container, idPrefix, load, render, pageSize) {
    const state = { limit: pageSize || 100, offset: 0, total: 0 };
    const info = GF.el('span', { id: idPrefix + '-info' });
    const prev = GF.el('button', { type: 'button', id: idPrefix + '-prev', text: '◀ previous' });
    const next = GF.el('button', { type: 'button', id: idPrefix + '-next', text: 'next ▶' });
    const size = GF.el('select', { id: idPrefix + '-size' },
      [25, 100, 500, 1000].map((n) => GF.el('option', { value: String(n), text: n + ' rows', selected: n === state.limit })));
    const body = GF.el('div', { id: idPrefix + '-body', class: 'table-scroll' });
    container.append(GF.el('div', { class: 'pager' }, prev, next, size, info), body);
    async function go() {
      prev.disabled = next.disabled = true;
      info.textContent = 'loading…';
      try {
        const doc = await load(state.limit, state.offset);
        state.total = doc.total;
        GF.clear(body).append(render(doc));
        const last = Math.min(state.offset + state.limit, doc.total);
        info.textContent = doc.total ? ('rows ' + GF.fmt.num(state.offset + 1) + '–' + GF.fmt.num(last) + ' of ' + GF.fmt.num(doc.total)) : 'no rows';
        prev.disabled = state.offset === 0;
        next.disabled = last >= doc.total;
        container.dataset.loaded = String(state.offset);
      } catch (err) {
        info.textContent = '';
        GF.clear(body).append(GF.el('p', { class: 'error-text', text: err.message }));
      }
    }
    prev.addEventListener('click', () => { state.offset = Math.max(0, state.offset - state.limit); go(); });
    next.addEventListener('click', () => { state.offset += state.limit; go(); });
    size.addEventListener('change', () => { state.limit = Number(size.value); state.offset = 0; go(); });
    go();
    return state;
  };

  const FLOW_COLS = [
    { key: 'ts', label: 'time (UTC)', fmt: (r) => GF.fmt.time(r.ts) },
    { key: 'src_ip', label: 'src' }, { key: 'src_port', label: 'sport', num: true },
    { key: 'dst_ip', label: 'dst' }, { key: 'dst_port', label: 'dport', num: true },
    { key: 'proto' }, { key: 'service' }, { key: 'state' },
    { key: 'src_bytes', label: 'src bytes', num: true, fmt: (r) => GF.fmt.num(r.src_bytes) },
    { key: 'dst_bytes', label: 'dst bytes', num: true, fmt: (r) => GF.fmt.num(r.dst_bytes) },
    { key: 'src_pkts', label: 'src pkts', num: true }, { key: 'dst_pkts', label: 'dst pkts', num: true },
    { key: 'source_file', label: 'file', fmt: (r) => GF.fmt.basename(r.source_file), title: (r) => String(r.source_file) },
    { key: 'source_line', label: 'line', num: true },
  ];
  GF.FLOW_COLS = FLOW_COLS;

  /** A paged flows table: fetchPage(limit, offset) -> promise of {total, flows}. */
  GF.flowsTable = function (container, fetchPage, pageSize) {
    return GF.pager(container, 'flows', fetchPage,
      (doc) => GF.table(FLOW_COLS, doc.flows, { id: 'flows-table' }), pageSize || 100);
  };

  // ---- search (every page) -----------------------------------------------------------------
  function setupSearch() {
    const form = document.getElementById('search-form');
    if (!form) return;
    const input = document.getElementById('search-input');
    const box = document.getElementById('search-results');
    function pick(ip, isCidr) {
      box.hidden = true;
      if (typeof GF.onSearchPick === 'function') { GF.onSearchPick(ip, isCidr); return; }
      const q = isCidr ? { host: ip } : { host: ip, focus: ip, sel: 'host:' + ip };
      window.location.assign('/?' + GF.qs(q));
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const q = input.value.trim();
      if (!q) return;
      GF.clear(box);
      box.hidden = false;
      box.dataset.state = 'loading';
      try {
        const doc = await GF.api('search', { q: q });
        const list = GF.el('ul', { id: 'search-list' });
        if (doc.kind === 'cidr' && doc.total) {
          list.append(GF.el('li', { class: 'all', tabIndex: 0, onclick: () => pick(q, true), text: 'show all ' + doc.total + ' hosts of ' + q + ' in the graph' }));
        }
        doc.results.forEach((r) => {
          const names = [r.name].concat(r.dns || []).filter(Boolean);
          const li = GF.el('li', { tabIndex: 0, dataset: { ip: r.ip } },
            GF.el('strong', { text: r.ip }), names.length ? ' — ' : '',
            GF.el('span', { class: 'names', text: names.join(', ') }),
            r.hva ? GF.el('span', { class: 'tag', text: 'HVA' }) : null);
          li.addEventListener('click', () => pick(r.ip, false));
          li.addEventListener('keydown', (e) => { if (e.key === 'Enter') pick(r.ip, false); });
          list.append(li);
        });
        box.append(list);
        if (doc.note || !doc.results.length) box.append(GF.el('div', { class: 'note', text: doc.note || 'no match' }));
      } catch (err) {
        box.append(GF.el('div', { class: 'note error-text', text: err.message }));
      }
      box.dataset.state = 'ready';
    });
    document.addEventListener('click', (ev) => { if (!form.contains(ev.target)) box.hidden = true; });
  }

  document.addEventListener('DOMContentLoaded', setupSearch);
}());
