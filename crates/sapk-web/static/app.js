// The recovery page: forgot, reset, login (with the second step), and the signed-in account.
// No framework and no third-party request; every rule is the server's (the NIP is checked by
// POST /v1/nip/check, the password rules come from GET /v1/password/policy).
'use strict';

const T = {
  id: {
    skip: 'Langsung ke isi', brand: 'Akun ASN', menu: 'Menu',
    nav_forgot: 'Lupa password', nav_login: 'Masuk', switch_to: 'English',
    forgot_title: 'Lupa password',
    forgot_intro: 'Masukkan NIP Anda. Jika NIP terdaftar dan memiliki email, kami mengirim kode reset (8 huruf dan angka, misalnya K7M2-9QXP) ke email tersebut. Kode berlaku 15 menit.',
    nip: 'NIP (18 digit)', nip_hint: 'PNS atau PPPK. Spasi boleh dipakai.',
    nip_ok: 'NIP {kind} valid.', send_code: 'Kirim kode reset',
    have_code: 'Sudah punya kode? Masukkan di sini.',
    reset_title: 'Buat password baru',
    reset_intro: 'Buka email terakhir dari SAPK (periksa juga folder Spam atau Promosi). Jika email tidak datang dalam beberapa menit, minta kode baru; jika email itu tidak lagi bisa Anda buka, datangi kantor BKN terdekat atau unit kepegawaian instansi Anda dengan membawa KTP.',
    code: 'Kode reset dari email', new_password: 'Password baru', rules_title: 'Password baru harus:',
    show_password: 'Tampilkan password', save_password: 'Simpan password',
    login_title: 'Masuk', password: 'Password', login: 'Masuk', forgot_link: 'Lupa password?',
    second_title: 'Verifikasi dua langkah',
    second_intro: 'Masukkan kode 6 digit yang sedang tampil di aplikasi authenticator Anda, atau salah satu kode pemulihan.',
    second_code: 'Kode verifikasi', verify: 'Verifikasi',
    account_title: 'Akun Anda',
    second_required: 'Instansi Anda mewajibkan verifikasi dua langkah. Pasang aplikasi authenticator di bawah ini.',
    change_title: 'Ganti password', current_password: 'Password saat ini', change: 'Ganti password',
    factor_title: 'Verifikasi dua langkah', enrol: 'Pasang aplikasi authenticator',
    enrol_reauth: 'Untuk keamanan, masukkan lagi password Anda sebelum memasang aplikasi authenticator.',
    enrol_scan: 'Pindai kode QR ini dengan aplikasi authenticator (misalnya Google Authenticator atau Microsoft Authenticator), atau ketik kuncinya. Lalu masukkan kode 6 digit pertamanya dalam 10 menit.',
    enrol_key: 'Kunci:', confirm: 'Aktifkan', qr_alt: 'Kode QR untuk aplikasi authenticator',
    recovery_once: 'Simpan 10 kode pemulihan ini di tempat aman (dicetak atau di pengelola password). Masing-masing dapat dipakai sekali bila ponsel Anda hilang. Kode ini tidak akan ditampilkan lagi.',
    activity_title: 'Aktivitas keamanan terakhir', logout: 'Keluar',
    help: 'Butuh bantuan? Hubungi unit kepegawaian instansi Anda, kantor BKN terdekat, atau BKN di {phone} / {email}. Jika email Anda tidak lagi bisa dibuka, datangi kantor BKN terdekat atau unit kepegawaian instansi Anda dengan membawa KTP.',
    help_link: 'Pengaduan: LAPOR BKN',
    signed_in: 'Masuk sebagai NIP {nip}. Sesi berakhir {at}.',
    factor_on: 'Aktif: login meminta kode dari aplikasi authenticator.',
    factor_off: 'Belum aktif.',
    no_activity: 'Belum ada aktivitas.',
    fill_nip: 'Isi NIP Anda.', fill_all: 'Isi semua kolom.',
    invalid_token: 'Kode reset salah, sudah kedaluwarsa, sudah dipakai, atau sudah diganti kode yang lebih baru. Periksa email terakhir dari SAPK atau minta kode baru.',
    rate_limited: 'Terlalu banyak percobaan. Coba lagi dalam {min} menit.',
    unavailable: 'Layanan sedang sibuk atau dalam gangguan. Coba lagi sebentar lagi. Bantuan: {phone}.',
    offline: 'Tidak dapat terhubung ke layanan. Periksa koneksi internet Anda lalu coba lagi.',
    weak: 'Password baru belum memenuhi aturan: {list}. Kode reset Anda belum terpakai.',
    reset_done: 'Password berhasil diperbarui. Silakan masuk dengan NIP dan password baru.',
    changed: 'Password berhasil diganti. Sesi lain sudah diakhiri.',
    factor_done: 'Verifikasi dua langkah aktif.',
    session_over: 'Sesi Anda berakhir. Silakan masuk kembali.',
  },
  en: {
    skip: 'Skip to content', brand: 'ASN account', menu: 'Menu',
    nav_forgot: 'Forgot password', nav_login: 'Log in', switch_to: 'Bahasa Indonesia',
    forgot_title: 'Forgot password',
    forgot_intro: 'Enter your NIP. If it is registered and has an e-mail address, we send a reset code (8 letters and digits, e.g. K7M2-9QXP) to that address. The code is valid for 15 minutes.',
    nip: 'NIP (18 digits)', nip_hint: 'PNS or PPPK. Spaces are fine.',
    nip_ok: 'Valid {kind} NIP.', send_code: 'Send reset code',
    have_code: 'Already have a code? Enter it here.',
    reset_title: 'Set a new password',
    reset_intro: 'Open the latest e-mail from SAPK (check the Spam or Promotions folder too). If it does not arrive within a few minutes, ask for a new code; if you can no longer open that e-mail, visit the nearest BKN office or your agency\u2019s HR unit with your KTP.',
    code: 'Reset code from the e-mail', new_password: 'New password', rules_title: 'The new password must have:',
    show_password: 'Show password', save_password: 'Save password',
    login_title: 'Log in', password: 'Password', login: 'Log in', forgot_link: 'Forgot your password?',
    second_title: 'Two-step login',
    second_intro: 'Enter the 6-digit code shown now in your authenticator app, or one of your recovery codes.',
    second_code: 'Verification code', verify: 'Verify',
    account_title: 'Your account',
    second_required: 'Your agency requires two-step login. Set up an authenticator app below.',
    change_title: 'Change password', current_password: 'Current password', change: 'Change password',
    factor_title: 'Two-step login', enrol: 'Set up an authenticator app',
    enrol_reauth: 'For your security, enter your password again before setting up an authenticator app.',
    enrol_scan: 'Scan this QR code with an authenticator app (e.g. Google Authenticator or Microsoft Authenticator), or type the key. Then enter its first 6-digit code within 10 minutes.',
    enrol_key: 'Key:', confirm: 'Turn on', qr_alt: 'QR code for the authenticator app',
    recovery_once: 'Keep these 10 recovery codes somewhere safe (printed or in a password manager). Each works once if you lose your phone. They will not be shown again.',
    activity_title: 'Recent security activity', logout: 'Log out',
    help: 'Need help? Contact your agency\u2019s HR unit, the nearest BKN office, or BKN on {phone} / {email}. If you can no longer open your e-mail, visit the nearest BKN office or your agency\u2019s HR unit with your KTP.',
    help_link: 'Complaints: LAPOR BKN',
    signed_in: 'Signed in as NIP {nip}. The session ends {at}.',
    factor_on: 'On: logging in asks for a code from the authenticator app.',
    factor_off: 'Not on.',
    no_activity: 'No activity yet.',
    fill_nip: 'Enter your NIP.', fill_all: 'Fill in every field.',
    invalid_token: 'The reset code is wrong, expired, already used or replaced by a newer one. Check the latest e-mail from SAPK or ask for a new code.',
    rate_limited: 'Too many attempts. Try again in {min} minute(s).',
    unavailable: 'The service is busy or having trouble. Please try again shortly. Help: {phone}.',
    offline: 'The service cannot be reached. Check your internet connection and try again.',
    weak: 'The new password does not meet the rules yet: {list}. Your reset code was not used up.',
    reset_done: 'Your password was updated. Log in with your NIP and the new password.',
    changed: 'Your password was changed. Other sessions were ended.',
    factor_done: 'Two-step login is on.',
    session_over: 'Your session ended. Please log in again.',
  },
};

