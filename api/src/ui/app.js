// The session is an HttpOnly cookie; changing requests also send the CSRF token.
let csrf = sessionStorage.getItem('csrf');
const $ = (id) => document.getElementById(id);
const msg = (t) => { $('msg').textContent = t || ''; };

const INDICATORS = {narkoba: 'Narkoba', konflik_sosial: 'Konflik sosial', kerukunan_beragama: 'Kerukunan beragama',
  ideologi: 'Ideologi, radikalisme dan separatisme', demokrasi: 'Demokrasi dan pemilu'};
const STATES = {open: 'Terbuka', acknowledged: 'Diterima', in_progress: 'Ditindaklanjuti', resolved: 'Selesai'};
const when = (t) => new Date(t).toLocaleString('id-ID');
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };

async function show() {
  const r = await fetch('/api/v1/me');
  if (!r.ok) { $('login').hidden = false; $('app').hidden = true; return; }
  const me = await r.json();
  $('who').textContent = me.display_name + ' (' + me.role + ')';
  $('login').hidden = true; $('app').hidden = false;
  $('alerts-box').hidden = !(me.role === 'admin' || me.role === 'operator');
  if (!$('alerts-box').hidden) loadAlerts();
  $('stats-box').hidden = me.role === 'reporter';
  if (!$('stats-box').hidden) loadStats();
}

// One alert: what, where, its steps and deliveries, and the next steps to take.
function alertItem(a, names) {
  const li = el('li'); li.id = 'alert-' + a.id;
  const head = el('div');
  head.append(el('span', 'lvl ' + a.level, a.level.toUpperCase()), ' ',
    el('strong', '', (INDICATORS[a.indicator] || a.indicator) + ' – ' + (names[a.region] || a.region) + ' (' + a.region + ')'),
    ' · ' + a.count + ' laporan · ' + when(a.raised_at) + ' · ', el('span', 'state', STATES[a.state]));
  li.append(head);
  // its alert chain: the alert above that brings it together with others, and those below it
  const chain = a.chain || {parent: null, children: []};
  const link = (c) => {
    const x = el('a', '', (c.name || c.region) + ' (' + c.region + ')'); x.href = '#/alerts/' + c.id;
    const d = el('div'); d.append(x, ' ', el('span', 'lvl ' + c.level, c.level.toUpperCase()), ' ', STATES[c.state]); return d;
  };
  if (chain.parent) { const p = el('div', 'chain', 'Bagian dari peringatan wilayah di atasnya:'); p.append(link(chain.parent)); li.append(p); }
  if (chain.children.length) {
    const c = el('div', 'chain', 'Menghimpun peringatan wilayah di bawahnya:');
    for (const child of chain.children) c.append(link(child));
    li.append(c);
  }
  const steps = el('div', 'steps');
  for (const c of a.history) {
    steps.append(el('div', '', STATES[c.state] + ' oleh ' + c.by + ', ' + when(c.at) + (c.note ? ': ' + c.note : '')));
  }
  for (const e of a.escalations) {
    const silent = (e.from_names || []).length ? ' karena belum diterima oleh ' + e.from_names.join(', ') : '';
    steps.append(el('div', '', 'Eskalasi ke ' + e.names.join(', ') + silent + ', ' + when(e.at)));
  }
  const failed = a.deliveries.filter((d) => d.error);
  const sent = a.deliveries.filter((d) => !d.error && !d.status).length;
  if (a.deliveries.length) {
    steps.append(el('div', '', 'Terkirim ' + sent + ' kali' + (failed.length ? '; gagal ' + failed.length + ' kali, terakhir: ' + failed[failed.length - 1].error : '')));
  }
  li.append(steps);
  if (a.state !== 'resolved') {
    const note = el('textarea'); note.rows = 2; note.placeholder = 'Catatan tindak lanjut';
    const buttons = el('div');
    const act = (cls, label, step) => {
      const b = el('button', cls, label);
      b.addEventListener('click', async () => {
        const r = await fetch('/api/v1/alerts/' + a.id + '/' + step, {method: 'POST',
          headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf || ''},
          body: JSON.stringify({note: note.value || null})});
        const body = await r.json();
        if (!r.ok) { msg(body.error.message); return; }
        msg(); li.replaceWith(alertItem(body, names)); $('alert-' + a.id).classList.add('focus');
      });
      buttons.append(b, ' ');
    };
    if (a.state === 'open') act('ack', 'Terima', 'ack');
    act('progress', 'Tindak lanjut', 'progress');
    act('resolve', 'Selesai', 'resolve');
    li.append(note, buttons);
  }
  return li;
}

