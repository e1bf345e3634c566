// raincheck — the staff drill's part of the manager's console (docs/CONSOLE.md, "Drills").
// Started from the Status tab when no incident is in force: every screen and counter draws
// a "TEST — staff drill" marker (or, on the screens chosen, the full cash-only screen) and
// confirms it; the card counts confirmations and ends the drill on request. The Audit tab
// lists each drill's report. Uses app.js's helpers (window.raincheckConsole); text only,
// never HTML, from data.
'use strict';

(() => {
  const c = window.raincheckConsole;
  if (!c) return;
  const { $, el, setText } = c;
  let snapshot = null;

  const rfcClock = (rfc3339) => {
    const d = c.parseTime(rfc3339);
    return d ? `${c.clockOf(d)}:${String(d.getSeconds()).padStart(2, '0')}` : '';
  };

  // The Status tab: the running drill's card, or the button that starts one.
  function render(next) {
    snapshot = next;
    const view = next.view || {};
    const drill = view.drill;
    const quiet = (view.mode || 'normal') !== 'cash_only';
    $('drill-card').hidden = !drill;
    $('drill-open').hidden = Boolean(drill) || !quiet;
    if (!drill) return;
    const progress = next.progress || {};
    const count = (tally) => ({ confirmed: Number(tally?.confirmed) || 0, total: Number(tally?.total) || 0 });
    const screens = count(progress.screens);
    const counters = count(progress.counters);
    const confirmed = screens.confirmed + counters.confirmed;
    const total = screens.total + counters.total;
    const full = (drill.full_screen || []).length;
    setText($('drill-progress'),
      `${confirmed} of ${total} screens and counters show the drill` +
      (full ? ` (${full} with the full cash-only screen)` : '') +
      ` · returns at ${rfcClock(drill.ends_at)}`);
    $('drill-card').dataset.done = String(total > 0 && confirmed === total);
  }

  // The sheet: how long, and which screens show the full cash-only screen.
  function open(event) {
    const nodes = ((snapshot && snapshot.nodes) || []).filter((n) => n.kind === 'screen' || n.kind === 'counter');
    $('drill-screens').replaceChildren(...nodes.map((node) => {
      const label = el('label', 'drill-screen');
      const box = el('input');
      box.type = 'checkbox';
      box.value = node.node;
      label.append(box, el('span', '', node.name ? `${node.name} (${node.node})` : node.node));
      return label;
    }));
    if (!nodes.length) $('drill-screens').append(el('p', 'empty', 'No screen has reported yet: the drill marker goes to every screen that comes up.'));
    c.showSheet('drill-sheet', event.currentTarget);
  }

  function start() {
    const body = {
      seconds: Number($('drill-seconds').value) || 120,
      full_screen: [...$('drill-screens').querySelectorAll('input:checked')].map((box) => box.value),
    };
    c.sheetAction([$('drill-confirm')], () => c.api('POST', '/api/drill', body),
      () => 'The drill is starting: every screen shows the test marker.');
  }

  async function end() {
    $('drill-end').disabled = true;
    try {
      await c.api('POST', '/api/drill/end', {});
      c.showNotice('The drill is ending: every screen returns.');
    } catch (err) {
      c.fail(err);
    } finally {
      $('drill-end').disabled = false;
    }
  }

  // The Audit tab: each drill's result in a line, with its printable report.
  async function loadReports() {
    const data = await c.attempt(c.api('GET', '/api/reports/drills'));
    if (!data) return;
    const drills = Array.isArray(data.drills) ? data.drills : [];
    $('drills').replaceChildren(...drills.map((item) => {
      const row = el('tr');
      const result = `${item.confirmed} of ${item.total} confirmed` +
        (item.slowest_ms != null ? `, slowest ${item.slowest_ms} ms` : '') +
        (item.interrupted ? ' — interrupted by a real incident' : '') +
        (item.ended_at ? '' : ' — running');
      const links = el('td', 'report-links');
      for (const [format, label] of [['html', 'Open'], ['json', 'JSON']]) {
        const link = el('a', 'report-link', label);
        link.href = `/api/reports/drills/${encodeURIComponent(item.drill_id)}?format=${format}`;
        if (format === 'html') { link.target = '_blank'; link.rel = 'noopener'; } else link.download = `raincheck-${item.drill_id}.json`;
        links.append(link);
      }
      row.append(el('td', 'audit-action', item.drill_id), el('td', 'audit-time', c.fullTime(item.started_at)),
        el('td', 'audit-detail', result), links);
      return row;
    }));
    $('drills-empty').hidden = drills.length > 0;
  }

  $('drill-open').addEventListener('click', open);
  $('drill-confirm').addEventListener('click', start);
  $('drill-cancel').addEventListener('click', c.closeSheet);
  $('drill-end').addEventListener('click', end);
  window.raincheckDrill = { render, loadReports };
})();