const state = {
  lang: localStorage.getItem('sapk-lang') === 'en' ? 'en' : 'id',
  token: sessionStorage.getItem('sapk-token'),
  challenge: null,
  policy: null,
  // The help contacts (GET /v1/help replaces these defaults with the configured ones).
  help: { phone: '021-8093008', email: 'humasbknri@gmail.com', url: 'https://www.bkn.go.id/homepage/lapor-bkn' },
};

const $ = (sel, root) => (root || document).querySelector(sel);
const t = (key, vars) => {
  let s = T[state.lang][key] || T.id[key] || key;
  for (const [k, v] of Object.entries({ ...state.help, ...(vars || {}) })) s = s.replace('{' + k + '}', v);
  return s;
};

// --- the API -----------------------------------------------------------------------------

async function api(method, path, body, auth) {
  const headers = { 'Accept-Language': state.lang };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && state.token) headers.Authorization = 'Bearer ' + state.token;
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    return { ok: false, status: 0, data: { code: 'offline' }, retryAfter: null };
  }
  let data = null;
  if (r.status !== 204) {
    try { data = await r.json(); } catch (e) { data = null; }
  }
  return { ok: r.ok, status: r.status, data: data || {}, retryAfter: r.headers.get('Retry-After') };
}

/** What to say about a refusal, in the page's language. */
function problemText(res) {
  const p = res.data || {};
  switch (p.code) {
    case 'offline': return t('offline');
    case 'invalid_token': return t('invalid_token');
    case 'rate_limited': {
      const secs = parseInt(res.retryAfter || '60', 10);
      return t('rate_limited', { min: Math.max(1, Math.ceil(secs / 60)) });
    }
    case 'unavailable': return t('unavailable');
    case 'weak_password': {
      // A breached password may meet every other rule: the server's words say it plainly.
      if ((p.violations || []).includes('breached') && p.detail) return p.detail;
      const list = (p.violations || []).map(ruleText).join('; ');
      return t('weak', { list });
    }
    default: return p.detail || t('unavailable');
  }
}

