// demo-bank pages: shared helpers (plain JS, no framework).
'use strict';

const bank = {
  token() { return sessionStorage.getItem('bank-token'); },
  async api(method, path, body) {
    const headers = { 'Content-Type': 'application/json' };
    const t = bank.token();
    if (t) headers.Authorization = 'Bearer ' + t;
    const res = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    let data = {};
    try { data = await res.json(); } catch (e) { data = { error: 'bad reply' }; }
    return { status: res.status, data };
  },
  requireLogin() {
    if (!bank.token()) location.href = 'index.html';
  },
  money(cents) {
    const neg = cents < 0; cents = Math.abs(cents);
    return (neg ? '-' : '') + '$' + Math.floor(cents / 100) + '.' + String(cents % 100).padStart(2, '0');
  },
  esc(s) {
    return String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  },
  key() { return 'web-' + Date.now() + '-' + Math.random().toString(36).slice(2); },
  async logout() {
    await bank.api('POST', '/api/logout');
    sessionStorage.removeItem('bank-token');
    location.href = 'index.html';
  },
  header() {
    const h = document.createElement('header');
    h.innerHTML = '<span class="brand">causeway demo bank</span>' +
      '<a href="dashboard.html">Dashboard</a><a href="transfer.html">Transfer</a>' +
      '<a href="history.html">History</a><a href="admin.html">Admin</a>' +
      (bank.token() ? '<a href="#" id="logout">Log out</a>' : '<a href="index.html">Log in</a>');
    document.body.prepend(h);
    const lo = document.getElementById('logout');
    if (lo) lo.onclick = e => { e.preventDefault(); bank.logout(); };
  },
  async accounts() {
    const r = await bank.api('GET', '/api/accounts');
    if (r.status === 401) { sessionStorage.removeItem('bank-token'); location.href = 'index.html'; }
    return r.data.accounts || [];
  },
};
