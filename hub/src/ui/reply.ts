/** A dashboard page as an HTTP answer, for every page route alike. */
import { json, type Reply } from '../api/http.js';
import type { RequestContext } from '../api/router.js';
import { type Page, pageSections, renderPage } from './layout.js';

/**
 * The page as HTML, or as its sections in JSON with `?format=sections` (what the page's script
 * fetches to refresh itself without reloading).
 */
export function pageReply(ctx: RequestContext, page: Page, status = 200): Reply {
  if (ctx.url.searchParams.get('format') === 'sections') return json(status, pageSections(page));
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: renderPage(page, ctx.hub.settings.refreshSeconds),
  };
}
