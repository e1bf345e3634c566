// The raincheck web counter. Staff sign in with their number and PIN; the banner follows the
// venue status live (Server-Sent Events, a ping every 5 s; silence for 12 s or an error is a
// lost link: the last status stays with a "connection lost since HH:MM" note, the actions
// wait, and the page reconnects with jittered backoff up to 30 s). Issue, redeem and void are
// answered by the counter node only after its store flushed. Codes come typed, from a
// keyboard-wedge scanner (Enter-terminated) or from the camera where the browser has
// BarcodeDetector (HTTPS or localhost only). Every word comes from the node in the language
// staff chose; data is only ever set as text, never as HTML.
'use strict';

(() => {
  const PING_TIMEOUT_MS = 12000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const LANGUAGE_KEY = 'raincheck-counter-language';

  const state = {
    csrf: null,
    staff: null,
    language: localStorage.getItem(LANGUAGE_KEY) || '',
    setup: null,          // labels, languages, offers, answer_secs (GET /counter/api/labels)
    status: null,         // the latest `status` event
    stream: null,
    lastEvent: 0,
    lostAt: null,         // when this page lost its link to the counter
    backoff: BACKOFF_MIN_MS,
    retryTimer: null,
    shown: 0,             // raised with every answer or code shown; a clear timer checks it
    issuedCode: null,
    notice: { text: '', alert: false },
    busy: false,
    camera: null,         // { stream, detector, timer } while the camera is open
    inView: null,         // the id of what was shown last, kept in view on a short screen
  };

  const $ = (id) => document.getElementById(id);
  const setText = (el, text) => { if (el.textContent !== text) el.textContent = text; };
  const L = (name) => (state.setup && state.setup.labels[name]) || '';
  // `{}` replaced by each value in turn, once: a value holding "{}" stays as written.
  const fill = (template, ...values) => {
    let next = 0;
    return template.replace(/\{\}/g, () => (next < values.length ? String(values[next++]) : '{}'));
  };
  const hourMinute = (date) =>
    `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
  const lang = () => encodeURIComponent(state.language);

  // ── calls ─────────────────────────────────────────────────────────────────────────
  const callError = (status, message, data) => Object.assign(new Error(message), { status, data: data || {} });

  // One place for the cookie, the CSRF token and refusals. Resolves with the JSON.
  async function api(method, path, body) {
    const options = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
    if (method !== 'GET') {
      options.headers['Content-Type'] = 'application/json';
      if (state.csrf) options.headers['X-CSRF-Token'] = state.csrf;
      options.body = JSON.stringify(Object.assign({ language: state.language || undefined }, body || {}));
    }
    const response = await fetch(path, options).catch(() => {
      throw callError(0, L('unreachable') || 'Cannot reach the counter: check the network and try again');
    });
    const raw = await response.text().catch(() => '');
    let data = null;
    try { data = raw ? JSON.parse(raw) : null; } catch (_) { /* not JSON: keep null */ }
    if (!response.ok) {
      const message = data && typeof data.error === 'string' && data.error
        ? data.error : `The counter refused the request (HTTP ${response.status}).`;
      throw callError(response.status, message, data);
    }
    return data;
  }

  // ── words ─────────────────────────────────────────────────────────────────────────
  async function loadLabels() {
    for (;;) {
      try {
        state.setup = await api('GET', `/counter/api/labels?lang=${lang()}`);
        state.language = state.setup.language;
        renderLabels();
        return;
      } catch (err) {
        showNote(err.message, true);
        await new Promise((done) => setTimeout(done, 2000 + Math.random() * 2000));
      }
    }
  }

  function renderLabels() {
    const setup = state.setup;
    document.documentElement.lang = setup.language;
    setText($('label-number'), L('staff_number'));
    setText($('label-pin'), L('pin'));
    setText($('signin-submit'), L('sign_in'));
    setText($('issue-title'), L('issue_title'));
    setText($('redeem-title'), L('redeem_title'));
    setText($('redeem'), L('check_and_redeem'));
    setText($('done'), L('done'));
    setText($('void-issued'), L('void'));
    setText($('void-open'), L('void_title'));
    setText($('signout'), L('sign_out'));
    setText($('void-title'), L('void_title'));
    setText($('label-void-code'), L('code'));
    setText($('label-void-reason'), L('reason'));
    setText($('void-submit'), L('void'));
    setText($('void-cancel'), L('cancel'));
    setText($('override-title'), L('override_title'));
    setText($('label-override-manager'), L('override_manager'));
    setText($('label-override-pin'), L('override_pin'));
    setText($('override-or'), L('override_or'));
    setText($('label-override-code'), L('override_code'));
    setText($('override-submit'), L('override_issue'));
    setText($('override-cancel'), L('cancel'));
    setText($('camera'), '📷');
    $('camera').title = L('camera');
    $('camera').setAttribute('aria-label', L('camera'));
    setText($('camera-hint'), L('camera_hint'));
    setText($('camera-close'), L('camera_close'));
    setText($('camera-note'), L('camera_needs_https'));
    $('language').hidden = !L('next_language');
    setText($('language'), L('next_language'));
    const offers = $('offers');
    offers.replaceChildren(...setup.offers.map((offer) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'big offer';
      button.dataset.offer = offer.id;
      button.textContent = offer.title;
      button.addEventListener('click', () => issue(offer.id));
      return button;
    }));
    renderStaff();
    renderStatus();
  }

  function renderStaff() {
    setText($('staff'), state.staff ? fill(L('staff'), state.staff) : '');
    $('void-open').hidden = !state.staff;
    $('signout').hidden = !state.staff;
  }

  // ── the banner and the footer ─────────────────────────────────────────────────────
  // Signed out, the banner names the venue: the status is for signed-in staff.
  function renderStatus() {
    const status = state.staff ? state.status : null;
    const mode = status ? status.mode : 'booting';
    for (const name of ['booting', 'normal', 'cash_only', 'all_clear']) {
      document.body.classList.toggle(`mode-${name}`, name === mode);
    }
    document.body.dataset.mode = mode;
    const neutral = state.staff ? L('waiting') : (state.setup ? state.setup.venue_name : '');
    setText($('banner-text'), status ? status.banner : neutral);
    setText($('since'), status ? status.since : '');
    setText($('drill'), status && status.drill ? status.drill : '');
    $('drill').hidden = !(status && status.drill);
    setText($('say-cash'), status && status.say ? `${L('say')} “${status.say}”` : '');
    setText($('runbook'), status && status.runbook ? `→ ${status.runbook}` : '');
    renderFooter();
  }

  // The footer says the most urgent thing: this page's link, the till's venue link, then
  // the last notice.
  function renderFooter() {
    const pageLost = Boolean(state.lostAt);
    const venueLost = Boolean(state.status && state.status.venue_link_lost);
    document.body.classList.toggle('link-lost', pageLost);
    document.body.classList.toggle('venue-link-lost', !pageLost && venueLost);
    document.body.dataset.link = pageLost ? 'lost' : (state.stream ? 'up' : 'connecting');
    let text = state.notice.text || '';
    if (pageLost) text = fill(L('link_lost'), hourMinute(state.lostAt));
    else if (venueLost) text = state.status.venue_link_lost;
    $('footer').classList.toggle('alert', !pageLost && !venueLost && Boolean(state.notice.alert));
    setText($('note'), text);
  }

  function showNote(text, alert) {
    state.notice = { text: text || '', alert: Boolean(alert) };
    renderFooter();
  }

  // ── sign in / out ─────────────────────────────────────────────────────────────────
  function toSignin(message) {
    stopStream();
    closeCamera();
    closeVoid();
    Object.assign(state, { csrf: null, staff: null, status: null, lostAt: null, issuedCode: null });
    document.body.classList.add('signed-out');
    $('desk').hidden = true;
    clearShown();
    renderStaff();
    $('signin-pin').value = '';
    setText($('signin-error'), message || '');
    $('signin-error').hidden = !message;
    showNote('');
    renderStatus();
    ($('signin-number').value ? $('signin-pin') : $('signin-number')).focus();
  }

  async function onSignin(event) {
    event.preventDefault();
    const button = $('signin-submit');
    $('signin-error').hidden = true;
    button.disabled = true;
    try {
      const number = $('signin-number').value.trim();
      enterDesk(await api('POST', '/counter/api/sign-in', { number, pin: $('signin-pin').value }));
    } catch (err) {
      setText($('signin-error'), err.message);
      $('signin-error').hidden = false;
      $('signin-pin').value = '';
      $('signin-pin').focus();
    } finally {
      button.disabled = false;
    }
  }

  function enterDesk(session) {
    state.csrf = session.csrf_token;
    state.staff = session.staff;
    document.body.classList.remove('signed-out');
    $('desk').hidden = false;
    $('signin-pin').value = '';
    $('signin-error').hidden = true;
    renderStaff();
    showNote('');
    renderStatus();
    connect();
    focusCode();
  }

  async function signOut() {
    try {
      await api('POST', '/counter/api/sign-out');
    } catch (err) {
      if (err.status !== 401) { showNote(err.message, true); return; }
    }
    toSignin('');
  }

  // A refusal: a dead session goes back to sign in; anything else is a notice.
  function failed(err) {
    if (err.status === 401) toSignin(L('session_ended'));
    else showNote(err.message, true);
  }

  // ── the live status ───────────────────────────────────────────────────────────────
  function connect() {
    state.retryTimer = null;
    stopStream();
    const stream = new EventSource(`/counter/api/live?lang=${lang()}`);
    state.stream = stream;
    state.lastEvent = Date.now();
    stream.addEventListener('status', (event) => {
      if (state.stream !== stream) return;
      try { state.status = JSON.parse(event.data); } catch (_) { return; }
      linkUp();
      renderStatus();
    });
    stream.addEventListener('ping', () => { if (state.stream === stream) linkUp(); });
    stream.onerror = () => { if (state.stream === stream) lost(); };
  }

  function linkUp() {
    state.lastEvent = Date.now();
    state.backoff = BACKOFF_MIN_MS;
    if (state.lostAt) { state.lostAt = null; renderFooter(); }
    if (document.body.dataset.link !== 'up') renderFooter();
  }

  function stopStream() {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    if (state.stream) { state.stream.close(); state.stream = null; }
  }

  // The browser's own retry gives up on an HTTP error (a 429, a 401): this page retries
  // itself, after checking the session, with a growing jittered wait.
  function lost() {
    if (state.stream) { state.stream.close(); state.stream = null; }
    if (!state.lostAt) state.lostAt = new Date();
    renderFooter();
    retryLater();
  }

  function retryLater() {
    if (state.retryTimer || !state.staff) return;
    const wait = state.backoff * (0.5 + Math.random());
    state.backoff = Math.min(BACKOFF_MAX_MS, state.backoff * 2);
    state.retryTimer = setTimeout(async () => {
      state.retryTimer = null;
      try {
        const session = await api('GET', '/counter/api/session');
        state.csrf = session.csrf_token;
      } catch (err) {
        if (err.status === 401) { toSignin(L('session_ended')); return; }
        retryLater();
        return;
      }
      if (state.staff) connect();
    }, wait);
  }

  setInterval(() => {
    if (state.stream && Date.now() - state.lastEvent > PING_TIMEOUT_MS) lost();
  }, 1000);

  // ── issue, redeem, void ───────────────────────────────────────────────────────────
  function setBusy(busy) {
    state.busy = busy;
    for (const button of document.querySelectorAll('.desk .big')) button.disabled = busy;
  }

  // Clears the answer and the code after `answer_secs`, unless something newer was shown.
  function clearLater() {
    state.shown += 1;
    const shown = state.shown;
    const secs = (state.setup && state.setup.answer_secs) || 30;
    setTimeout(() => { if (state.shown === shown) clearShown(); }, secs * 1000);
  }

  function clearShown() {
    state.shown += 1;
    showAnswer(null);
    showIssued(null);
  }

  function showIssued(issued) {
    state.issuedCode = issued ? issued.code : null;
    $('issue-half').classList.toggle('showing-code', Boolean(issued));
    if (!issued) { $('issued-qr').removeAttribute('src'); return; }
    setText($('issued-line'), issued.line);
    setText($('issued-code'), issued.code);
    setText($('issued-say'), `${L('say')} “${issued.say}”`);
    if (issued.qr_svg) $('issued-qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(issued.qr_svg)}`;
    else $('issued-qr').removeAttribute('src');
  }

  function showAnswer(answer) {
    $('answer').dataset.kind = answer ? answer.kind : 'none';
    $('answer').dataset.answer = answer ? answer.answer : '';
    setText($('answer-headline'), answer ? answer.headline : '');
    setText($('answer-detail'), answer ? answer.detail : '');
    setText($('answer-say'), answer ? `${L('say')} “${answer.say}”` : '');
  }

  async function issue(offer) {
    if (state.busy) return;
    setBusy(true);
    try {
      const issued = await api('POST', '/counter/api/issue', { offer });
      showNote('');
      showIssued(issued);
      clearLater();
      keepInView('issue-half');
    } catch (err) {
      // A reached cap (409 with "cap"): offer the manager's override.
      if (err.status === 409 && err.data && err.data.cap) openOverride(offer, err.message);
      else failed(err);
    } finally {
      setBusy(false);
    }
  }

  // ── a manager's override past a reached cap ──────────────────────────────────────
  function openOverride(offer, message) {
    state.overrideOffer = offer;
    setText($('override-cap'), message);
    for (const id of ['override-manager', 'override-pin', 'override-code']) $(id).value = '';
    $('override-error').hidden = true;
    $('override-sheet').hidden = false;
    $('override-manager').focus();
  }

  function closeOverride() {
    $('override-sheet').hidden = true;
    state.overrideOffer = null;
    focusCode();
  }

  async function onOverride(event) {
    event.preventDefault();
    const manager = $('override-manager').value.trim();
    const pin = $('override-pin').value.trim();
    const code = $('override-code').value.trim();
    // A code, or else a name and PIN: whichever staff filled in.
    const past = code ? { code } : { manager, pin };
    if (!code && (!manager || !pin)) { $(manager ? 'override-pin' : 'override-manager').focus(); return; }
    const button = $('override-submit');
    button.disabled = true;
    try {
      const issued = await api('POST', '/counter/api/issue', { offer: state.overrideOffer, override: past });
      closeOverride();
      showNote('');
      showIssued(issued);
      clearLater();
      keepInView('issue-half');
    } catch (err) {
      if (err.status === 401) { closeOverride(); toSignin(L('session_ended')); return; }
      $('override-pin').value = '';
      setText($('override-error'), err.message);
      $('override-error').hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  async function redeem() {
    const field = $('code');
    const code = field.value.trim();
    if (!code || state.busy) { focusCode(); return; }
    setBusy(true);
    try {
      const answer = await api('POST', '/counter/api/redeem', { code });
      showNote('');
      showAnswer(answer);
      clearLater();
      keepInView('redeem-half');
      // A mistyped code stays, selected, so staff correct one symbol; any other answer
      // clears the field for the next guest.
      if (answer.answer === 'CHECK THE CODE') field.select();
      else field.value = '';
    } catch (err) {
      failed(err);
    } finally {
      setBusy(false);
      focusCode();
    }
  }

  // On a screen too short for both halves (a phone), the desk scrolls: the latest code or
  // answer is scrolled into view, and kept there when the screen turns or resizes.
  function keepInView(id) {
    state.inView = id;
    $(id).scrollIntoView({ block: 'nearest' });
  }

  function focusCode() {
    const sheetOpen = !$('void-sheet').hidden || !$('camera-sheet').hidden || !$('override-sheet').hidden;
    if (!sheetOpen && state.staff) $('code').focus();
  }

  function openVoid(code) {
    $('void-code').value = code || '';
    $('void-reason').value = '';
    $('void-error').hidden = true;
    $('void-sheet').hidden = false;
    (code ? $('void-reason') : $('void-code')).focus();
  }

  function closeVoid() {
    $('void-sheet').hidden = true;
    focusCode();
  }

  async function onVoid(event) {
    event.preventDefault();
    const button = $('void-submit');
    button.disabled = true;
    try {
      const code = $('void-code').value.trim();
      const voided = await api('POST', '/counter/api/void', { code, reason: $('void-reason').value });
      if (state.issuedCode && voided.code === state.issuedCode) showIssued(null);
      closeVoid();
      showNote(voided.message, false);
    } catch (err) {
      if (err.status === 401) { toSignin(L('session_ended')); return; }
      setText($('void-error'), err.message);
      $('void-error').hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  // ── the camera (BarcodeDetector, where the browser has it) ───────────────────────
  async function setUpCamera() {
    const insecure = !window.isSecureContext;
    $('camera-note').hidden = !insecure;
    if (insecure || !('BarcodeDetector' in window) || !navigator.mediaDevices) return;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      $('camera').hidden = !formats.includes('qr_code');
    } catch (_) {
      $('camera').hidden = true;
    }
  }

  async function openCamera() {
    if (state.camera) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
      const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
      state.camera = { stream, detector, timer: null };
      const video = $('camera-video');
      video.srcObject = stream;
      $('camera-sheet').hidden = false;
      await video.play();
      scanSoon();
    } catch (err) {
      closeCamera();
      showNote(`${L('camera')}: ${err.message || err.name}`, true);
    }
  }

  function scanSoon() {
    if (!state.camera) return;
    state.camera.timer = setTimeout(async () => {
      const camera = state.camera;
      if (!camera) return;
      let found = null;
      try {
        const codes = await camera.detector.detect($('camera-video'));
        found = codes.length ? codes[0].rawValue : null;
      } catch (_) { /* a frame not ready yet: try the next */ }
      if (found) {
        closeCamera();
        $('code').value = found;
        redeem();
      } else {
        scanSoon();
      }
    }, 200);
  }

  function closeCamera() {
    const camera = state.camera;
    state.camera = null;
    if (camera) {
      clearTimeout(camera.timer);
      for (const track of camera.stream.getTracks()) track.stop();
    }
    $('camera-video').srcObject = null;
    if (!$('camera-sheet').hidden) { $('camera-sheet').hidden = true; focusCode(); }
  }

  // ── wiring ────────────────────────────────────────────────────────────────────────
  async function nextLanguage() {
    const languages = (state.setup && state.setup.languages) || [];
    if (languages.length < 2) return;
    const index = languages.indexOf(state.language);
    state.language = languages[(index + 1) % languages.length];
    localStorage.setItem(LANGUAGE_KEY, state.language);
    await loadLabels();
    if (state.staff) connect();
    focusCode();
  }

  $('signin').addEventListener('submit', onSignin);
  $('redeem-form').addEventListener('submit', (event) => { event.preventDefault(); redeem(); });
  $('redeem').addEventListener('click', redeem);
  $('done').addEventListener('click', () => { clearShown(); focusCode(); });
  $('void-issued').addEventListener('click', () => openVoid(state.issuedCode));
  $('void-open').addEventListener('click', () => openVoid(''));
  $('void-cancel').addEventListener('click', closeVoid);
  $('void-form').addEventListener('submit', onVoid);
  $('override-cancel').addEventListener('click', closeOverride);
  $('override-form').addEventListener('submit', onOverride);
  $('signout').addEventListener('click', signOut);
  $('language').addEventListener('click', nextLanguage);
  $('camera').addEventListener('click', openCamera);
  $('camera-close').addEventListener('click', closeCamera);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') { closeCamera(); closeVoid(); if (!$('override-sheet').hidden) closeOverride(); }
  });
  // Leaving the page ends the stream at once; coming back from the back/forward cache
  // reconnects.
  window.addEventListener('pagehide', () => { if (state.stream) { state.stream.close(); state.stream = null; } });
  window.addEventListener('pageshow', (event) => { if (event.persisted && state.staff) connect(); });
  window.addEventListener('resize', () => { if (state.inView) $(state.inView).scrollIntoView({ block: 'nearest' }); });
  window.__counter = state;

  (async () => {
    setUpCamera();
    await loadLabels();
    try {
      enterDesk(await api('GET', '/counter/api/session'));
    } catch (err) {
      toSignin(err.status === 401 ? '' : err.message);
    }
  })();
})();