function ruleText(code) {
  const rule = state.policy && state.policy.rules.find((r) => r.code === code);
  return rule ? rule.text : code;
}

// --- messages and focus ------------------------------------------------------------------

function showError(form, text) {
  const box = $('.error', form);
  box.textContent = text;
  box.hidden = false;
  box.focus();
}

function clearError(form) {
  const box = $('.error', form);
  box.textContent = '';
  box.hidden = true;
}

function showDone(view, text) {
  const box = $('.done', $('#view-' + view));
  box.textContent = text;
  box.hidden = false;
  box.focus();
}

// --- views -------------------------------------------------------------------------------

const VIEWS = ['forgot', 'reset', 'login', 'second', 'account'];

function show(view) {
  for (const v of VIEWS) $('#view-' + v).hidden = v !== view;
  for (const box of document.querySelectorAll('.done')) {
    if (!box.closest('#view-' + view)) box.hidden = true;
  }
  if (view === 'account') loadAccount();
  if (view === 'reset' || view === 'account') loadPolicy();
  const h1 = $('#view-' + view + ' h1');
  document.title = h1.textContent + ' \u00b7 SAPK';
}

function route() {
  let view = (location.hash || '#forgot').slice(1);
  if (!VIEWS.includes(view)) view = 'forgot';
  if (view === 'account' && !state.token) view = 'login';
  if (view === 'second' && !state.challenge) view = 'login';
  show(view);
}

function go(view) {
  if (location.hash !== '#' + view) history.pushState(null, '', '#' + view);
  route();
}

// --- language ----------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll('[data-t-aria]')) el.setAttribute('aria-label', t(el.dataset.tAria));
  const sw = $('#lang');
  sw.textContent = t('switch_to');
  sw.lang = state.lang === 'id' ? 'en' : 'id';
  $('#enrol-qr').alt = t('qr_alt');
  $('#help-link').href = state.help.url;
  state.policy = null;
  const visible = VIEWS.find((v) => !$('#view-' + v).hidden);
  if (visible) show(visible);
}

// --- the NIP as typed --------------------------------------------------------------------

