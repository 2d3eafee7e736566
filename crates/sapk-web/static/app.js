// The recovery page: forgot, reset, login (with the second step), and the signed-in account.
// No framework and no third-party request; every rule is the server's (the NIP is checked by
// POST /v1/nip/check, the password rules come from GET /v1/password/policy, the code's
// lifetime, the wait before another code and the product's name from GET /v1/help).
'use strict';

const T = {
  id: {
    skip: 'Langsung ke isi', menu: 'Menu',
    nav_forgot: 'Lupa password', nav_login: 'Masuk', nav_account: 'Akun', switch_to: 'English',
    forgot_title: 'Lupa password',
    forgot_intro: 'Masukkan NIP Anda. Jika NIP terdaftar dan memiliki email, kami mengirim kode reset (8 huruf dan angka, misalnya K7M2-9QXP) ke email tersebut. Kode berlaku {minutes} menit.',
    nip: 'NIP (18 digit)', nip_hint: 'PNS atau PPPK. Spasi, titik atau tanda hubung boleh dipakai.',
    nip_ok: 'NIP {kind} valid.', send_code: 'Kirim kode reset',
    forgot_sent: 'Jika NIP terdaftar dan memiliki email, kode reset telah dikirim ke email tersebut. Kode berlaku {minutes} menit. Email biasanya tiba dalam 1-2 menit.',
    tip_spam: 'Periksa juga folder Spam, Promosi atau Sosial.',
    tip_newest: 'Hanya kode terbaru yang berlaku; kode yang lebih lama tidak bisa dipakai lagi.',
    resend_wait: 'Kirim ulang kode ({secs} detik)', resend_now: 'Kirim ulang kode',
    resend_countdown: 'Anda dapat meminta kode baru dalam {secs} detik.', resend_ready: 'Belum menerima email? Anda dapat meminta kode baru sekarang.',
    have_code: 'Sudah punya kode? Masukkan di sini.',
    reset_title: 'Buat password baru',
    reset_intro: 'Buka email terakhir dari SAPK (periksa juga folder Spam atau Promosi) dan masukkan kodenya di sini bersama password baru. Kode berlaku {minutes} menit sejak dikirim.',
    code: 'Kode reset dari email', new_password: 'Password baru', rules_title: 'Password baru harus:',
    show_password: 'Tampilkan password', save_password: 'Simpan password',
    no_code_title: 'Email belum datang?',
    no_code_text: 'Tunggu 1-2 menit dan periksa folder Spam, Promosi atau Sosial. Bila tetap tidak ada, minta kode baru; hanya kode terbaru yang berlaku. Jika email itu tidak lagi bisa Anda buka, datangi kantor BKN terdekat atau unit kepegawaian instansi Anda dengan membawa KTP.',
    ask_new_code: 'Minta kode baru', fill_reset_nip: 'Isi NIP Anda di atas dulu, lalu minta kode baru.',
    login_title: 'Masuk', password: 'Password', login: 'Masuk', forgot_link: 'Lupa password?',
    second_title: 'Verifikasi dua langkah',
    second_intro: 'Masukkan kode 6 digit yang sedang tampil di aplikasi authenticator Anda, atau salah satu kode pemulihan.',
    second_code: 'Kode verifikasi', verify: 'Verifikasi',
    account_title: 'Akun Anda', name_label: 'Nama', email_label: 'Email', session_label: 'Sesi berakhir',
    no_email: 'belum ada (datangi unit kepegawaian atau kantor BKN dengan membawa KTP)',
    second_required: 'Instansi Anda mewajibkan verifikasi dua langkah. Pasang aplikasi authenticator di bawah ini.',
    change_title: 'Ganti password', current_password: 'Password saat ini', change: 'Ganti password',
    factor_title: 'Verifikasi dua langkah', enrol: 'Pasang aplikasi authenticator',
    enrol_reauth: 'Untuk keamanan, masukkan lagi password Anda sebelum memasang aplikasi authenticator.',
    enrol_step1: '1. Tambahkan akun ke aplikasi authenticator',
    enrol_here: 'Di ponsel ini: ketuk tombol di bawah untuk membukanya di aplikasi authenticator (misalnya Google Authenticator atau Microsoft Authenticator), atau salin kuncinya dan tempel di aplikasi sebagai \u201cmasukkan kunci penyiapan\u201d.',
    enrol_open: 'Buka di aplikasi authenticator', enrol_key: 'Kunci:', copy_key: 'Salin kunci',
    enrol_other_device: 'Memakai ponsel lain? Pindai kode QR',
    enrol_step2: '2. Masukkan kode 6 digit dari aplikasi',
    confirm_hint: 'Kode berganti setiap 30 detik; masukkan yang sedang tampil, dalam 10 menit.',
    confirm: 'Aktifkan', qr_alt: 'Kode QR untuk aplikasi authenticator di ponsel lain',
    copied: 'Disalin.', copy_failed: 'Tidak dapat menyalin otomatis; pilih teksnya lalu salin.',
    recovery_title: 'Simpan kode pemulihan Anda',
    recovery_once: 'Simpan 10 kode pemulihan ini di tempat aman (dicetak, diunduh ke tempat aman, atau di pengelola password). Masing-masing dapat dipakai sekali bila ponsel Anda hilang. Kode ini tidak akan ditampilkan lagi.',
    copy: 'Salin', download: 'Unduh (.txt)', print: 'Cetak',
    recovery_ack: 'Saya sudah menyimpan kode pemulihan', recovery_done: 'Selesai',
    recovery_pending: 'Simpan kode pemulihan Anda dulu, centang \u201cSaya sudah menyimpan kode pemulihan\u201d, lalu pilih Selesai.',
    recovery_file: 'Kode pemulihan {product} untuk NIP {nip}\nDibuat {at}\nMasing-masing dapat dipakai sekali untuk masuk bila aplikasi authenticator tidak ada.\n\n{codes}\n',
    renew: 'Buat kode pemulihan baru',
    renew_intro: 'Kode pemulihan hilang atau hampir habis? Buat 10 kode baru; kode lama tidak berlaku lagi. Untuk keamanan, masukkan password dan kode dari aplikasi authenticator.',
    renew_left: 'Sisa kode pemulihan: {n} dari 10.',
    activity_title: 'Aktivitas keamanan terakhir', logout: 'Keluar',
    logout_question: 'Keluar dari akun Anda di perangkat ini?', logout_yes: 'Ya, keluar', cancel: 'Batal',
    logged_out: 'Anda sudah keluar.',
    help: 'Butuh bantuan? Hubungi unit kepegawaian instansi Anda, kantor BKN terdekat, atau BKN di {phone} / {email}. Jika email Anda tidak lagi bisa dibuka, datangi kantor BKN terdekat atau unit kepegawaian instansi Anda dengan membawa KTP.',
    help_link: 'Pengaduan: LAPOR BKN',
    factor_on: 'Aktif: login meminta kode dari aplikasi authenticator.',
    factor_off: 'Belum aktif.',
    no_activity: 'Belum ada aktivitas.',
    fill_nip: 'Isi NIP Anda.', fill_all: 'Isi semua kolom.',
    invalid_token: 'Kode reset salah, sudah kedaluwarsa, sudah dipakai, atau sudah diganti kode yang lebih baru. Periksa email terakhir dari SAPK atau minta kode baru.',
    rate_limited: 'Terlalu banyak percobaan. Coba lagi dalam {min} menit.',
    rate_limited_forgot: 'Terlalu banyak permintaan kode untuk NIP ini. Coba lagi dalam {min} menit. Kode yang sudah dikirim tetap berlaku: periksa email terakhir, juga folder Spam.',
    rate_limited_login: 'Login dikunci sementara setelah beberapa percobaan salah. Coba lagi dalam {min} menit. Jika Anda lupa password, pilih Lupa password untuk membuat password baru dengan kode dari email.',
    unavailable: 'Layanan sedang sibuk atau dalam gangguan. Coba lagi sebentar lagi. Bantuan: {phone}.',
    offline: 'Tidak dapat terhubung ke layanan. Periksa koneksi internet Anda lalu coba lagi.',
    weak_kept: 'Kode reset Anda belum terpakai.',
    reset_done: 'Password berhasil diperbarui. Silakan masuk dengan NIP dan password baru.',
    changed: 'Password berhasil diganti. Sesi lain sudah diakhiri, dan pemberitahuan dikirim ke email Anda.',
    factor_done: 'Verifikasi dua langkah aktif.',
    renewed: 'Kode pemulihan baru dibuat; kode lama tidak berlaku lagi.',
    session_over: 'Sesi Anda berakhir. Silakan masuk kembali.',
    or: 'atau', passkey_login: 'Masuk dengan passkey',
    passkey_login_hint: 'Pakai kunci layar ponsel atau laptop Anda (sidik jari, wajah atau PIN), tanpa password.',
    passkey_cancelled: 'Passkey tidak dipakai (dibatalkan, atau waktunya habis). Coba lagi, atau masuk dengan NIP dan password.',
    second_passkey_intro: 'Pakai passkey Anda: kunci layar ponsel atau laptop tempat passkey itu dibuat.',
    second_passkey_only: 'Instansi Anda mewajibkan verifikasi dua langkah. Pakai passkey Anda: kunci layar ponsel atau laptop tempat passkey itu dibuat.',
    second_passkey: 'Pakai passkey',
    passkey_title: 'Passkey',
    passkey_intro: 'Dengan passkey Anda masuk memakai kunci layar ponsel atau laptop (sidik jari, wajah atau PIN), tanpa password dan tanpa kode. Passkey tidak dapat dipakai di situs palsu.',
    passkey_unsupported: 'Peramban atau alamat ini tidak mendukung passkey. Buka halaman ini di peramban terbaru (Chrome, Safari, Edge atau Firefox).',
    passkey_reauth: 'Untuk keamanan, masukkan lagi password Anda sebelum menambahkan passkey.',
    passkey_reauth_code: 'Untuk keamanan, masukkan lagi password Anda dan kode dari aplikasi authenticator sebelum menambahkan passkey.',
    passkey_name: 'Nama passkey (agar mudah dikenali)', passkey_add: 'Tambahkan passkey',
    passkey_made_on: 'dibuat', passkey_none: 'Belum ada passkey.',
    passkey_made: 'Dibuat {at}', passkey_used: 'terakhir dipakai {at}', passkey_never: 'belum pernah dipakai',
    passkey_synced: 'tersinkron ke perangkat Anda yang lain',
    passkey_remove: 'Hapus', passkey_remove_label: 'Hapus passkey {name}',
    passkey_remove_question: 'Hapus passkey \u201c{name}\u201d? Anda tidak dapat lagi masuk dengan passkey itu, dan sesi lain di perangkat mana pun diakhiri. Untuk keamanan, masukkan password Anda.',
    passkey_remove_yes: 'Ya, hapus',
    passkey_added: 'Passkey ditambahkan. Mulai sekarang Anda dapat masuk dengan kunci layar perangkat ini, tanpa password. Pemberitahuan dikirim ke email Anda.',
    passkey_removed: 'Passkey dihapus. Sesi lain sudah diakhiri, dan pemberitahuan dikirim ke email Anda.',
    passkey_exists: 'Perangkat ini sudah punya passkey untuk akun Anda.',
    passkey_not_made: 'Passkey tidak dibuat (dibatalkan, atau waktunya habis). Coba lagi.',
  },
  en: {
    skip: 'Skip to content', menu: 'Menu',
    nav_forgot: 'Forgot password', nav_login: 'Log in', nav_account: 'Account', switch_to: 'Bahasa Indonesia',
    forgot_title: 'Forgot password',
    forgot_intro: 'Enter your NIP. If it is registered and has an e-mail address, we send a reset code (8 letters and digits, e.g. K7M2-9QXP) to that address. The code is valid for {minutes} minutes.',
    nip: 'NIP (18 digits)', nip_hint: 'PNS or PPPK. Spaces, dots or hyphens are fine.',
    nip_ok: 'Valid {kind} NIP.', send_code: 'Send reset code',
    forgot_sent: 'If the NIP is registered and has an e-mail address, a reset code has been sent to it. The code is valid for {minutes} minutes. The e-mail usually arrives within 1-2 minutes.',
    tip_spam: 'Check the Spam, Promotions or Social folder too.',
    tip_newest: 'Only the newest code works; older ones can no longer be used.',
    resend_wait: 'Send the code again ({secs} s)', resend_now: 'Send the code again',
    resend_countdown: 'You can ask for a new code in {secs} seconds.', resend_ready: 'No e-mail yet? You can ask for a new code now.',
    have_code: 'Already have a code? Enter it here.',
    reset_title: 'Set a new password',
    reset_intro: 'Open the latest e-mail from SAPK (check the Spam or Promotions folder too) and enter its code here with your new password. The code is valid for {minutes} minutes after it is sent.',
    code: 'Reset code from the e-mail', new_password: 'New password', rules_title: 'The new password must have:',
    show_password: 'Show password', save_password: 'Save password',
    no_code_title: 'No e-mail yet?',
    no_code_text: 'Wait 1-2 minutes and check the Spam, Promotions or Social folder. If it still is not there, ask for a new code; only the newest code works. If you can no longer open that e-mail, visit the nearest BKN office or your agency\u2019s HR unit with your KTP.',
    ask_new_code: 'Ask for a new code', fill_reset_nip: 'Enter your NIP above first, then ask for a new code.',
    login_title: 'Log in', password: 'Password', login: 'Log in', forgot_link: 'Forgot your password?',
    second_title: 'Two-step login',
    second_intro: 'Enter the 6-digit code shown now in your authenticator app, or one of your recovery codes.',
    second_code: 'Verification code', verify: 'Verify',
    account_title: 'Your account', name_label: 'Name', email_label: 'E-mail', session_label: 'Session ends',
    no_email: 'none yet (visit your HR unit or a BKN office with your KTP)',
    second_required: 'Your agency requires two-step login. Set up an authenticator app below.',
    change_title: 'Change password', current_password: 'Current password', change: 'Change password',
    factor_title: 'Two-step login', enrol: 'Set up an authenticator app',
    enrol_reauth: 'For your security, enter your password again before setting up an authenticator app.',
    enrol_step1: '1. Add the account to an authenticator app',
    enrol_here: 'On this phone: tap the button below to open it in an authenticator app (e.g. Google Authenticator or Microsoft Authenticator), or copy the key and paste it in the app as \u201center a setup key\u201d.',
    enrol_open: 'Open in the authenticator app', enrol_key: 'Key:', copy_key: 'Copy the key',
    enrol_other_device: 'Using another phone? Scan the QR code',
    enrol_step2: '2. Enter the 6-digit code from the app',
    confirm_hint: 'The code changes every 30 seconds; enter the one shown now, within 10 minutes.',
    confirm: 'Turn on', qr_alt: 'QR code for an authenticator app on another phone',
    copied: 'Copied.', copy_failed: 'Could not copy automatically; select the text and copy it.',
    recovery_title: 'Keep your recovery codes',
    recovery_once: 'Keep these 10 recovery codes somewhere safe (printed, downloaded to a safe place, or in a password manager). Each works once if you lose your phone. They will not be shown again.',
    copy: 'Copy', download: 'Download (.txt)', print: 'Print',
    recovery_ack: 'I have saved my recovery codes', recovery_done: 'Done',
    recovery_pending: 'Keep your recovery codes first, tick \u201cI have saved my recovery codes\u201d, then choose Done.',
    recovery_file: '{product} recovery codes for NIP {nip}\nMade {at}\nEach works once to log in when the authenticator app is not at hand.\n\n{codes}\n',
    renew: 'Make new recovery codes',
    renew_intro: 'Lost your recovery codes or almost out? Make 10 new ones; the old ones stop working. For your security, enter your password and a code from the authenticator app.',
    renew_left: 'Recovery codes left: {n} of 10.',
    activity_title: 'Recent security activity', logout: 'Log out',
    logout_question: 'Log out of your account on this device?', logout_yes: 'Yes, log out', cancel: 'Cancel',
    logged_out: 'You have logged out.',
    help: 'Need help? Contact your agency\u2019s HR unit, the nearest BKN office, or BKN on {phone} / {email}. If you can no longer open your e-mail, visit the nearest BKN office or your agency\u2019s HR unit with your KTP.',
    help_link: 'Complaints: LAPOR BKN',
    factor_on: 'On: logging in asks for a code from the authenticator app.',
    factor_off: 'Not on.',
    no_activity: 'No activity yet.',
    fill_nip: 'Enter your NIP.', fill_all: 'Fill in every field.',
    invalid_token: 'The reset code is wrong, expired, already used or replaced by a newer one. Check the latest e-mail from SAPK or ask for a new code.',
    rate_limited: 'Too many attempts. Try again in {min} minute(s).',
    rate_limited_forgot: 'Too many code requests for this NIP. Try again in {min} minute(s). The code already sent still works: check the latest e-mail, and the Spam folder.',
    rate_limited_login: 'Logins are locked for a while after several wrong tries. Try again in {min} minute(s). If you forgot your password, choose Forgot password to set a new one with a code from your e-mail.',
    unavailable: 'The service is busy or having trouble. Please try again shortly. Help: {phone}.',
    offline: 'The service cannot be reached. Check your internet connection and try again.',
    weak_kept: 'Your reset code was not used up.',
    reset_done: 'Your password was updated. Log in with your NIP and the new password.',
    changed: 'Your password was changed. Other sessions were ended, and your e-mail was told.',
    factor_done: 'Two-step login is on.',
    renewed: 'New recovery codes were made; the old ones no longer work.',
    session_over: 'Your session ended. Please log in again.',
    or: 'or', passkey_login: 'Sign in with a passkey',
    passkey_login_hint: 'Use your phone\u2019s or laptop\u2019s screen lock (fingerprint, face or PIN), without a password.',
    passkey_cancelled: 'No passkey was used (cancelled, or the time ran out). Try again, or log in with your NIP and password.',
    second_passkey_intro: 'Use your passkey: the screen lock of the phone or laptop where you made it.',
    second_passkey_only: 'Your agency requires two-step login. Use your passkey: the screen lock of the phone or laptop where you made it.',
    second_passkey: 'Use a passkey',
    passkey_title: 'Passkeys',
    passkey_intro: 'With a passkey you sign in with your phone\u2019s or laptop\u2019s screen lock (fingerprint, face or PIN), without a password or a code. A passkey cannot be used on a fake site.',
    passkey_unsupported: 'This browser or address does not support passkeys. Open this page in an up-to-date browser (Chrome, Safari, Edge or Firefox).',
    passkey_reauth: 'For your security, enter your password again before adding a passkey.',
    passkey_reauth_code: 'For your security, enter your password again and a code from the authenticator app before adding a passkey.',
    passkey_name: 'Passkey name (to recognise it)', passkey_add: 'Add a passkey',
    passkey_made_on: 'made', passkey_none: 'No passkeys yet.',
    passkey_made: 'Made {at}', passkey_used: 'last used {at}', passkey_never: 'never used',
    passkey_synced: 'synced to your other devices',
    passkey_remove: 'Remove', passkey_remove_label: 'Remove the passkey {name}',
    passkey_remove_question: 'Remove the passkey \u201c{name}\u201d? You will no longer be able to sign in with it, and your other sessions on any device end. For your security, enter your password.',
    passkey_remove_yes: 'Yes, remove',
    passkey_added: 'Passkey added. From now on you can sign in with this device\u2019s screen lock, without a password. Your e-mail was told.',
    passkey_removed: 'Passkey removed. Other sessions were ended, and your e-mail was told.',
    passkey_exists: 'This device already has a passkey for your account.',
    passkey_not_made: 'No passkey was made (cancelled, or the time ran out). Try again.',
  },
};

