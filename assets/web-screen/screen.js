// A raincheck web screen. It draws what the console's stream says (every word, in every
// language, is decided on the server by the same code as a Slint sign), rotates the
// languages, shows "status link lost since HH:MM" when the stream is lost, reconnects with
// backoff, and reports each view only after the browser has painted it. Data is only ever
// set as text, never as HTML.
'use strict';

(() => {
  const PING_TIMEOUT_MS = 12000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 30000;

  const params = new URLSearchParams(location.search);
  const key = params.get('key') || '';
  const id = decodeURIComponent(location.pathname.split('/')[2] || '');
  const base = `/screen/${encodeURIComponent(id)}`;
  const keyQuery = `key=${encodeURIComponent(key)}`;

  const state = {
    view: null,           // the latest `view` event
    layout: params.get('layout') || null,
    position: params.get('position') || null,
    language: 0,
    lostAt: null,         // when this page lost the stream
    stream: null,
    lastEvent: 0,
    backoff: BACKOFF_MIN_MS,
    retryTimer: null,
    rotateTimer: null,
  };

  const $ = (name) => document.getElementById(name);
  const setText = (name, text) => { const el = $(name); if (el.textContent !== text) el.textContent = text; };

  // ── sizes: the Slint sign's `unit` and `text-unit` ───────────────────────────────
  function bannerLayout() {
    const layout = state.layout || 'full';
    return layout === 'banner' || layout === 'banner_bottom' || layout === 'banner_top';
  }

  function bannerTop() {
    if (state.position) return state.position === 'top';
    return state.layout === 'banner_top';
  }

  function measure() {
    const w = window.innerWidth, h = window.innerHeight;
    const root = document.documentElement.style;
    if (bannerLayout()) {
      const strip = Math.max(64, h > w ? h * 0.14 : h * 0.22);
      const unit = Math.min(strip / 20, w / 120);
      root.setProperty('--bh', `${strip}px`);
      root.setProperty('--u', `${unit}px`);
      root.setProperty('--tu', `${unit}px`);
      return;
    }
    const portrait = h > w;
    const unit = portrait ? w / 100 : Math.min(h / 100, w / 177);
    const text = unit * (portrait ? Math.min(1.35, (h / w) * 0.76) : 1);
    root.setProperty('--u', `${unit}px`);
    root.setProperty('--tu', `${text}px`);
  }

  // FitText: the size shrinks with the length so long texts still fit.
  function fit() {
    const portrait = window.innerHeight > window.innerWidth;
    const banner = bannerLayout();
    const style = getComputedStyle(document.documentElement);
    const u = parseFloat(style.getPropertyValue('--u'));
    const tu = parseFloat(style.getPropertyValue('--tu'));
    for (const el of document.querySelectorAll('.fit')) {
      const spec = (banner && el.dataset.fitBanner) || (portrait && el.dataset.fitPortrait) || el.dataset.fit;
      let [largest, smallest, chars] = spec.split(' ').map(Number);
      const length = Math.max(1, [...el.textContent].length);
      const size = Math.max(smallest, Math.min(largest, largest * Math.sqrt(chars / length)));
      const unit = el.dataset.unit === 'u' ? u : tu;
      el.style.fontSize = `${size * unit}px`;
    }
  }

  function hourMinute(date) {
    return `${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
  }

  // ── drawing ─────────────────────────────────────────────────────────────────────
  function render() {
    const body = document.body;
    const banner = bannerLayout();
    body.classList.toggle('layout-banner', banner);
    body.classList.toggle('layout-full', !banner);
    body.classList.toggle('banner-top', banner && bannerTop());
    body.classList.toggle('banner-bottom', banner && !bannerTop());
    measure();
    const view = state.view;
    const languages = view ? view.languages : [];
    const content = languages.length ? languages[state.language % languages.length] : null;
    const mode = content ? content.mode : 'booting';
    for (const name of ['cash_only', 'all_clear', 'normal', 'booting']) {
      body.classList.toggle(`state-${name}`, name === mode);
    }
    for (const style of ['welcome', 'dark', 'transparent']) {
      body.classList.toggle(`style-${style}`, !!content && content.normal_style === style);
    }
    $('cash-only').hidden = mode !== 'cash_only';
    $('all-clear').hidden = mode !== 'all_clear';
    const welcome = mode === 'booting' || (mode === 'normal' && content.normal_style === 'welcome');
    $('normal').hidden = !welcome || !content;
    if (content) {
      document.documentElement.lang = content.language;
      const labels = content.labels;
      setText('cash-label', labels.cash_only);
      setText('cash-headline', content.headline);
      setText('cash-body', content.body);
      setText('offer-label', labels.your_raincheck);
      setText('offer', content.offer);
      setText('cash-points', content.cash_points);
      setText('since', content.since_time ? labels.since.replace('{}', content.since_time) : '');
      $('since').hidden = !content.since_time;
      setText('clear-headline', content.headline);
      setText('clear-body', content.body);
      setText('venue-name', content.venue_name || labels.welcome);
      $('normal-icons').hidden = mode !== 'normal';
      $('normal-headline').hidden = mode !== 'normal';
      setText('normal-headline', mode === 'normal' ? content.headline : '');
      const lostSince = state.lostAt ? hourMinute(state.lostAt) : content.link_lost_since;
      setText('note', lostSince ? labels.link_lost.replace('{}', lostSince) : '');
      $('note').hidden = !lostSince;
      setText('drill', content.drill ? labels.drill : '');
      $('drill').hidden = !content.drill;
      document.body.classList.toggle('drilling', Boolean(content.drill));
    } else {
      $('note').hidden = true;
      $('drill').hidden = true;
      document.body.classList.remove('drilling');
    }
    fit();
  }

  // After the browser has painted: a task queued from requestAnimationFrame runs once the
  // frame it preceded is on screen. Only then is the view reported as shown.
  function reportWhenPainted(view) {
    requestAnimationFrame(() => setTimeout(() => report(view, 0), 0));
  }

  function report(view, attempt) {
    if (state.view !== view) return;
    fetch(`${base}/painted?${keyQuery}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ seq: view.seq, digest: view.digest }),
      cache: 'no-store',
    }).then((answer) => {
      if (answer.status === 403) refused();
    }).catch(() => {
      if (attempt < 5) setTimeout(() => report(view, attempt + 1), 500 * (attempt + 1));
    });
  }

  function rotate() {
    clearInterval(state.rotateTimer);
    state.rotateTimer = null;
    const view = state.view;
    if (!view || view.languages.length < 2) return;
    state.rotateTimer = setInterval(() => {
      state.language = (state.language + 1) % state.view.languages.length;
      render();
    }, view.language_secs * 1000);
  }

  // ── the stream ──────────────────────────────────────────────────────────────────
  function connect() {
    state.retryTimer = null;
    const stream = new EventSource(`${base}/events?${keyQuery}`);
    state.stream = stream;
    state.lastEvent = Date.now();
    stream.addEventListener('setup', (event) => {
      const setup = JSON.parse(event.data);
      if (!params.get('layout')) state.layout = setup.layout;
      state.lastEvent = Date.now();
    });
    stream.addEventListener('view', (event) => {
      const view = JSON.parse(event.data);
      const languagesChanged = !state.view || state.view.languages.length !== view.languages.length;
      state.view = view;
      state.lostAt = null;
      state.lastEvent = Date.now();
      state.backoff = BACKOFF_MIN_MS;
      $('refused').hidden = true;
      if (languagesChanged) { state.language = 0; rotate(); }
      render();
      reportWhenPainted(view);
    });
    stream.addEventListener('ping', () => {
      state.lastEvent = Date.now();
      if (state.lostAt) { state.lostAt = null; render(); }
    });
    stream.onerror = () => lost();
  }

  function lost() {
    if (state.stream) { state.stream.close(); state.stream = null; }
    if (!state.lostAt) { state.lostAt = new Date(); render(); }
    retryLater();
  }

  function retryLater() {
    if (state.retryTimer) return;
    const wait = state.backoff * (0.5 + Math.random());
    state.backoff = Math.min(BACKOFF_MAX_MS, state.backoff * 2);
    state.retryTimer = setTimeout(async () => {
      try {
        const answer = await fetch(`${base}/key?${keyQuery}`, { cache: 'no-store' });
        if (answer.status === 403) { state.retryTimer = null; refused(); retryLater(); return; }
      } catch (_) {
        // The console is unreachable: keep showing the last view with the note.
      }
      connect();
    }, wait);
  }

  // A refused key: forget the venue entirely and say only what a technician needs.
  function refused() {
    if (state.stream) { state.stream.close(); state.stream = null; }
    state.view = null;
    state.lostAt = null;
    rotate();
    for (const el of document.querySelectorAll('.fit, .badge, .offer-label, .since')) el.textContent = '';
    $('sign').hidden = true;
    $('note').hidden = true;
    $('refused').textContent = 'This screen address is not valid (its key was refused).';
    $('refused').hidden = false;
  }

  setInterval(() => {
    if (state.stream && Date.now() - state.lastEvent > PING_TIMEOUT_MS) lost();
  }, 1000);
  window.addEventListener('resize', render);
  // Leaving the page (a navigation, or the back/forward cache freezing it) ends the stream
  // at once, so the console counts the page out; coming back from that cache reconnects.
  window.addEventListener('pagehide', () => {
    if (state.stream) { state.stream.close(); state.stream = null; }
  });
  window.addEventListener('pageshow', (event) => {
    if (event.persisted && !state.stream && key) connect();
  });
  window.__raincheck = state;
  render();
  if (!key) { refused(); return; }
  connect();
})();