async function loadAlerts() {
  const state = $('state').value;
  const r = await fetch('/api/v1/alerts' + (state ? '?state=' + state : ''));
  const body = await r.json();
  if (!r.ok) { msg(body.error.message); return; }
  const list = $('alerts'); list.innerHTML = '';
  for (const a of body.alerts) list.append(alertItem(a, body.names || {}));
  // a link from an email: #/alerts/<id>
  const m = location.hash.match(/^#\/alerts\/([0-9a-f-]+)$/);
  if (m) {
    let item = $('alert-' + m[1]);
    if (!item) {
      const one = await fetch('/api/v1/alerts/' + m[1]);
      if (one.ok) { item = alertItem(await one.json(), body.names || {}); list.prepend(item); }
    }
    if (item) { item.classList.add('focus'); item.scrollIntoView(); }
  }
}
const COLOURS = {narkoba: '#b00020', konflik_sosial: '#cb4b16', kerukunan_beragama: '#268bd2',
  ideologi: '#6c71c4', demokrasi: '#2aa198'};
const SVG = 'http://www.w3.org/2000/svg';

// Reports a day for the last 30 days, stacked by indicator, and totals by province.
async function loadStats() {
  const from = new Date(Date.now() - 29 * 86400000);
  from.setUTCHours(-7, 0, 0, 0); // midnight in UTC+7, where days are counted
  const r = await fetch('/api/v1/stats?bucket=day&from=' + encodeURIComponent(from.toISOString()));
  const body = await r.json();
  if (!r.ok) { msg(body.error.message); return; }
  $('stats-source').textContent = 'Sumber: ' + (body.source === 'clickhouse' ? 'ClickHouse' : 'indeks pencarian');
  const days = [];
  for (let i = 0; i < 30; i++) days.push(new Date(from.getTime() + (i * 86400 + 7 * 3600) * 1000).toISOString().slice(0, 10));
  const perDay = {};
  for (const row of body.rows) {
    perDay[row.start] = perDay[row.start] || {};
    perDay[row.start][row.indicator] = (perDay[row.start][row.indicator] || 0) + row.count;
  }
  const indicators = Object.keys(body.totals.indicator).sort();
  const max = Math.max(1, ...days.map((d) => Object.values(perDay[d] || {}).reduce((a, b) => a + b, 0)));
  const svg = $('chart'); svg.innerHTML = '';
  const w = 720 / days.length, h = 190;
  days.forEach((d, i) => {
    let y = h;
    for (const ind of indicators) {
      const n = (perDay[d] || {})[ind] || 0;
      if (!n) continue;
      const bar = document.createElementNS(SVG, 'rect');
      const bh = n / max * (h - 10);
      y -= bh;
      bar.setAttribute('x', i * w + 1); bar.setAttribute('y', y); bar.setAttribute('width', w - 2); bar.setAttribute('height', bh);
      bar.setAttribute('fill', COLOURS[ind] || '#657b83');
      const title = document.createElementNS(SVG, 'title');
      title.textContent = d + ' · ' + (INDICATORS[ind] || ind) + ': ' + n;
      bar.append(title); svg.append(bar);
    }
    if (i % 5 === 0) {
      const label = document.createElementNS(SVG, 'text');
      label.setAttribute('x', i * w); label.setAttribute('y', 210); label.setAttribute('font-size', '11');
      label.textContent = d.slice(5); svg.append(label);
    }
  });
  const legend = $('legend'); legend.innerHTML = '';
  for (const ind of indicators) {
    const item = el('span');
    const swatch = el('span', 'swatch'); swatch.style.background = COLOURS[ind] || '#657b83';
    item.append(swatch, (INDICATORS[ind] || ind) + ' (' + body.totals.indicator[ind] + ')');
    legend.append(item);
  }
  const totals = $('totals'); totals.innerHTML = '';
  const regions = Object.entries(body.totals.region).sort((a, b) => b[1] - a[1]);
  for (const [code, n] of regions) {
    const tr = el('tr');
    tr.append(el('td', '', (body.names[code] || code) + ' (' + code + ')'), el('td', '', n + ' laporan'));
    totals.append(tr);
  }
}

$('state').addEventListener('change', loadAlerts);
window.addEventListener('hashchange', () => { if (!$('app').hidden) loadAlerts(); });

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('/api/v1/session', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({name: $('name').value, password: $('password').value})});
  const body = await r.json();
  if (!r.ok) { msg(r.status === 429 ? 'Terlalu banyak percobaan gagal. Coba lagi nanti.' : 'Nama atau kata sandi salah.'); return; }
  csrf = body.csrf_token; sessionStorage.setItem('csrf', csrf); msg(); show();
});

$('logout').addEventListener('click', async (e) => {
  e.preventDefault();
  await fetch('/api/v1/session', {method: 'DELETE', headers: {'X-CSRF-Token': csrf || ''}});
  sessionStorage.removeItem('csrf'); show();
});

$('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await fetch('/api/v1/search?q=' + encodeURIComponent($('q').value));
  const body = await r.json();
  const hits = $('hits');
  hits.innerHTML = '';
  if (!r.ok) { msg(body.error.message); return; }
  msg();
  $('total').textContent = body.total + ' laporan ditemukan';
  for (const h of body.hits) {
    const li = document.createElement('li');
    li.innerHTML = h.snippet; // the server escapes the text and marks matches with <b>
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent = [new Date(h.received_at).toLocaleString('id-ID'), h.indicators.join(', '), h.regions.join(', ')].join(' · ');
    li.appendChild(meta);
    hits.appendChild(li);
  }
});
show();