const state = {
  lang: localStorage.getItem('sapk-lang') === 'en' ? 'en' : 'id',
  token: sessionStorage.getItem('sapk-token'),
  challenge: null,
  // What answers the second step's challenge: the authenticator's code, a passkey.
  second: { code: true, passkey: false },
  // The account's passkeys as last listed.
  passkeys: [],
  policy: null,
  session: null,
  // Recovery codes on screen and not yet acknowledged: nothing else until they are.
  recoveryPending: false,
  // What the server says (GET /v1/help replaces these defaults with the configured ones).
  help: { phone: '021-8093008', email: 'humasbknri@gmail.com', url: 'https://www.bkn.go.id/homepage/lapor-bkn', product: 'SAPK Akun ASN', minutes: 15, resend: 60, passkeys: true },
  // The success box of each view, as a key and its values, so that a language switch redraws it.
  done: {},
  resendAt: 0,
  timer: null,
};

const $ = (sel, root) => (root || document).querySelector(sel);
const t = (key, vars) => {
  let s = T[state.lang][key] || T.id[key] || key;
  for (const [k, v] of Object.entries({ ...state.help, ...(vars || {}) })) s = s.split('{' + k + '}').join(v);
  return s;
};
const when = (iso) => new Date(iso).toLocaleString(state.lang === 'id' ? 'id-ID' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });

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

