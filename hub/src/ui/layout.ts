/** The page shell: header, navigation, and the sections the client script refreshes. */
import { html, type SafeHtml } from './html.js';

/** A dashboard page before layout: its title and sections. */
export interface Page {
  title: string;
  /** Parts of the page that auto-refresh replaces, by `data-section` id. */
  sections: Record<string, SafeHtml>;
  /** The page body, with the sections placed by `section(id)`. */
  body(section: (id: string) => SafeHtml): SafeHtml;
}

/** A page as a whole HTML document, refreshing itself every few seconds. */
export function renderPage(page: Page, refreshSeconds: number): string {
  const section = (id: string) => html`<div data-section="${id}">${page.sections[id]}</div>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · Strata hub</title>
<link rel="stylesheet" href="/assets/style.css">
<link rel="icon" href="data:,">
</head>
<body data-refresh="${refreshSeconds}">
<header class="top">
  <a class="brand" href="/"><span class="logo">◆</span> Strata hub</a>
  <nav><a href="/">Fleet</a> <a href="/previews">Previews</a></nav>
  <span id="refresh-status" class="refresh" aria-live="polite"></span>
</header>
<main>
${page.body(section)}
</main>
<script src="/assets/app.js"></script>
</body>
</html>
`.value;
}

/** The JSON the client script fetches on refresh: every section's fresh HTML. */
export function pageSections(page: Page): { title: string; sections: Record<string, string> } {
  return {
    title: page.title,
    sections: Object.fromEntries(Object.entries(page.sections).map(([id, s]) => [id, s.value])),
  };
}