function watchNip(input) {
  const hint = $('#' + input.getAttribute('aria-describedby'));
  let timer = null;
  let asked = 0;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    const typed = input.value.trim();
    if (!typed) { hint.textContent = input.id === 'forgot-nip' ? t('nip_hint') : ''; input.removeAttribute('aria-invalid'); return; }
    timer = setTimeout(async () => {
      const mine = ++asked;
      const res = await api('POST', '/v1/nip/check', { nip: typed });
      if (mine !== asked) return;
      if (res.ok) {
        hint.textContent = t('nip_ok', { kind: res.data.kind });
        input.removeAttribute('aria-invalid');
      } else if (res.data.code === 'invalid_nip') {
        hint.textContent = res.data.detail;
        input.setAttribute('aria-invalid', 'true');
      }
    }, 250);
  });
}

// --- the password policy -----------------------------------------------------------------

async function loadPolicy() {
  if (state.policy) return;
  const res = await api('GET', '/v1/password/policy');
  if (!res.ok) return;
  state.policy = res.data;
  for (const ul of document.querySelectorAll('.rules ul')) {
    ul.textContent = '';
    for (const rule of res.data.rules) {
      const li = document.createElement('li');
      li.dataset.code = rule.code;
      li.textContent = rule.text;
      ul.appendChild(li);
    }
  }
}

function markRules(form, violations) {
  for (const li of form.querySelectorAll('.rules li')) {
    li.classList.toggle('broken', (violations || []).includes(li.dataset.code));
  }
}

// --- the forms ---------------------------------------------------------------------------

function onSubmit(id, handler) {
  const form = $('#' + id);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(form);
    const done = $('.done', form.closest('section'));
    if (done) done.hidden = true;
    const button = $('button[type=submit]', form);
    button.disabled = true;
    try { await handler(form); } finally { button.disabled = false; }
  });
}

function values(form) {
  const out = {};
  for (const el of form.querySelectorAll('input[name]')) out[el.name] = el.value;
  return out;
}

function startSession(data) {
  state.token = data.access_token;
  state.challenge = null;
  sessionStorage.setItem('sapk-token', state.token);
  go('account');
}

function endSession(message) {
  state.token = null;
  sessionStorage.removeItem('sapk-token');
  go('login');
  if (message) showDone('login', message);
}