/** What to say about a refusal on `form`, in the page's language. */
function problemText(res, form) {
  const p = res.data || {};
  switch (p.code) {
    case 'offline': return t('offline');
    case 'invalid_token': return t('invalid_token');
    case 'rate_limited': {
      const min = Math.max(1, Math.ceil(parseInt(res.retryAfter || '60', 10) / 60));
      const id = form && form.id;
      if (id === 'form-forgot' || id === 'form-reset') return t('rate_limited_forgot', { min });
      if (id === 'form-login') return t('rate_limited_login', { min });
      return t('rate_limited', { min });
    }
    case 'unavailable': return t('unavailable');
    case 'weak_password':
      // The server names every rule broken, and what made the password guessable.
      return p.detail + (form && form.id === 'form-reset' ? '\n' + t('weak_kept') : '');
    default: return p.detail || t('unavailable');
  }
}

// --- messages and focus ------------------------------------------------------------------

function showError(form, text) {
  const box = form.classList.contains('error') ? form : $('.error', form);
  box.textContent = text;
  box.hidden = false;
  box.focus();
}

function clearError(form) {
  const box = $('.error', form);
  box.textContent = '';
  box.hidden = true;
}

/** The success box of `view`: `key` in the page's language (redrawn on a switch). */
function showDone(view, key, vars) {
  state.done[view] = { key, vars };
  const box = $('.done', $('#view-' + view));
  box.textContent = t(key, vars);
  box.hidden = false;
  box.focus();
}

