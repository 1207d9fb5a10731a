/** The dashboard's only assets, served by the hub itself: no fonts, CDNs or other external requests. */

/** Auto-refresh: fetches the page's sections as JSON and swaps them in, without a full reload. */
export const APP_JS = `(() => {
  'use strict';
  const every = Number(document.body.dataset.refresh || 0) * 1000;
  const status = document.getElementById('refresh-status');
  let inflight = false;

  async function refresh() {
    if (inflight) return;
    inflight = true;
    const url = new URL(location.href);
    url.searchParams.set('format', 'sections');
    try {
      const res = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
      const data = await res.json();
      if (!res.ok) throw new Error(data.error || 'HTTP ' + res.status);
      for (const [id, markup] of Object.entries(data.sections)) {
        const el = document.querySelector('[data-section="' + CSS.escape(id) + '"]');
        if (el && el.innerHTML !== markup) el.innerHTML = markup;
      }
      document.title = data.title + ' · Strata hub';
      status.textContent = 'Live · updated ' + new Date().toLocaleTimeString();
      status.classList.remove('error');
    } catch (err) {
      status.textContent = 'Not updated: ' + err.message;
      status.classList.add('error');
    } finally {
      inflight = false;
    }
  }

  const form = document.querySelector('form[data-filter]');
  if (form) {
    const apply = () => {
      const url = new URL(location.href);
      for (const el of form.elements) {
        if (!el.name) continue;
        if (el.value) url.searchParams.set(el.name, el.value);
        else url.searchParams.delete(el.name);
      }
      url.searchParams.delete('continue'); // a new filter starts at its first page
      history.replaceState(null, '', url);
      refresh();
    };
    form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
    for (const select of form.querySelectorAll('select')) select.addEventListener('change', apply);
  }
  if (every > 0) setInterval(refresh, every);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(); });
})();
`;

/** The dashboard's one stylesheet. */
export const STYLE_CSS = `:root {
  --bg: #f6f7f9; --panel: #fff; --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec; --accent: #3557d4;
  --green: #1f8a4c; --amber: #b7791f; --blue: #2b6cb0; --orange: #c05621; --red: #c53030; --gray: #718096;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; font-size: 14px;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .sha, .url { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
header.top { display: flex; align-items: center; gap: 24px; padding: 10px 28px; background: #141a2a; color: #fff; }
header.top a { color: #dfe6ff; }
header.top nav { display: flex; gap: 18px; }
.brand { font-weight: 700; font-size: 16px; color: #fff !important; }
.logo { color: #7aa2ff; }
.refresh { margin-left: auto; font-size: 12px; color: #aab4cc; }
.refresh.error { color: #ffb4a8; }
main { max-width: 1280px; margin: 0 auto; padding: 20px 28px 48px; }
h1 { font-size: 22px; margin: 6px 0 16px; }
h1 code { font-size: 18px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
.crumbs { margin: 0; color: var(--muted); font-size: 12px; }
.muted { color: var(--muted); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin-bottom: 16px; }
.card { background: var(--panel); border: 1px solid var(--line); border-left: 4px solid var(--gray); border-radius: 6px;
  padding: 10px 16px; min-width: 118px; color: var(--ink); }
a.card:hover { text-decoration: none; border-color: var(--accent); }
.card.active { box-shadow: 0 0 0 2px var(--accent); }
.card .n { font-size: 24px; font-weight: 700; }
.card .k { font-size: 12px; color: var(--muted); }
.card.total { border-left-color: var(--ink); }
.p-synced, .r-healthy { border-left-color: var(--green) !important; }
.p-outofsync, .r-behind { border-left-color: var(--amber) !important; }
.p-progressing, .r-progressing { border-left-color: var(--blue) !important; }
.p-degraded { border-left-color: var(--orange) !important; }
.p-failed, .r-failed, .p-stale { border-left-color: var(--red) !important; }
.filters { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 12px; margin: 8px 0 14px; }
.filters label { display: flex; flex-direction: column; gap: 4px; font-size: 12px; color: var(--muted); }
.filters input { width: 320px; }
.filters input, .filters select, .filters button { font: inherit; padding: 6px 8px; border: 1px solid var(--line);
  border-radius: 5px; background: var(--panel); color: var(--ink); }
.filters button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; padding: 6px 14px; }
.filters .reset { padding: 6px 4px; }
table.grid { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
.grid th { text-align: left; font-size: 12px; font-weight: 600; color: var(--muted); background: #fafbfc;
  border-bottom: 1px solid var(--line); padding: 8px 10px; }
.grid td { border-bottom: 1px solid var(--line); padding: 7px 10px; vertical-align: top; }
.grid tr:last-child td { border-bottom: 0; }
.grid tbody tr:hover { background: #f9fafc; }
tr.is-stale td { background: #fff8f6; }
.cluster { font-weight: 600; }
.chip { display: inline-block; background: #eef1f6; border-radius: 4px; padding: 1px 6px; margin: 1px 4px 1px 0;
  font-size: 12px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.badge { display: inline-block; border-radius: 10px; padding: 1px 9px; font-size: 12px; font-weight: 600;
  background: #edf2f7; color: var(--gray); }
.b-synced, .b-healthy, .b-current { background: #e3f5ea; color: var(--green); }
.b-outofsync, .b-behind { background: #fdf3dd; color: var(--amber); }
.b-progressing, .b-inprogress { background: #e4efff; color: var(--blue); }
.b-degraded, .b-terminating { background: #fde9dc; color: var(--orange); }
.b-failed, .b-notfound { background: #fde4e4; color: var(--red); }
.b-notreported { background: #edf2f7; color: var(--gray); }
.b-soaking, .b-applying, .b-released, .b-open, .b-waiting, .b-awaiting-approval, .b-paused { background: #e4efff; color: var(--blue); }
.b-passed, .b-complete { background: #e3f5ea; color: var(--green); }
.b-halted, .b-aborted, .b-conflict { background: #fde4e4; color: var(--red); }
.b-offline, .b-pending, .b-superseded { background: #edf2f7; color: var(--gray); }
.wave { margin: 12px 0 18px; } .blocked { color: var(--orange); }
.stale { color: var(--red); font-weight: 600; }
.warn { color: var(--orange); font-weight: 600; margin-right: 8px; }
.ok { color: var(--green); }
.empty { color: var(--muted); background: var(--panel); border: 1px dashed var(--line); padding: 14px; border-radius: 6px; }
.error-banner { background: #fde4e4; color: var(--red); padding: 10px 14px; border-radius: 6px; }
dl.facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 0 0 10px; background: var(--panel);
  border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; }
dl.facts div { min-width: 120px; }
dt { font-size: 12px; color: var(--muted); }
dd { margin: 2px 0 0; }
dl.facts.small { border: 0; padding: 8px 0 0; gap: 6px 28px; }
section.source { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin-bottom: 10px; }
.source-head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.source-head .ref { font-weight: 600; }
ul.errors { margin: 10px 0 0; padding-left: 18px; color: var(--red); }
ul.errors li { margin: 3px 0; }
ul.errors code { color: var(--ink); }
progress.rollout-bar { width: 100%; height: 10px; margin-bottom: 12px; appearance: none; border: 0; border-radius: 5px; background: #e3e6ec; }
progress.rollout-bar::-webkit-progress-bar { background: #e3e6ec; border-radius: 5px; }
progress.rollout-bar::-webkit-progress-value { background: var(--green); border-radius: 5px; }
progress.rollout-bar::-moz-progress-bar { background: var(--green); border-radius: 5px; }
`;