function setUp() {
  onSubmit('form-forgot', async (form) => {
    const { nip } = values(form);
    if (!nip.trim()) return showError(form, t('fill_nip'));
    const res = await api('POST', '/v1/password/forgot', { nip });
    if (!res.ok) return showError(form, problemText(res));
    $('#reset-nip').value = nip;
    showDone('forgot', res.data.message);
  });

  onSubmit('form-reset', async (form) => {
    const body = values(form);
    if (!body.nip.trim() || !body.token.trim() || !body.new_password) return showError(form, t('fill_all'));
    await loadPolicy();
    const res = await api('POST', '/v1/password/reset', body);
    markRules(form, res.data.violations);
    if (!res.ok) return showError(form, problemText(res));
    form.reset();
    $('#login-nip').value = body.nip;
    go('login');
    showDone('login', t('reset_done'));
  });

  onSubmit('form-login', async (form) => {
    const body = values(form);
    if (!body.nip.trim() || !body.password) return showError(form, t('fill_all'));
    const res = await api('POST', '/v1/login', body);
    if (!res.ok) return showError(form, problemText(res));
    $('#login-password').value = '';
    if (res.data.second_factor_required) {
      state.challenge = res.data.challenge;
      go('second');
      $('#second-code').focus();
      return;
    }
    startSession(res.data);
  });

  onSubmit('form-second', async (form) => {
    const { code } = values(form);
    if (!code.trim()) return showError(form, t('fill_all'));
    const res = await api('POST', '/v1/login/second-factor', { challenge: state.challenge, code });
    if (!res.ok) {
      if (res.data.code === 'invalid_challenge') { state.challenge = null; go('login'); return showError($('#form-login'), problemText(res)); }
      return showError(form, problemText(res));
    }
    form.reset();
    startSession(res.data);
  });

  onSubmit('form-change', async (form) => {
    const body = values(form);
    if (!body.current_password || !body.new_password) return showError(form, t('fill_all'));
    await loadPolicy();
    const res = await api('POST', '/v1/password/change', body, true);
    markRules(form, res.data.violations);
    if (res.status === 401 && res.data.code === 'unauthorized') return endSession(t('session_over'));
    if (!res.ok) return showError(form, problemText(res));
    form.reset();
    state.token = res.data.access_token;
    sessionStorage.setItem('sapk-token', state.token);
    showDone('account', t('changed'));
  });

  onSubmit('form-enrol', async (form) => {
    const body = values(form);
    if (!body.current_password) return showError(form, t('fill_all'));
    const res = await api('POST', '/v1/account/second-factor', body, true);
    if (res.status === 401 && res.data.code === 'unauthorized') return endSession(t('session_over'));
    form.reset();
    if (!res.ok) return showError(form, problemText(res));
    $('#enrol-qr').src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(res.data.qr_svg);
    $('#enrol-secret').textContent = res.data.secret;
    form.hidden = true;
    const confirm = $('#form-confirm');
    confirm.hidden = false;
    $('#confirm-code').focus();
  });

  onSubmit('form-confirm', async (form) => {
    const { code } = values(form);
    if (!code.trim()) return showError(form, t('fill_all'));
    const res = await api('POST', '/v1/account/second-factor/confirm', { code }, true);
    if (res.status === 401) return endSession(t('session_over'));
    if (!res.ok) return showError(form, problemText(res));
    form.reset();
    form.hidden = true;
    const list = $('#recovery-codes');
    list.textContent = '';
    for (const c of res.data.recovery_codes) {
      const li = document.createElement('li');
      li.textContent = c;
      list.appendChild(li);
    }
    $('#recovery').hidden = false;
    showDone('account', t('factor_done'));
    loadAccount(true);
  });

  onSubmit('form-logout', async () => {
    await api('POST', '/v1/logout', undefined, true);
    endSession();
  });

  for (const box of document.querySelectorAll('.show-password')) {
    box.addEventListener('change', () => { $('#' + box.dataset.for).type = box.checked ? 'text' : 'password'; });
  }
  for (const id of ['forgot-nip', 'reset-nip', 'login-nip']) watchNip($('#' + id));
  $('#lang').addEventListener('click', () => {
    state.lang = state.lang === 'id' ? 'en' : 'id';
    localStorage.setItem('sapk-lang', state.lang);
    applyLanguage();
  });
  window.addEventListener('hashchange', route);
}

// --- the signed-in account ---------------------------------------------------------------

async function loadAccount(keepRecovery) {
  const res = await api('GET', '/v1/session', undefined, true);
  if (!res.ok) return endSession(t('session_over'));
  const s = res.data;
  const at = new Date(s.expires_at).toLocaleString(state.lang === 'id' ? 'id-ID' : 'en-GB');
  $('#account-info').textContent = t('signed_in', { nip: s.nip, at });
  $('#account-2fa-required').hidden = !(s.second_factor_required && !s.second_factor);
  $('#factor-state').textContent = s.second_factor ? t('factor_on') : t('factor_off');
  $('#form-enrol').hidden = s.second_factor || !$('#form-confirm').hidden;
  if (!keepRecovery) $('#recovery').hidden = true;
  const act = await api('GET', '/v1/account/activity?limit=10', undefined, true);
  const ul = $('#activity');
  ul.textContent = '';
  const events = (act.ok && act.data.events) || [];
  if (!events.length) {
    const li = document.createElement('li');
    li.textContent = t('no_activity');
    ul.appendChild(li);
  }
  for (const e of events) {
    const li = document.createElement('li');
    const when = new Date(e.at).toLocaleString(state.lang === 'id' ? 'id-ID' : 'en-GB');
    li.textContent = when + ' \u2014 ' + e.what + ': ' + e.outcome + (e.office ? ' (' + e.office + ')' : e.source ? ' (' + e.source + ')' : '');
    ul.appendChild(li);
  }
}

async function loadHelp() {
  const res = await api('GET', '/v1/help');
  if (!res.ok) return;
  state.help = { phone: res.data.phone, email: res.data.email, url: res.data.url };
  applyLanguage();
}

document.addEventListener('DOMContentLoaded', () => {
  setUp();
  applyLanguage();
  route();
  loadHelp();
});