function hideDone(view) {
  delete state.done[view];
  const box = $('.done', $('#view-' + view));
  if (box) box.hidden = true;
}

// --- views -------------------------------------------------------------------------------

const VIEWS = ['forgot', 'reset', 'login', 'second', 'account'];

function show(view) {
  for (const v of VIEWS) $('#view-' + v).hidden = v !== view;
  for (const v of VIEWS) if (v !== view) hideDone(v);
  if (view === 'account') loadAccount();
  if (view === 'reset' || view === 'account') loadPolicy();
  if (view === 'second') showSecondStep();
  $('#login-passkey-box').hidden = !passkeysHere();
  // One autofill request while the login is on screen (a language switch keeps it).
  if (view === 'login' && !state.token && passkeysHere()) {
    if (!autofill) startAutofill();
  } else {
    stopAutofill();
  }
  const h1 = $('#view-' + view + ' h1');
  document.title = h1.textContent + ' \u00b7 ' + state.help.product;
}

function route() {
  let view = (location.hash || '#forgot').slice(1);
  if (!VIEWS.includes(view)) view = 'forgot';
  // Recovery codes on screen: they must be kept before anything else.
  if (state.recoveryPending) {
    if (location.hash !== '#account') history.replaceState(null, '', '#account');
    return remindRecovery();
  }
  if (view === 'account' && !state.token) view = 'login';
  if (view === 'second' && !state.challenge) view = 'login';
  show(view);
  showMenu();
}

