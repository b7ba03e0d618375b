/* The charts page: series from /api/charts/*, drawn with the vendored Chart.js. Data reaches
   the page only as chart data and textContent. */
(function () {
  'use strict';
  const GF = window.GF;
  const el = GF.el;
  const charts = {};
  const COLOURS = { sent: '#1f77b4', received: '#d62728' };

  function available() {
    if (typeof window.Chart === 'function') return true;
    GF.showError(new Error('charts unavailable (front-end files missing: scripts/setup.d/50-web.sh)'));
    return false;
  }

  function draw(key, canvas, config) {
    if (charts[key]) charts[key].destroy();
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    charts[key] = new window.Chart(canvas, config);
    canvas.dataset.drawn = 'true';
    return charts[key];
  }

  function yScale(log, label) {
    return { type: log ? 'logarithmic' : 'linear', title: { display: true, text: label + (log ? ' (log)' : '') } };
  }

  function drawVolume(doc) {
    const box = GF.clear(document.getElementById('volume-charts'));
    ['flows', 'bytes', 'packets'].forEach((m) => {
      const canvas = el('canvas', { id: 'volume-' + m });
      box.append(el('div', { class: 'chart-box tall' }, canvas));
      const log = !!doc.log_scale[m];
      const fix = (v) => (log && v === 0 ? null : v); // log axes cannot show 0
      const datasets = [];
      ['sent', 'received'].forEach((d) => {
        if (doc.week_ago) {
          datasets.push({ label: d + ', a week earlier', data: doc.week_ago[d + '_' + m].map(fix), borderColor: COLOURS[d], borderDash: [4, 3], borderWidth: 1, pointRadius: 0, spanGaps: false, order: 2 });
        }
        datasets.push({ label: d, data: doc.current[d + '_' + m].map(fix), borderColor: COLOURS[d], borderWidth: 1.5, pointRadius: 0, order: 1 });
      });
      const labels = doc.buckets.map((b) => (doc.granularity === 'day' ? b.slice(0, 10) : b.slice(5, 13).replace('T', ' ') + 'h'));
      draw('volume-' + m, canvas, { type: 'line', data: { labels: labels, datasets: datasets }, options: { scales: { y: yScale(log, m) }, plugins: { legend: { position: 'top' } } } });
      canvas.dataset.log = String(log);
    });
    document.getElementById('volume-status').textContent = doc.host + ' · ' + doc.port_label + ' · ' + doc.buckets.length + ' ' + doc.granularity + '(s) from ' + doc.start + (doc.week_ago ? ' · dashed: one week earlier' : ' · no data a week earlier');
  }

  function bars(key, canvasId, labels, values, label, log) {
    const canvas = document.getElementById(canvasId);
    draw(key, canvas, { type: 'bar', data: { labels: labels, datasets: [{ label: label, data: values, backgroundColor: '#4e79a7' }] }, options: { indexAxis: 'y', scales: { x: yScale(log, label) } } });
    canvas.dataset.log = String(log);
    canvas.dataset.bars = String(values.length);
  }

  function formParams(form) {
    const out = {};
    new FormData(form).forEach((v, k) => { if (v !== '') out[k] = v; });
    return out;
  }

  async function loadVolume(params) {
    const status = document.getElementById('volume-status');
    status.textContent = 'loading…';
    try {
      const doc = (await GF.api('charts/volume', params)).series;
      if (available()) drawVolume(doc);
      GF.showError(null);
    } catch (err) { status.textContent = ''; GF.showError(err); }
  }

  async function loadTop(params) {
    const status = document.getElementById('top-status');
    status.textContent = 'loading…';
    try {
      const doc = (await GF.api('charts/top', params)).series;
      status.textContent = 'top ' + doc.n + ' ' + (doc.what === 'scanners' ? 'scanners: ' : 'talkers: ') + doc.value_label + (doc.log_scale ? ' (log scale)' : '');
      if (available()) bars('top', 'top-chart', doc.bars.map((b) => b.label), doc.bars.map((b) => b.value), doc.value_label, doc.log_scale);
    } catch (err) { status.textContent = ''; GF.showError(err); }
  }

  async function loadCountries() {
    const status = document.getElementById('countries-status');
    status.textContent = 'loading…';
    try {
      const doc = (await GF.api('charts/countries')).series;
      const total = doc.countries.reduce((a, r) => a + r.scanners, 0);
      status.textContent = total + ' external scanner(s) in ' + doc.countries.length + ' countr' + (doc.countries.length === 1 ? 'y' : 'ies') + ' (?? = unknown)';
      if (available()) bars('countries', 'countries-chart', doc.countries.map((r) => r.country), doc.countries.map((r) => r.scanners), 'external scanners', doc.log_scale);
    } catch (err) { status.textContent = ''; GF.showError(err); }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    const vf = document.getElementById('volume-form');
    const tf = document.getElementById('top-form');
    const q = new URLSearchParams(window.location.search);
    ['host', 'port', 'ports', 'granularity', 'from', 'to'].forEach((k) => {
      const input = vf.elements.namedItem(k);
      if (input && q.get(k)) input.value = q.get(k);
    });
    vf.addEventListener('submit', (ev) => { ev.preventDefault(); loadVolume(formParams(vf)); });
    tf.addEventListener('submit', (ev) => { ev.preventDefault(); loadTop(formParams(tf)); });
    const jobs = [loadTop(formParams(tf)), loadCountries()];
    if (q.get('host')) jobs.push(loadVolume(formParams(vf)));
    await Promise.all(jobs);
    document.body.dataset.state = 'ready';
  });
}());
