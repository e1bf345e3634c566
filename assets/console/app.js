// raincheck — the manager's tablet console. Plain JS, no framework, no build step.
//
// Everything shown here comes from /api/* (docs/CONSOLE.md). Incident texts, node names
// and audit details are typed by people and relayed to us, so they are treated as hostile:
// the page is built with createElement + textContent only, never with HTML strings.
'use strict';

(() => {
  // ── Helpers ────────────────────────────────────────────────────────────────────────
  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Writing the same text again would re-announce aria-live regions and cost layout.
  function setText(node, text) {
    const value = text === undefined || text === null ? '' : String(text);
    if (node.textContent !== value) node.textContent = value;
  }

  const pad = (n) => String(n).padStart(2, '0');
  const clockOf = (date) => pad(date.getHours()) + ':' + pad(date.getMinutes());
  const parseTime = (rfc3339) => {
    const date = new Date(rfc3339 || '');
    return Number.isNaN(date.getTime()) ? null : date;
  };
  // RFC 3339 → local "19:42" (24 h); empty when absent or unreadable.
  const hhmm = (rfc3339) => { const d = parseTime(rfc3339); return d ? clockOf(d) : ''; };
  // Full local date and time, for tooltips where HH:MM alone could be yesterday.
  const fullTime = (rfc3339) => { const d = parseTime(rfc3339); return d ? d.toLocaleString() : ''; };

  // ── Constants and state ────────────────────────────────────────────────────────────
  const TEXT_KEYS = ['headline', 'body', 'offer', 'cash_points'];
  const TEXT_INPUTS = { headline: 'text-headline', body: 'text-body', offer: 'text-offer', cash_points: 'text-cash-points' };
  // FitText in signage.slint: [largest, smallest, comfortable characters], in screen units.
  const FIT = { headline: [11, 5, 24], body: [5.5, 3, 60], offer: [5.5, 3, 50], cash_points: [4, 2.6, 70] };

  const MODE_LABEL = { normal: 'Normal', cash_only: 'CASH ONLY', all_clear: 'All clear' };
  const PHASE_LABEL = {
    normal: 'Business as usual',
    switching: 'Switching screens to cash only…',
    confirmed: '✓ Every online screen shows cash only',
    clearing: 'Clearing screens — not done yet…',
    cleared: '✓ All clear on every online screen',
    blind: 'Cannot see the venue — no link to the broker',
  };
  const STANDING_LABEL = {
    confirmed: '✓ Confirmed',
    lagging: 'Lagging — not updated',
    syncing: 'Starting — reading the venue',
    offline: 'Offline',
    headless: 'Draws nothing',
  };
  const STANDING_ORDER = { lagging: 0, syncing: 1, offline: 2, headless: 3, confirmed: 4 };
  const KIND_LABEL = { screen: 'Screen', counter: 'Counter', console: 'Console', other: 'Other' };

  const state = {
    csrf: null, templates: null, snapshot: null,
    events: null, live: null,          // the EventSource; live: null connecting, true, false lost
    reconnectTimer: 0, noticeTimer: 0, checkingSession: false,
    nextUpdateBy: null,                // the view's promised next update, for the countdown
    expiresAt: null,                   // when the incident on screens ends by itself
    recoveredAt: null,                 // since when payments work again during a manager's incident
    sheet: null, opener: null,         // the open sheet's id, and what to focus when it closes
    offerId: null, autoOffer: '',      // autoOffer: offer text we filled in, safe to replace
    formLanguage: null, previewLanguage: null, wording: {}, lastTyped: 0,
  };
  const nodeCards = new Map(); // node id → card parts, reused so thumbnails don't flicker
  let nowReplica = null;

  // ── API ────────────────────────────────────────────────────────────────────────────
  const apiError = (status, message, data) => Object.assign(new Error(message), { status, data: data || {} });

  // One place for cookies, CSRF and error decoding. Resolves with the JSON (null for 204).
  async function api(method, path, body) {
    const options = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (method !== 'GET') {
      options.headers['Content-Type'] = 'application/json';
      if (state.csrf) options.headers['X-CSRF-Token'] = state.csrf;
    }
    if (body !== undefined) options.body = JSON.stringify(body);
    const response = await fetch(path, options).catch(() => {
      throw apiError(0, 'Cannot reach the console. Check the tablet’s network and try again.');
    });
    const raw = await response.text().catch(() => '');
    let data = null;
    try { data = raw ? JSON.parse(raw) : null; } catch (_) { /* not JSON: keep null */ }
    if (!response.ok) {
      const message = data && typeof data.error === 'string' && data.error
        ? data.error
        : `The console refused the request (HTTP ${response.status}).`;
      throw apiError(response.status, message, data);
    }
    return data;
  }

  // A signed-out session sends the manager back to sign in; anything else is shown as is.
  function fail(err) {
    if (err.status === 401) toSignin(err.message || 'Your session has ended. Please sign in again.');
    else showError(err.message);
  }

  // For reads: the answer, or null after the error was shown.
  const attempt = (request) => request.catch((err) => { fail(err); return null; });

  // ── Messages ───────────────────────────────────────────────────────────────────────
  // An open sheet covers the page, so its errors are shown inside it.
  function showError(text) {
    const inSheet = state.sheet && $(state.sheet).querySelector('.sheet-error');
    if (inSheet) {
      setText(inSheet, text);
      inSheet.hidden = false;
      return;
    }
    setText($('message-text'), text);
    $('message').hidden = false;
  }

  function clearError() {
    $('message').hidden = true;
    for (const node of document.querySelectorAll('.sheet-error')) node.hidden = true;
  }

  function showNotice(text) {
    const notice = $('notice');
    setText(notice, text);
    notice.hidden = false;
    clearTimeout(state.noticeTimer);
    state.noticeTimer = setTimeout(() => { notice.hidden = true; }, 6000);
  }

  // ── Sign in / out ──────────────────────────────────────────────────────────────────
  function toSignin(message) {
    stopEvents();
    closeSheet();
    clearError();
    Object.assign(state, { csrf: null, snapshot: null, templates: null });
    nodeCards.clear();
    $('nodes').replaceChildren();
    $('app').hidden = true;
    $('signin').hidden = false;
    $('signin-pin').value = '';
    setText($('signin-error'), message || '');
    $('signin-error').hidden = !message;
    ($('signin-name').value ? $('signin-pin') : $('signin-name')).focus();
  }

  async function onSignin(event) {
    event.preventDefault();
    const error = $('signin-error');
    const button = $('signin-submit');
    error.hidden = true;
    button.disabled = true;
    try {
      const body = { name: $('signin-name').value.trim(), pin: $('signin-pin').value };
      enterApp(await api('POST', '/api/session', body));
    } catch (err) {
      // 429: the server refuses without checking the PIN until the wait is over.
      let message = err.message;
      const wait = err.status === 429 ? Math.ceil(Number(err.data.retry_after_secs) || 0) : 0;
      if (wait > 0 && !message.includes(String(wait))) message += ` Try again in ${waitText(wait)}.`;
      setText(error, message);
      error.hidden = false;
      $('signin-pin').value = '';
      $('signin-pin').focus();
    } finally {
      button.disabled = false;
    }
  }

  const waitText = (secs) => (secs < 60 ? `${secs} s` : `${Math.ceil(secs / 60)} min`);

  function enterApp(session) {
    state.csrf = session.csrf_token;
    setText($('manager-name'), session.manager);
    $('signin').hidden = true;
    $('signin-error').hidden = true;
    $('signin-pin').value = '';
    $('app').hidden = false;
    clearError();
    selectTab('status');
    loadTemplates();
    startEvents();
    loadState();
  }

  async function signOut() {
    try {
      await api('DELETE', '/api/session');
    } catch (err) {
      if (err.status !== 401) { showError(err.message); return; }
    }
    toSignin('');
  }

  // ── Loading ────────────────────────────────────────────────────────────────────────
  async function loadTemplates() {
    const templates = await attempt(api('GET', '/api/templates'));
    if (templates) state.templates = templates;
    if (templates && !state.snapshot) setText($('venue-name'), templates.venue_name);
    return Boolean(templates);
  }

  // The event stream sends a snapshot on connect; this only covers a slow first event.
  async function loadState() {
    const snapshot = await attempt(api('GET', '/api/state'));
    if (snapshot && !state.snapshot && state.csrf) render(snapshot);
  }

  // ── Live updates ───────────────────────────────────────────────────────────────────
  function startEvents() {
    stopEvents();
    const events = new EventSource('/api/events');
    state.events = events;
    state.live = null;
    renderLink();
    events.addEventListener('open', () => { if (state.events === events) setLive(true); });
    events.addEventListener('snapshot', (event) => {
      if (state.events !== events) return;
      let snapshot;
      try { snapshot = JSON.parse(event.data); } catch (_) { return; }
      setLive(true);
      render(snapshot);
    });
    events.addEventListener('error', () => {
      if (state.events !== events) return;
      setLive(false);
      recheckSession(events);
    });
  }

  function stopEvents() {
    clearTimeout(state.reconnectTimer);
    if (state.events) state.events.close();
    state.events = null;
    $('live-lost').hidden = true;
  }

  // EventSource retries network errors itself but gives up on an HTTP error (it closes):
  // then either the session is gone (→ sign in) or we open a new stream ourselves.
  async function recheckSession(events) {
    if (state.checkingSession) return;
    state.checkingSession = true;
    const signedOut = await api('GET', '/api/session')
      .then((session) => { state.csrf = session.csrf_token; return false; }, (err) => err.status === 401);
    state.checkingSession = false;
    if (state.events !== events) return;
    if (signedOut) {
      toSignin('Your session has ended. Please sign in again.');
    } else if (events.readyState === EventSource.CLOSED) {
      clearTimeout(state.reconnectTimer);
      state.reconnectTimer = setTimeout(() => { if (state.events === events) startEvents(); }, 3000);
    }
  }

  function setLive(live) {
    if (state.live === live) return;
    state.live = live;
    $('live-lost').hidden = live !== false;
    renderLink();
  }

  function renderLink() {
    const link = state.snapshot && state.snapshot.link;
    let [status, label] = ['ok', 'Live'];
    if (state.live === null) [status, label] = ['unknown', 'Connecting…'];
    else if (state.live === false) [status, label] = ['lost', 'Reconnecting…'];
    else if (link && link.connected === false) {
      const since = hhmm(link.blind_since);
      [status, label] = ['bad', since ? `No link to the screens since ${since}` : 'No link to the screens'];
    }
    $('link').dataset.link = status;
    setText($('link-label'), label);
  }

  // ── Snapshot → page ────────────────────────────────────────────────────────────────
  function render(snapshot) {
    state.snapshot = snapshot;
    const view = snapshot.view || {};
    const progress = snapshot.progress || {};
    // Tests and CSS key off these two.
    document.body.dataset.phase = progress.phase || '';
    document.body.dataset.revision = view.revision === undefined ? '' : String(view.revision);
    setText($('venue-name'), snapshot.venue_name || snapshot.venue || '');
    renderLink();
    renderStatus(view, progress);
    renderNodes(snapshot.nodes || [], progress);
    renderPayments(snapshot.payments || [], view);
    if (window.raincheckDrill) window.raincheckDrill.render(snapshot);
  }

  function renderStatus(view, progress) {
    const mode = view.mode || 'normal';
    const cashOnly = mode === 'cash_only';
    $('mode-card').dataset.mode = mode;
    setText($('mode'), MODE_LABEL[mode] || mode);
    setText($('declared-by'), declaredBy(view));
    state.nextUpdateBy = cashOnly ? view.next_update_by : null;
    state.expiresAt = cashOnly ? view.expires_at : null;
    state.recoveredAt = cashOnly ? state.snapshot?.payments_recovered_at : null;
    renderNextUpdate();
    renderExpiry();
    renderStale();

    const phase = progress.phase || 'normal';
    // Blind, the view on the card is only the last one the console heard: greyed, said so.
    const blind = phase === 'blind';
    $('mode-card').dataset.blind = String(blind);
    setText($('mode-label'), blind ? 'Last known — not current' : 'Screens show');
    $('phase').dataset.phase = phase;
    setText($('phase'), PHASE_LABEL[phase] || phase);
    setText($('headline'), progress.headline);

    $('declare-open').hidden = cashOnly;
    $('incident-actions').hidden = !cashOnly;
    if (!cashOnly && state.sheet === 'resolve-sheet') closeSheet();

    renderCounts($('count-screens'), progress.screens);
    renderCounts($('count-counters'), progress.counters);

    $('now-showing').hidden = !cashOnly;
    if (cashOnly) {
      const code = screenLanguages()[0].code;
      fillReplica(nowReplica, resolveTexts(view.texts || {}, code, view.translations), hhmm(view.started_at), code);
    }
  }

  // "Next update due 19:42 (in 12 min)", or a warning once the promised time has passed;
  // re-drawn every 15 s so the countdown moves without a new snapshot.
  function renderNextUpdate() {
    const box = $('next-update');
    const due = parseTime(state.nextUpdateBy);
    box.hidden = !due;
    if (!due) return;
    const minutes = Math.round((due.getTime() - Date.now()) / 60000);
    const overdue = due.getTime() <= Date.now();
    box.dataset.tone = overdue ? 'warn' : '';
    setText(box, overdue
      ? `Update overdue — promised for ${clockOf(due)}`
      : `Next update due ${clockOf(due)} (${minutes <= 0 ? 'in under a minute' : `in ${minutes} min`})`);
  }

  // "Ends by itself at 23:00 (in 3 h 10 min)": the keeper resolves it then on every screen.
  function renderExpiry() {
    const box = $('expires');
    const at = parseTime(state.expiresAt);
    box.hidden = !at;
    if (!at) return;
    const minutes = Math.max(0, Math.round((at.getTime() - Date.now()) / 60000));
    const left = minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
    setText(box, at.getTime() <= Date.now()
      ? `Ending by itself now (set for ${clockOf(at)})`
      : `Ends by itself at ${clockOf(at)} (in ${left}) unless updated`);
  }

  // A manager's incident left open long after every payment source recovered.
  function renderStale() {
    const box = $('stale-warning');
    const since = parseTime(state.recoveredAt);
    const minutes = Number(state.templates?.stale_incident_minutes) || 30;
    const open = since ? Math.floor((Date.now() - since.getTime()) / 60000) : -1;
    box.hidden = !(since && open >= minutes);
    if (!box.hidden) {
      setText(box, `Card payments have worked again since ${clockOf(since)} (${open} min). If they are fine, end the incident: all clear.`);
    }
  }

  function declaredBy(view) {
    const mode = view.mode || 'normal';
    const since = hhmm(view.started_at);
    if (mode === 'normal') return 'No incident — every payment method is accepted.';
    if (mode === 'all_clear') return `The cash-only incident${since ? ' from ' + since : ''} is resolved.`;
    let who = 'Automatic — raised by payment detection';
    if (view.authority !== 'automatic') {
      who = 'Declared by a manager';
      if (view.source && view.source !== 'console') who += ` (via ${view.source})`;
    }
    return since ? `${who} · since ${since}` : who;
  }

  function renderCounts(list, counts) {
    const c = counts || {};
    const total = Number(c.total) || 0;
    const [confirmed, lagging, syncing, offline, headless] =
      [c.confirmed, c.lagging, c.syncing, c.offline, c.headless].map((n) => Number(n) || 0);
    const tile = (label, value, tone, extra) => {
      const item = el('div', 'count-tile');
      if (tone) item.dataset.tone = tone;
      const dd = el('dd', '', value);
      if (extra) dd.append(el('span', 'count-of', ' ' + extra));
      item.append(el('dt', '', label), dd);
      return item;
    };
    // Behind: online, and not showing it yet (a different view, or still reading the venue).
    const tiles = [
      tile('Confirmed', confirmed, total > 0 && confirmed === total ? 'ok' : '', `of ${total}`),
      tile('Behind', lagging + syncing, lagging + syncing ? 'warn' : ''),
      tile('Offline', offline, offline ? 'bad' : ''),
    ];
    // Only when there are some: a screen that draws nothing is never counted as showing.
    if (headless) tiles.push(tile('Draws nothing', headless, 'bad'));
    list.replaceChildren(...tiles);
  }

  // Node cards are reused per node id: only changed fields are written, thumbnails stay put.
  function renderNodes(nodes, progress) {
    setText($('nodes-headline'), progress.headline);
    const nameOf = (n) => n.name || n.node || '';
    // Consoles and detectors draw nothing by design: listed last, never "attention".
    const isScreen = (n) => n.kind === 'screen' || n.kind === 'counter';
    const rank = (n) => (isScreen(n) ? STANDING_ORDER[n.standing] ?? 3 : 10);
    const sorted = nodes.slice().sort((a, b) => (rank(a) - rank(b)) || nameOf(a).localeCompare(nameOf(b)));
    const container = $('nodes');
    const seen = new Set();
    sorted.forEach((node, index) => {
      let card = nodeCards.get(node.node);
      if (!card) { card = makeNodeCard(); nodeCards.set(node.node, card); }
      updateNodeCard(card, node);
      seen.add(node.node);
      const at = container.children[index] || null;
      if (at !== card.root) container.insertBefore(card.root, at);
    });
    for (const [id, card] of nodeCards) {
      if (!seen.has(id)) { card.root.remove(); nodeCards.delete(id); }
    }
    $('nodes-empty').hidden = nodes.length > 0;
    const attention = nodes.filter((n) => isScreen(n) && n.standing !== 'confirmed').length;
    setText($('tab-screens-badge'), attention);
    $('tab-screens-badge').hidden = attention === 0;
  }

  function makeNodeCard() {
    const card = { root: el('article', 'node'), img: el('img'), noPicture: el('span', 'node-nothumb', 'No picture'), src: null };
    card.img.hidden = true;
    card.img.addEventListener('load', () => { card.img.hidden = false; card.noPicture.hidden = true; });
    card.img.addEventListener('error', () => { card.img.hidden = true; card.noPicture.hidden = false; });
    const thumb = el('div', 'node-thumb');
    thumb.append(card.img, card.noPicture);
    const head = el('div', 'node-head');
    const info = el('div', 'node-info');
    for (const [key, tag] of [['name', 'h3'], ['standing', 'span']]) head.append(card[key] = el(tag, 'node-' + key));
    info.append(head);
    for (const key of ['kind', 'shows', 'since', 'offline']) info.append(card[key] = el('p', 'node-' + key));
    // Offline nodes only: a screen taken out of service is retired, so it stops counting.
    card.forget = el('button', 'node-forget', 'Forget this node');
    card.forget.type = 'button';
    card.forget.hidden = true;
    card.forget.addEventListener('click', () => onForget(card.root.dataset.node, card.name.textContent));
    info.append(card.forget);
    card.root.append(thumb, info);
    return card;
  }

  function updateNodeCard(card, node) {
    const standing = node.standing || 'offline';
    const kind = node.kind || 'other';
    const name = node.name || node.node;
    Object.assign(card.root.dataset, { node: node.node, standing, kind });
    setText(card.name, name);
    const screen = kind === 'screen' || kind === 'counter';
    card.root.dataset.screen = String(screen);
    setText(card.standing, screen ? (STANDING_LABEL[standing] || standing) : (standing === 'offline' ? STANDING_LABEL.offline : 'Not a screen'));
    setText(card.kind, (KIND_LABEL[kind] || kind) + (node.name && node.name !== node.node ? ` · ${node.node}` : ''));
    const shown = node.mode ? (MODE_LABEL[node.mode] || node.mode).toLowerCase() : '';
    const revision = node.revision ?? '—';
    if (!screen && standing === 'headless') setText(card.shows, `Follows ${shown || 'the venue'} · revision ${revision}`);
    else if (standing === 'headless') setText(card.shows, `Draws nothing: ${node.reason || 'no reason given'}`);
    else if (standing === 'syncing') setText(card.shows, 'Reading the venue’s state — shows nothing yet');
    else setText(card.shows, shown ? `Shows ${shown} · revision ${revision}` : `Revision ${revision}`);
    const since = hhmm(node.since);
    setText(card.since, since ? `Since ${since}` : '');
    card.since.title = fullTime(node.since);
    const offlineSince = hhmm(node.offline_since);
    setText(card.offline, offlineSince ? `Offline since ${offlineSince}` : '');
    card.offline.hidden = !offlineSince;
    card.forget.hidden = standing !== 'offline';

    // ?v= changes with each new thumbnail, so the browser may cache each version.
    const src = node.thumbnail === undefined || node.thumbnail === null ? null
      : `/api/nodes/${encodeURIComponent(node.node)}/thumbnail?v=${encodeURIComponent(node.thumbnail)}`;
    if (src === card.src) return;
    card.src = src;
    if (src) {
      card.img.alt = `Last picture from ${name}`;
      card.img.src = src;
    } else {
      card.img.removeAttribute('src');
      card.img.hidden = true;
      card.noPicture.hidden = false;
    }
  }

  // Retires an offline node (taken out of service) after the manager confirms; the live
  // snapshot then drops it. The console refuses an online node.
  async function onForget(node, name) {
    if (!window.confirm(`Forget ${name}? It stops showing in the console and counts. ` +
        'If it is switched on again it reappears by itself.')) return;
    try {
      await api('POST', `/api/nodes/${encodeURIComponent(node)}/forget`);
    } catch (err) {
      fail(err);
    }
  }

  function renderPayments(payments, view) {
    let line = 'No incident is active.';
    if (view.mode === 'all_clear') line = 'The last incident is resolved.';
    if (view.mode === 'cash_only') {
      line = view.authority === 'automatic'
        ? 'The current incident is automatic — raised by payment detection.'
        : 'The current incident is manual — declared by a manager.';
    }
    setText($('payments-authority'), line);
    $('payments').replaceChildren(...payments.map((p) => {
      const down = p.status === 'down';
      const row = el('div', 'row pay-row');
      Object.assign(row.dataset, { status: down ? 'down' : 'ok', source: p.source });
      const since = hhmm(p.since);
      row.append(
        el('span', 'pay-source', p.source),
        el('span', 'pay-status', down ? 'DOWN' : 'OK'),
        el('span', 'pay-since', since ? `since ${since}` : ''),
        el('span', 'pay-detail', p.detail || ''),
      );
      return row;
    }));
    $('payments-empty').hidden = payments.length > 0;
  }

  // ── Screen replica (the preview and "on the screens now") ──────────────────────────
  // The server's templates: the venue's own, else the screens' bundled wording (one
  // source, model/wording.rs); nothing is repeated here.
  // The languages the screens speak, each with its template and the sign's labels; one
  // (English) when the server names none.
  function screenLanguages() {
    const listed = state.templates && Array.isArray(state.templates.languages) ? state.templates.languages : [];
    if (listed.length) return listed;
    return [{ code: 'en', name: 'English', cash_only: (state.templates && state.templates.cash_only) || {},
      labels: { cash_only: 'CASH ONLY', raincheck: 'Your raincheck', since: 'Since {}' } }];
  }
  const languageOf = (code) => screenLanguages().find((l) => l.code === code) || screenLanguages()[0];
  // Several languages: the form has a tab per language and sends what was written per
  // language; one: what was written goes to every screen, as before.
  const perLanguage = () => screenLanguages().length > 1;

  function cashTemplate(code) {
    const texts = languageOf(code || state.formLanguage).cash_only || {};
    return Object.fromEntries(TEXT_KEYS.map((key) => [key, texts[key] || '']));
  }

  // What a screen showing `code` shows: the incident's text in that language, else its
  // text for every language, else the template.
  function resolveTexts(texts, code, translations) {
    const template = cashTemplate(code);
    const own = (translations && translations[code]) || {};
    const given = (value) => (typeof value === 'string' ? value.trim() : '');
    return Object.fromEntries(TEXT_KEYS.map((key) => [key, given(own[key]) || given(texts[key]) || template[key]]));
  }

  // Same shrink-with-length rule as FitText, in units of 1/100 of the screen height.
  function fitSize(text, [largest, smallest, comfortable]) {
    const length = Math.max(1, Array.from(text).length);
    return Math.max(smallest, Math.min(largest, largest * Math.sqrt(comfortable / length)));
  }

  function fillReplica(root, texts, since, code) {
    const labels = languageOf(code).labels || {};
    setText(root.querySelector('.replica-badge'), labels.cash_only || 'CASH ONLY');
    setText(root.querySelector('.replica-offer-label'), labels.raincheck || 'Your raincheck');
    const classes = { headline: 'replica-headline', body: 'replica-body', offer: 'replica-offer-text', cash_points: 'replica-cash-points' };
    for (const key of TEXT_KEYS) {
      const node = root.querySelector('.' + classes[key]);
      setText(node, texts[key]);
      node.style.fontSize = `calc(var(--u) * ${fitSize(texts[key], FIT[key]).toFixed(2)})`;
    }
    const sinceNode = root.querySelector('.replica-since');
    setText(sinceNode, since ? (labels.since || 'Since {}').replace('{}', since) : '');
    sinceNode.hidden = !since;
  }

  // ── Declare / update sheet ─────────────────────────────────────────────────────────
  const offers = () => (state.templates && Array.isArray(state.templates.offers) ? state.templates.offers : []);

  async function openDeclare(kind, opener) {
    if (!state.templates && !(await loadTemplates())) return;
    const view = (state.snapshot && state.snapshot.view) || {};
    const update = kind === 'update';
    state.wording = Object.fromEntries(screenLanguages().map(({ code }) => [
      code, update ? resolveTexts(view.texts || {}, code, view.translations) : cashTemplate(code),
    ]));
    state.formLanguage = screenLanguages()[0].code;
    state.previewLanguage = state.formLanguage;
    state.lastTyped = 0;
    const template = cashTemplate();
    showWording();
    buildLanguageTabs();
    state.offerId = update ? view.offer_id || null : null;
    $('next-update-minutes').value = '';
    prepareExpiry(update ? parseTime(view.expires_at) : null);
    const offer = offers().find((o) => o.id === state.offerId);
    state.autoOffer = offer ? offer.title : template.offer;
    buildOfferPicker();
    setText($('declare-title'), update ? 'Change what every screen says' : 'Go cash only');
    $('declare-confirm').hidden = update;
    $('update-confirm').hidden = !update;
    updatePreview();
    showSheet('declare-sheet', opener);
  }

  // On an update, the incident's expiry is kept unless the manager changes it (an update
  // without one withdraws it); the "keep" choice names the time it ends.
  function prepareExpiry(current) {
    const select = $('expires-in-minutes');
    select.querySelector('option[value="keep"]')?.remove();
    select.value = '';
    if (current && current.getTime() > Date.now()) {
      const keep = el('option', '', `Keep — ends at ${clockOf(current)}`);
      keep.value = 'keep';
      select.prepend(keep);
      select.value = 'keep';
    }
  }

  function expiryMinutes() {
    const chosen = $('expires-in-minutes').value;
    if (chosen !== 'keep') return Number(chosen);
    const at = parseTime(state.expiresAt);
    return at ? Math.max(1, Math.round((at.getTime() - Date.now()) / 60000)) : 0;
  }

  function buildOfferPicker() {
    const button = (id, title, terms) => {
      const b = el('button', 'offer-btn');
      b.type = 'button';
      b.append(el('span', 'offer-title', title));
      if (terms) b.append(el('span', 'offer-terms', terms));
      b.addEventListener('click', () => chooseOffer(id));
      return b;
    };
    const buttons = offers().map((offer) => {
      const b = button(offer.id, offer.title || offer.id, offer.terms);
      b.dataset.offerId = offer.id;
      return b;
    });
    const none = button(null, 'No offer', '');
    none.dataset.noOffer = '';
    $('offer-picker').replaceChildren(...buttons, none);
    markOffer();
  }

  function markOffer() {
    for (const b of $('offer-picker').querySelectorAll('.offer-btn')) {
      const id = 'offerId' in b.dataset ? b.dataset.offerId : null;
      b.setAttribute('aria-pressed', String(id === state.offerId));
    }
  }

  // The offer text follows the chosen offer until the manager writes their own.
  function chooseOffer(id) {
    state.offerId = id;
    const offer = offers().find((o) => o.id === id);
    const field = $('text-offer');
    const current = field.value.trim();
    const template = cashTemplate().offer;
    if (current === '' || current === template || current === state.autoOffer) {
      field.value = (offer && offer.title) || template;
      state.autoOffer = field.value;
    }
    markOffer();
    updatePreview();
  }

  const readTexts = () => Object.fromEntries(TEXT_KEYS.map((key) => [key, $(TEXT_INPUTS[key]).value.trim()]));

  // The fields show the wording of the language whose tab is open.
  function showWording() {
    const wording = state.wording[state.formLanguage] || cashTemplate();
    for (const key of TEXT_KEYS) $(TEXT_INPUTS[key]).value = wording[key];
  }

  function buildLanguageTabs() {
    const tabs = $('language-tabs');
    tabs.hidden = !perLanguage();
    tabs.replaceChildren(el('span', 'language-caption', 'Wording for screens in'), ...screenLanguages().map(({ code, name }) => {
      const b = el('button', 'language-tab', name);
      b.type = 'button';
      b.dataset.language = code;
      b.setAttribute('role', 'tab');
      b.setAttribute('aria-selected', String(code === state.formLanguage));
      b.addEventListener('click', () => chooseLanguage(code));
      return b;
    }));
  }

  function chooseLanguage(code) {
    state.wording[state.formLanguage] = readTexts();
    state.formLanguage = code;
    state.previewLanguage = code;
    showWording();
    buildLanguageTabs();
    updatePreview();
  }

  function typed() {
    state.wording[state.formLanguage] = readTexts();
    state.previewLanguage = state.formLanguage;
    state.lastTyped = Date.now();
    updatePreview();
  }

  // While nobody types, the preview turns through the languages as the screens do.
  function rotatePreview() {
    if (state.sheet !== 'declare-sheet' || !perLanguage() || Date.now() - state.lastTyped < 6000) return;
    const codes = screenLanguages().map((l) => l.code);
    state.previewLanguage = codes[(codes.indexOf(state.previewLanguage) + 1) % codes.length];
    updatePreview();
  }

  function updatePreview() {
    const view = (state.snapshot && state.snapshot.view) || {};
    const updating = !$('update-confirm').hidden;
    const since = updating && view.started_at ? hhmm(view.started_at) : clockOf(new Date());
    const code = state.previewLanguage || state.formLanguage;
    const wording = code === state.formLanguage ? readTexts() : (state.wording[code] || {});
    fillReplica($('preview'), resolveTexts(wording, code), since, code);
    setText($('preview-language'), perLanguage() ? languageOf(code).name : '');
  }

  // Runs one sheet action with its buttons disabled, so a double tap sends one request.
  async function sheetAction(buttons, request, notice) {
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const answer = await request();
      closeSheet();
      clearError();
      showNotice(notice(answer || {}));
    } catch (err) {
      fail(err);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  function confirmDeclare(kind) {
    const update = kind === 'update';
    // Wording left as the template is sent empty, which means "the template": each
    // screen then shows its own language's words, not this form's.
    state.wording[state.formLanguage] = readTexts();
    const written = (code) => {
      const template = cashTemplate(code);
      const wording = state.wording[code] || template;
      return Object.fromEntries(TEXT_KEYS.map((key) => [key, wording[key] === template[key] ? '' : wording[key]]));
    };
    const body = perLanguage()
      ? { texts: {}, translations: Object.fromEntries(screenLanguages().map(({ code }) => [code, written(code)])), offer_id: state.offerId }
      : { texts: written(state.formLanguage), offer_id: state.offerId };
    const minutes = Number($('next-update-minutes').value);
    if (minutes > 0) body.next_update_minutes = minutes;
    const ends = expiryMinutes();
    if (ends > 0) body.expires_in_minutes = ends;
    sheetAction([$('declare-confirm'), $('update-confirm')],
      () => api(update ? 'PUT' : 'POST', '/api/incident', body),
      (answer) => answer.note || (update ? 'Every screen is being updated.' : 'Every screen is switching to cash only.'));
  }

  function confirmResolve() {
    sheetAction([$('resolve-confirm')], () => api('POST', '/api/incident/resolve', {}), (answer) => {
      const also = Array.isArray(answer.supersedes) && answer.supersedes.length
        ? ` Also ended: ${answer.supersedes.map(String).join(', ')}.` : '';
      return 'Every screen is switching to all clear.' + also;
    });
  }

  // ── Sheets (modal) ─────────────────────────────────────────────────────────────────
  function showSheet(id, opener) {
    closeSheet();
    clearError();
    state.sheet = id;
    state.opener = opener || null;
    $(id).hidden = false;
    $('app-main').inert = true; // keep taps and focus inside the sheet
    // Focus the title, not a field: a tablet keyboard would hide the preview.
    $(id).querySelector('.sheet-title').focus();
  }

  function closeSheet() {
    if (!state.sheet) return;
    const sheet = $(state.sheet);
    sheet.hidden = true;
    sheet.querySelector('.sheet-error').hidden = true;
    state.sheet = null;
    $('app-main').inert = false;
    if (state.opener && !state.opener.hidden) state.opener.focus();
    state.opener = null;
  }

  // ── Tabs ───────────────────────────────────────────────────────────────────────────
  const tabButtons = () => Array.from(document.querySelectorAll('[data-tab]'));

  function selectTab(name) {
    for (const button of tabButtons()) {
      const selected = button.dataset.tab === name;
      button.setAttribute('aria-selected', String(selected));
      $('panel-' + button.dataset.tab).hidden = !selected;
    }
    if (name === 'vouchers') loadVouchers();
    if (name === 'audit') loadAudit();
  }

  // ── Vouchers ───────────────────────────────────────────────────────────────────────
  async function loadVouchers() {
    fillOverrideOffers();
    const panelError = $('vouchers-error');
    $('vouchers-refresh').disabled = true;
    try {
      renderVouchers((await api('GET', '/api/vouchers/summary')) || {});
      panelError.hidden = true;
    } catch (err) {
      if (err.status === 401) { fail(err); return; }
      // 503: no voucher replica on this node; the server says what to configure.
      const message = err.status === 503 && !err.data.error
        ? 'Voucher figures need a [counter] section on the console node.'
        : err.message;
      setText(panelError, message);
      panelError.hidden = false;
      $('vouchers').replaceChildren();
      showError(message);
    } finally {
      $('vouchers-refresh').disabled = false;
    }
  }

  function statGroup(title, note, figures) {
    const group = el('section', 'stat-group');
    const list = el('dl', 'stats');
    group.append(el('h3', '', title), ...(note ? [el('p', 'stat-note', note)] : []), list);
    for (const [label, value] of figures) {
      const item = el('div', 'stat');
      item.append(el('dt', '', label), el('dd', '', Number(value) || 0));
      list.append(item);
    }
    return group;
  }

  function renderVouchers(summary) {
    const three = (f) => [['Issued', f.issued], ['Redeemed', f.redeemed], ['Voided', f.voided]];
    const started = hhmm(summary.business_day_started_at);
    const groups = el('div', 'stat-groups');
    groups.append(statGroup('Tonight', started ? `Since ${started}` : '', three(summary.tonight || {})));
    if (summary.incident) groups.append(statGroup('This incident', summary.incident.incident_id, three(summary.incident)));
    groups.append(statGroup('All vouchers', '', [['On record', summary.total]]));

    const conflicts = Array.isArray(summary.conflicts) ? summary.conflicts : [];
    const box = el('section', 'conflicts');
    const conflictCount = Number.isInteger(summary.conflict_count) ? summary.conflict_count : conflicts.length;
    box.append(el('h3', '', conflictCount
      ? `Redeemed more than once (${conflictCount}${conflictCount > conflicts.length ? `, first ${conflicts.length} listed` : ''})`
      : 'No voucher was redeemed twice'));
    for (const conflict of conflicts) {
      const item = el('article', 'conflict');
      item.dataset.code = conflict.code;
      const head = el('div', 'conflict-head');
      head.append(el('span', 'conflict-code', conflict.code));
      if (conflict.offer_id) head.append(el('span', 'conflict-offer', conflict.offer_id));
      const list = el('ul', 'redemptions');
      for (const r of conflict.redemptions || []) {
        const time = hhmm(r.at);
        const li = el('li', '', `Redeemed at ${r.origin}${time ? ' · ' + time : ''}${r.seq !== undefined ? ' · #' + r.seq : ''}`);
        li.title = fullTime(r.at);
        list.append(li);
      }
      item.append(head, list);
      box.append(item);
    }
    $('vouchers').replaceChildren(groups, box);
  }

  async function onVoid(event) {
    event.preventDefault();
    const code = $('void-code').value.trim();
    const result = $('void-result');
    setText(result, '');
    if (!code) { $('void-code').focus(); return; }
    $('void-submit').disabled = true;
    try {
      const reason = $('void-reason').value.trim();
      await api('POST', `/api/vouchers/${encodeURIComponent(code)}/void`, { reason });
      setText(result, `Voucher ${code} is void.`);
      $('void-code').value = '';
      $('void-reason').value = '';
      clearError();
      loadVouchers();
    } catch (err) {
      fail(err);
    } finally {
      $('void-submit').disabled = false;
    }
  }

  // The offers a code can be asked for: the console's own (templates).
  function fillOverrideOffers() {
    const select = $('override-offer');
    const chosen = select.value;
    select.replaceChildren(...offers().map((offer) => {
      const option = el('option', '', offer.title || offer.id);
      option.value = offer.id;
      return option;
    }));
    if (chosen) select.value = chosen;
  }

  async function onOverride(event) {
    event.preventDefault();
    const terminal = $('override-terminal').value.trim();
    const body = {
      offer: $('override-offer').value,
      terminal: terminal ? Number(terminal) : null,
      extra: Number($('override-extra').value),
      minutes: Number($('override-minutes').value),
    };
    $('override-submit').disabled = true;
    $('override-result').hidden = true;
    try {
      const minted = await api('POST', '/api/override-codes', body);
      setText($('override-code'), minted.code);
      const where = minted.terminal ? `till ${minted.terminal}` : 'any till';
      setText($('override-what'), `${minted.title}: ${minted.extra} more at ${where}, until ${hhmm(minted.expires_at)}`);
      $('override-result').hidden = false;
      clearError();
    } catch (err) {
      fail(err);
    } finally {
      $('override-submit').disabled = false;
    }
  }

  // ── Audit ──────────────────────────────────────────────────────────────────────────
  async function loadAudit() {
    $('audit-refresh').disabled = true;
    const data = await attempt(api('GET', '/api/audit?limit=200'));
    $('audit-refresh').disabled = false;
    if (!data) return;
    const entries = Array.isArray(data.entries) ? data.entries : []; // newest first, as sent
    $('audit').replaceChildren(...entries.map(auditRow));
    $('audit-empty').hidden = entries.length > 0;
    loadReports();
    if (window.raincheckDrill) window.raincheckDrill.loadReports();
    loadWebhooks();
  }

  // The incidents with a recorded timeline, newest first, each with its report's formats
  // (the HTML opens in a new tab for printing; CSV and JSON download for the accounts).
  async function loadReports() {
    const data = await attempt(api('GET', '/api/reports/incidents'));
    if (!data) return;
    const incidents = Array.isArray(data.incidents) ? data.incidents : [];
    $('reports').replaceChildren(...incidents.map((item) => {
      const row = el('tr');
      const when = el('td', 'audit-time', fullTime(item.last_entry_at));
      when.title = fullTime(item.last_entry_at);
      const links = el('td', 'report-links');
      for (const [format, label] of [['html', 'Open'], ['csv', 'CSV'], ['json', 'JSON']]) {
        const link = el('a', 'report-link', label);
        link.href = `/api/reports/incidents/${encodeURIComponent(item.incident)}?format=${format}`;
        if (format === 'html') { link.target = '_blank'; link.rel = 'noopener'; } else link.download = `raincheck-incident-${item.incident}.${format}`;
        links.append(link);
      }
      row.append(el('td', 'audit-action', item.incident), when, links);
      return row;
    }));
    $('reports-empty').hidden = incidents.length > 0;
  }

  // The webhook delivery log (newest first) under the audit log, when there are receivers.
  async function loadWebhooks() {
    const data = await attempt(api('GET', '/api/webhooks'));
    if (!data || !data.configured) { $('webhooks-block').hidden = true; return; }
    $('webhooks-block').hidden = false;
    const waiting = Number(data.waiting) || 0;
    setText($('webhooks-waiting'), waiting ? `${waiting} waiting for a retry` : 'Nothing waiting');
    const entries = Array.isArray(data.entries) ? data.entries : [];
    $('webhooks').replaceChildren(...entries.map((entry) => {
      const row = el('tr');
      const time = el('td', 'audit-time', hhmm(entry.at));
      time.title = fullTime(entry.at);
      const outcome = el('td', 'audit-outcome', entry.outcome);
      if (entry.outcome !== 'delivered') outcome.dataset.tone = 'warn';
      row.append(time, el('td', '', entry.endpoint), el('td', '', entry.event), outcome,
        el('td', '', String(entry.attempts ?? '')), el('td', 'audit-detail', entry.detail));
      return row;
    }));
  }

  function auditRow(entry) {
    const row = el('tr');
    const time = el('td', 'audit-time', hhmm(entry.at));
    time.title = fullTime(entry.at);
    const outcome = el('td', 'audit-outcome', entry.outcome);
    if (entry.outcome && !/^(ok|done|success|accepted)$/i.test(String(entry.outcome))) outcome.dataset.tone = 'warn';
    row.append(time, el('td', '', entry.manager), el('td', '', entry.from),
      el('td', 'audit-action', entry.action), el('td', 'audit-detail', entry.detail), outcome);
    return row;
  }

  // What drill.js (the staff drill's part of the page) shares with this script.
  window.raincheckConsole = {
    $, el, setText, api, attempt, fail, showNotice, showSheet, closeSheet, sheetAction, parseTime, clockOf, fullTime,
  };

  // ── Wiring ─────────────────────────────────────────────────────────────────────────
  function wire() {
    const on = (id, type, handler) => $(id).addEventListener(type, handler);
    on('signin', 'submit', onSignin);
    on('signout', 'click', signOut);
    on('message-close', 'click', clearError);

    for (const button of tabButtons()) button.addEventListener('click', () => selectTab(button.dataset.tab));

    on('declare-open', 'click', (e) => openDeclare('declare', e.currentTarget));
    on('update-open', 'click', (e) => openDeclare('update', e.currentTarget));
    on('resolve-open', 'click', (e) => showSheet('resolve-sheet', e.currentTarget));
    on('declare-confirm', 'click', () => confirmDeclare('declare'));
    on('update-confirm', 'click', () => confirmDeclare('update'));
    on('resolve-confirm', 'click', confirmResolve);
    on('declare-cancel', 'click', closeSheet);
    on('resolve-cancel', 'click', closeSheet);
    for (const key of TEXT_KEYS) on(TEXT_INPUTS[key], 'input', typed);
    setInterval(rotatePreview, 4000);
    setInterval(() => { renderNextUpdate(); renderExpiry(); renderStale(); }, 15000);
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && state.sheet) closeSheet(); });

    on('vouchers-refresh', 'click', loadVouchers);
    on('void-form', 'submit', onVoid);
    on('override-form', 'submit', onOverride);
    on('audit-refresh', 'click', loadAudit);

    // A tablet waking from sleep may hold a dead stream; start a fresh one.
    document.addEventListener('visibilitychange', () => {
      const dead = !state.events || state.events.readyState === EventSource.CLOSED;
      if (!document.hidden && state.csrf && dead) startEvents();
    });
  }

  // "On the screens now" is a copy of the preview without its ids.
  function makeNowReplica() {
    const copy = $('preview').cloneNode(true);
    copy.removeAttribute('id');
    copy.setAttribute('aria-label', 'What the lobby screens show now');
    for (const node of copy.querySelectorAll('[id]')) node.removeAttribute('id');
    $('now-replica-slot').replaceChildren(copy);
    return copy;
  }

  async function start() {
    wire();
    nowReplica = makeNowReplica();
    try {
      enterApp(await api('GET', '/api/session'));
    } catch (err) {
      toSignin(err.status === 401 ? '' : err.message);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