function go(view) {
  if (location.hash !== '#' + view) history.pushState(null, '', '#' + view);
  route();
}

/** The menu for who is there: signed out, "Lupa password" and "Masuk"; signed in, "Akun" and "Keluar". */
function showMenu() {
  const inside = !!state.token;
  $('#nav-forgot').hidden = inside;
  $('#nav-login').hidden = inside;
  $('#nav-account').hidden = !inside;
  $('#nav-logout').hidden = !inside;
}

// --- language ----------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll('[data-t-aria]')) el.setAttribute('aria-label', t(el.dataset.tAria));
  const sw = $('#lang');
  sw.textContent = t('switch_to');
  sw.lang = state.lang === 'id' ? 'en' : 'id';
  $('#brand').textContent = state.help.product;
  $('#forgot-intro').textContent = t('forgot_intro');
  $('#reset-intro').textContent = t('reset_intro');
  $('#enrol-qr').alt = t('qr_alt');
  $('#second-passkey-intro').textContent = t(state.second.code ? 'second_passkey_intro' : 'second_passkey_only');
  $('#passkey-reauth').textContent = t(state.session && state.session.second_factor ? 'passkey_reauth_code' : 'passkey_reauth');
  $('#help-link').href = state.help.url;
  for (const [view, d] of Object.entries(state.done)) $('.done', $('#view-' + view)).textContent = t(d.key, d.vars);
  tick();
  state.policy = null;
  const visible = VIEWS.find((v) => !$('#view-' + v).hidden);
  if (visible) show(visible);
}

// --- the NIP as typed --------------------------------------------------------------------

/** The NIP is checked when the field is left (not while it is typed), by the server's rules. */
function watchNip(input) {
  const hint = $('#' + input.getAttribute('aria-describedby'));
  let asked = 0;
  const idle = () => { hint.textContent = input.id === 'forgot-nip' ? t('nip_hint') : ''; };
  input.addEventListener('input', () => {
    // While typing: no verdict, and an earlier one cleared.
    if (input.getAttribute('aria-invalid')) { input.removeAttribute('aria-invalid'); idle(); }
  });
  input.addEventListener('change', async () => {
    const typed = input.value.trim();
    if (!typed) { idle(); input.removeAttribute('aria-invalid'); return; }
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

// --- asking for a code, and again --------------------------------------------------------

/** Asks for a code for `nip`; the same answer whatever the NIP. Starts the resend countdown. */
async function askCode(nip, view, form) {
  const res = await api('POST', '/v1/password/forgot', { nip });
  if (!res.ok) return showError(form, problemText(res, form));
  if (res.data.code_ttl_minutes) state.help.minutes = res.data.code_ttl_minutes;
  const wait = res.data.resend_after_seconds !== undefined ? res.data.resend_after_seconds : state.help.resend;
  state.resendAt = Date.now() + wait * 1000;
  for (const box of document.querySelectorAll('.resend')) box.hidden = true;
  $('.resend', $('#view-' + view)).hidden = false;
  showDone(view, 'forgot_sent', { minutes: state.help.minutes });
  tick();
  clearInterval(state.timer);
  state.timer = setInterval(tick, 1000);
}

/** The resend buttons and their countdown. */
function tick() {
  const secs = Math.max(0, Math.ceil((state.resendAt - Date.now()) / 1000));
  for (const box of document.querySelectorAll('.resend')) {
    const b = $('.resend-button', box);
    b.disabled = secs > 0;
    b.textContent = secs > 0 ? t('resend_wait', { secs }) : t('resend_now');
    $('.countdown', box).textContent = secs > 0 ? t('resend_countdown', { secs }) : t('resend_ready');
  }
  if (secs === 0) clearInterval(state.timer);
}

// --- copying, downloading, printing ------------------------------------------------------

async function copy(text, note) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch (e) {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
    area.remove();
  }
  $(note).textContent = ok ? t('copied') : t('copy_failed');
}

function recoveryText() {
  const codes = [...document.querySelectorAll('#recovery-codes li')].map((li, i) => (i + 1) + '. ' + li.textContent).join('\n');
  return t('recovery_file', { nip: state.session ? state.session.nip : '', at: when(new Date().toISOString()), codes });
}

function download() {
  const blob = new Blob([recoveryText()], { type: 'text/plain;charset=utf-8' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'kode-pemulihan-sapk.txt';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

// --- recovery codes: shown once, acknowledged before anything else ----------------------

function showRecovery(codes, doneKey) {
  const list = $('#recovery-codes');
  list.textContent = '';
  for (const c of codes) {
    const li = document.createElement('li');
    li.textContent = c;
    list.appendChild(li);
  }
  state.recoveryPending = true;
  $('#recovery-ack').checked = false;
  $('#recovery-done').disabled = true;
  $('#recovery-copied').textContent = '';
  $('#recovery-error').hidden = true;
  $('#recovery').hidden = false;
  $('#account-main').hidden = true;
  state.done.account = { key: doneKey };
  $('.done', $('#view-account')).textContent = t(doneKey);
  $('.done', $('#view-account')).hidden = false;
  $('#recovery-title').focus();
}

function remindRecovery() {
  show('account');
  const box = $('#recovery-error');
  box.textContent = t('recovery_pending');
  box.hidden = false;
  box.focus();
}

function finishRecovery() {
  state.recoveryPending = false;
  $('#recovery').hidden = true;
  $('#recovery-codes').textContent = '';
  $('#account-main').hidden = false;
  loadAccount();
  $('#factor-state').focus();
}

// --- the forms ---------------------------------------------------------------------------

function onSubmit(id, handler) {
  const form = $('#' + id);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearError(form);
    const view = form.closest('section').dataset.view;
    hideDone(view);
    const button = $('button[type=submit]', form);
    button.disabled = true;
    try { await handler(form); } finally { button.disabled = false; }
    // What was just tried shows in the activity at once, refused or not.
    if (view === 'account' && state.token) loadActivity();
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

function endSession(key) {
  state.token = null;
  state.session = null;
  state.recoveryPending = false;
  sessionStorage.removeItem('sapk-token');
  go('login');
  if (key) showDone('login', key);
}

/** Answers a signed-in form: `true` when the session is gone (and the page says so). */
function sessionGone(res) {
  if (res.status === 401 && res.data.code === 'unauthorized') { endSession('session_over'); return true; }
  return false;
}

function setUpPublicForms() {
  onSubmit('form-forgot', async (form) => {
    const { nip } = values(form);
    if (!nip.trim()) return showError(form, t('fill_nip'));
    $('#reset-nip').value = nip;
    await askCode(nip, 'forgot', form);
  });

  onSubmit('form-reset', async (form) => {
    const body = values(form);
    if (!body.nip.trim() || !body.token.trim() || !body.new_password) return showError(form, t('fill_all'));
    await loadPolicy();
    const res = await api('POST', '/v1/password/reset', body);
    markRules(form, res.data.violations);
    if (!res.ok) return showError(form, problemText(res, form));
    form.reset();
    $('#login-nip').value = body.nip;
    go('login');
    showDone('login', 'reset_done');
  });

  for (const view of ['forgot', 'reset']) {
    $('.resend-button', $('#view-' + view)).addEventListener('click', async () => {
      const form = $('#form-' + view);
      clearError(form);
      const nip = $('#' + view + '-nip').value;
      if (!nip.trim()) return showError(form, t(view === 'reset' ? 'fill_reset_nip' : 'fill_nip'));
      await askCode(nip, view, form);
    });
  }
  $('#reset-new-code').addEventListener('click', async () => {
    const form = $('#form-reset');
    clearError(form);
    const nip = $('#reset-nip').value;
    if (!nip.trim()) { $('#reset-nip').focus(); return showError(form, t('fill_reset_nip')); }
    if (Date.now() < state.resendAt) {
      $('.resend', $('#view-reset')).hidden = false;
      return tick();
    }
    await askCode(nip, 'reset', form);
  });

  onSubmit('form-login', async (form) => {
    const body = values(form);
    if (!body.nip.trim() || !body.password) return showError(form, t('fill_all'));
    const res = await api('POST', '/v1/login', body);
    if (!res.ok) return showError(form, problemText(res, form));
    $('#login-password').value = '';
    if (res.data.second_factor_required) {
      state.challenge = res.data.challenge;
      state.second = res.data.second_step || { code: true, passkey: false };
      go('second');
      (state.second.code ? $('#second-code') : $('#second-passkey')).focus();
      return;
    }
    startSession(res.data);
  });

  $('#login-passkey').addEventListener('click', () => passkeyButton(null, $('#form-login'), $('#login-passkey')));
  $('#second-passkey').addEventListener('click', () => passkeyButton(state.challenge, $('#second-passkey-error'), $('#second-passkey')));

  onSubmit('form-second', async (form) => {
    const { code } = values(form);
    if (!code.trim()) return showError(form, t('fill_all'));
    const res = await api('POST', '/v1/login/second-factor', { challenge: state.challenge, code });
    if (!res.ok) {
      if (res.data.code === 'invalid_challenge') { state.challenge = null; go('login'); return showError($('#form-login'), problemText(res)); }
      return showError(form, problemText(res, form));
    }
    form.reset();
    startSession(res.data);
  });
}

function setUpAccountForms() {
  onSubmit('form-change', async (form) => {
    const body = values(form);
    if (!body.current_password || !body.new_password) return showError(form, t('fill_all'));
    await loadPolicy();
    const res = await api('POST', '/v1/password/change', body, true);
    markRules(form, res.data.violations);
    if (sessionGone(res)) return;
    if (!res.ok) return showError(form, problemText(res, form));
    form.reset();
    state.token = res.data.access_token;
    sessionStorage.setItem('sapk-token', state.token);
    showDone('account', 'changed');
    loadAccount();
  });

  onSubmit('form-enrol', async (form) => {
    const body = values(form);
    if (!body.current_password) return showError(form, t('fill_all'));
    const res = await api('POST', '/v1/account/second-factor', body, true);
    if (sessionGone(res)) return;
    form.reset();
    if (!res.ok) return showError(form, problemText(res, form));
    $('#enrol-open').href = res.data.otpauth_uri;
    $('#enrol-qr').src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(res.data.qr_svg);
    // The key in groups of four, as it is read aloud or typed.
    $('#enrol-secret').textContent = res.data.secret.replace(/(.{4})(?=.)/g, '$1 ');
    $('#enrol-secret').dataset.key = res.data.secret;
    $('#enrol-copied').textContent = '';
    form.hidden = true;
    $('#form-confirm').hidden = false;
    $('#enrol-title').focus();
  });

  onSubmit('form-confirm', async (form) => {
    const { code } = values(form);
    if (!code.trim()) return showError(form, t('fill_all'));
    const res = await api('POST', '/v1/account/second-factor/confirm', { code }, true);
    if (sessionGone(res)) return;
    if (!res.ok) return showError(form, problemText(res, form));
    form.reset();
    form.hidden = true;
    showRecovery(res.data.recovery_codes, 'factor_done');
  });

  onSubmit('form-renew', async (form) => {
    const body = values(form);
    if (!body.current_password || !body.code.trim()) return showError(form, t('fill_all'));
    const res = await api('POST', '/v1/account/recovery-codes', body, true);
    if (sessionGone(res)) return;
    form.reset();
    if (!res.ok) return showError(form, problemText(res, form));
    showRecovery(res.data.recovery_codes, 'renewed');
  });

  onSubmit('form-passkey', addPasskey);
  setUpPasskeyRemoval();

  $('#enrol-copy').addEventListener('click', () => copy($('#enrol-secret').dataset.key || '', '#enrol-copied'));
  $('#recovery-copy').addEventListener('click', () => copy(recoveryText(), '#recovery-copied'));
  $('#recovery-download').addEventListener('click', download);
  $('#recovery-print').addEventListener('click', () => window.print());
  $('#recovery-ack').addEventListener('change', () => { $('#recovery-done').disabled = !$('#recovery-ack').checked; });
  $('#recovery-done').addEventListener('click', () => { if ($('#recovery-ack').checked) finishRecovery(); });

  const dialog = $('#logout-dialog');
  $('#nav-logout').addEventListener('click', () => {
    if (state.recoveryPending) return remindRecovery();
    dialog.returnValue = '';
    dialog.showModal();
    $('#logout-no').focus();
  });
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'yes') return $('#nav-logout').focus();
    await api('POST', '/v1/logout', undefined, true);
    endSession('logged_out');
  });
}

function setUp() {
  setUpPublicForms();
  setUpAccountForms();
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
  // Any link while recovery codes wait to be kept: the reminder instead.
  document.addEventListener('click', (e) => {
    const link = e.target.closest && e.target.closest('a[href^="#"]');
    if (link && state.recoveryPending && link.getAttribute('href') !== '#main') { e.preventDefault(); remindRecovery(); }
  });
  window.addEventListener('beforeunload', (e) => { if (state.recoveryPending) { e.preventDefault(); e.returnValue = ''; } });
}

// --- passkeys (WebAuthn) -----------------------------------------------------------------
// The server's options and the browser's answers travel as WebAuthn's JSON (binary fields
// in base64url); the ceremony's rules (user verification, origin, RP ID, challenge) are the
// server's.

/** Whether this browser, at this address, can use passkeys. */
function passkeysHere() {
  return !!window.PublicKeyCredential && window.isSecureContext && state.help.passkeys;
}

function fromB64u(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

function toB64u(buffer) {
  let bin = '';
  for (const b of new Uint8Array(buffer)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const withIds = (list) => (list || []).map((c) => ({ ...c, id: fromB64u(c.id) }));

function creationOptions(o) {
  const pk = { ...o.publicKey };
  pk.challenge = fromB64u(pk.challenge);
  pk.user = { ...pk.user, id: fromB64u(pk.user.id) };
  pk.excludeCredentials = withIds(pk.excludeCredentials);
  return { publicKey: pk };
}

function requestOptions(o) {
  const pk = { ...o.publicKey };
  pk.challenge = fromB64u(pk.challenge);
  if (pk.allowCredentials) pk.allowCredentials = withIds(pk.allowCredentials);
  return pk;
}

/** The browser's new passkey or assertion as the server reads it. */
function credentialJSON(c) {
  const r = c.response;
  const response = { clientDataJSON: toB64u(r.clientDataJSON) };
  if (r.attestationObject) response.attestationObject = toB64u(r.attestationObject);
  if (r.signature) {
    response.authenticatorData = toB64u(r.authenticatorData);
    response.signature = toB64u(r.signature);
    response.userHandle = r.userHandle ? toB64u(r.userHandle) : null;
  }
  const extensions = c.getClientExtensionResults ? c.getClientExtensionResults() : {};
  return { id: c.id, rawId: toB64u(c.rawId), type: c.type, response, extensions };
}

let autofill = null;

/** The NIP field's autofill offers the device's passkeys (conditional mediation). */
async function startAutofill() {
  stopAutofill();
  if (!passkeysHere() || !PublicKeyCredential.isConditionalMediationAvailable) return;
  const ctl = new AbortController();
  autofill = ctl;
  if (!(await PublicKeyCredential.isConditionalMediationAvailable()) || ctl.signal.aborted) return;
  const o = await api('POST', '/v1/login/passkey/options', {});
  if (!o.ok || ctl.signal.aborted) return;
  let cred;
  try {
    cred = await navigator.credentials.get({ publicKey: requestOptions(o.data), mediation: 'conditional', signal: ctl.signal });
  } catch (e) {
    return; // none picked, or the button took over: the form stays as it is
  }
  if (autofill === ctl) autofill = null;
  if (cred) await passkeySignIn(cred, null, $('#form-login'));
}

function stopAutofill() {
  if (autofill) autofill.abort();
  autofill = null;
}

/** A passkey asked for by a button: a whole login, or (with `challenge`) the second step. */
async function passkeyButton(challenge, errorBox, button) {
  stopAutofill();
  clearError(errorBox.classList.contains('error') ? errorBox.parentElement : errorBox);
  if (!passkeysHere()) return showError(errorBox, t('passkey_unsupported'));
  button.disabled = true;
  try {
    const o = await api('POST', '/v1/login/passkey/options', {});
    if (!o.ok) return showError(errorBox, problemText(o));
    let cred;
    try {
      cred = await navigator.credentials.get({ publicKey: requestOptions(o.data) });
    } catch (e) {
      return showError(errorBox, t('passkey_cancelled'));
    }
    await passkeySignIn(cred, challenge, errorBox);
  } finally {
    button.disabled = false;
  }
}

async function passkeySignIn(cred, challenge, errorBox) {
  const body = { credential: credentialJSON(cred) };
  if (challenge) body.challenge = challenge;
  const res = await api('POST', '/v1/login/passkey', body);
  if (!res.ok) return showError(errorBox, problemText(res));
  $('#login-password').value = '';
  startSession(res.data);
}

/** The second step: the code's form, the passkey's button, or both. */
function showSecondStep() {
  const { code, passkey } = state.second;
  $('#second-intro').hidden = !code;
  $('#form-second').hidden = !code;
  $('#second-passkey-box').hidden = !passkey;
  $('#second-passkey-intro').textContent = t(code ? 'second_passkey_intro' : 'second_passkey_only');
  $('#second-passkey-error').hidden = true;
}

/** A name the person recognises: the kind of device and the day ("Android, dibuat 7 Des 2026"). */
function suggestedName() {
  const ua = navigator.userAgent;
  const kinds = [[/Android/, 'Android'], [/iPhone/, 'iPhone'], [/iPad/, 'iPad'], [/Windows/, 'Windows'],
    [/CrOS/, 'Chromebook'], [/Macintosh/, 'Mac'], [/Linux/, 'Linux']];
  const kind = (kinds.find(([re]) => re.test(ua)) || [null, 'Passkey'])[1];
  const day = new Date().toLocaleDateString(state.lang === 'id' ? 'id-ID' : 'en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
  return kind + ', ' + t('passkey_made_on') + ' ' + day;
}

async function loadPasskeys() {
  const res = await api('GET', '/v1/account/passkeys', undefined, true);
  state.passkeys = (res.ok && res.data.passkeys) || [];
  const ul = $('#passkey-list');
  ul.textContent = '';
  if (!state.passkeys.length) {
    const li = document.createElement('li');
    li.textContent = t('passkey_none');
    ul.appendChild(li);
  }
  for (const p of state.passkeys) {
    const li = document.createElement('li');
    const about = document.createElement('span');
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = p.name;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = [t('passkey_made', { at: when(p.created_at) }),
      p.last_used_at ? t('passkey_used', { at: when(p.last_used_at) }) : t('passkey_never'),
      p.synced ? t('passkey_synced') : null].filter(Boolean).join(' \u00b7 ');
    about.append(name, meta);
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary passkey-remove';
    remove.dataset.id = p.id;
    remove.dataset.name = p.name;
    remove.textContent = t('passkey_remove');
    remove.setAttribute('aria-label', t('passkey_remove_label', { name: p.name }));
    li.append(about, remove);
    ul.appendChild(li);
  }
  const unsupported = !passkeysHere();
  $('#passkey-unsupported').hidden = !unsupported;
  $('#form-passkey').hidden = unsupported;
  if (!$('#passkey-name').value) $('#passkey-name').value = suggestedName();
}

async function addPasskey(form) {
  const body = values(form);
  const withCode = !!(state.session && state.session.second_factor);
  if (!body.current_password || (withCode && !body.code.trim())) return showError(form, t('fill_all'));
  const o = await api('POST', '/v1/account/passkeys/options',
    { current_password: body.current_password, code: withCode ? body.code : undefined }, true);
  if (sessionGone(o)) return;
  if (!o.ok) return showError(form, problemText(o, form));
  let cred;
  try {
    cred = await navigator.credentials.create(creationOptions(o.data));
  } catch (e) {
    return showError(form, t(e && e.name === 'InvalidStateError' ? 'passkey_exists' : 'passkey_not_made'));
  }
  const res = await api('POST', '/v1/account/passkeys/add',
    { credential: credentialJSON(cred), name: body.name.trim() || undefined }, true);
  if (sessionGone(res)) return;
  if (!res.ok) return showError(form, problemText(res, form));
  form.reset();
  showDone('account', 'passkey_added');
  await loadAccount();
}

function setUpPasskeyRemoval() {
  const dialog = $('#passkey-dialog');
  $('#passkey-list').addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('.passkey-remove');
    if (!button) return;
    dialog.dataset.id = button.dataset.id;
    $('#passkey-question').textContent = t('passkey_remove_question', { name: button.dataset.name });
    $('#passkey-remove-current').value = '';
    dialog.returnValue = '';
    dialog.showModal();
    $('#passkey-remove-current').focus();
  });
  dialog.addEventListener('close', async () => {
    const current = $('#passkey-remove-current').value;
    $('#passkey-remove-current').value = '';
    const box = $('#passkey-list-error');
    box.hidden = true;
    if (dialog.returnValue !== 'yes') return $('#passkey-title').focus();
    hideDone('account');
    if (!current) return showError(box, t('fill_all'));
    const res = await api('POST', '/v1/account/passkeys/remove', { id: dialog.dataset.id, current_password: current }, true);
    if (sessionGone(res)) return;
    if (!res.ok) return showError(box, problemText(res));
    // Every other session ended: this one goes on with the new token.
    state.token = res.data.access_token;
    sessionStorage.setItem('sapk-token', state.token);
    showDone('account', 'passkey_removed');
    await loadAccount();
  });
}

// --- the signed-in account ---------------------------------------------------------------

async function loadAccount() {
  const res = await api('GET', '/v1/session', undefined, true);
  if (!res.ok) return endSession('session_over');
  const s = res.data;
  state.session = s;
  $('#account-name').textContent = s.name || '-';
  $('#account-nip').textContent = s.nip;
  $('#account-email').textContent = s.email_masked || t('no_email');
  $('#account-expires').textContent = when(s.expires_at);
  $('#account-2fa-required').hidden = !(s.second_factor_required && !s.second_factor);
  $('#factor-state').textContent = s.second_factor ? t('factor_on') : t('factor_off');
  $('#factor-state').tabIndex = -1;
  $('#form-enrol').hidden = s.second_factor || !$('#form-confirm').hidden;
  $('#form-renew').hidden = !s.second_factor;
  $('#renew-left').textContent = s.second_factor ? t('renew_left', { n: s.recovery_codes_left }) : '';
  $('#passkey-reauth').textContent = t(s.second_factor ? 'passkey_reauth_code' : 'passkey_reauth');
  $('#passkey-code-field').hidden = !s.second_factor;
  await Promise.all([loadPasskeys(), loadActivity()]);
  // A passkey satisfies an agency's two-step requirement too.
  $('#account-2fa-required').hidden = !(s.second_factor_required && !s.second_factor && !state.passkeys.length);
}

/** The account's recent security activity, in words (refreshed after every account form). */
async function loadActivity() {
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
    const time = document.createElement('time');
    time.dateTime = e.at;
    time.textContent = when(e.at);
    li.appendChild(time);
    li.appendChild(document.createTextNode(' \u2014 ' + (e.text || (e.what + ': ' + e.outcome)) + (e.source ? ' (' + e.source + ')' : '')));
    ul.appendChild(li);
  }
}

async function loadHelp() {
  const res = await api('GET', '/v1/help');
  if (!res.ok) return;
  const d = res.data;
  state.help = {
    phone: d.phone, email: d.email, url: d.url,
    product: d.product || state.help.product,
    minutes: d.code_ttl_minutes || state.help.minutes,
    resend: d.resend_after_seconds !== undefined ? d.resend_after_seconds : state.help.resend,
    passkeys: d.passkeys !== false,
  };
  applyLanguage();
}

document.addEventListener('DOMContentLoaded', () => {
  setUp();
  applyLanguage();
  route();
  loadHelp();
});
