/**
 * Pull requests as deployments, at the hub (docs/design.md §4): every cluster's live dry-run plan of one
 * PR ref, which clusters have not reported it, and which planned an older commit than the PR's head.
 *
 *   GET /api/v1/previews[?state=open|closed|all]   one line per ref (default: open refs)
 *   GET /api/v1/previews/{ref}                     the fleet's plans for one ref (ref URL-encoded)
 *   GET /api/v1/previews/{ref}/markdown            the same as a PR comment
 */
import type { PreviewView } from '../../../contract/live-preview.js';
import { HttpError, json, type Reply } from './http.js';
import { previewMarkdown } from './preview-comment.js';
import { previewSummaries, previewView } from './preview-view.js';
import type { Hub, RequestContext, Route } from './router.js';

/** The JSON and Markdown routes of pull-request previews. */
export const previewRoutes: Route[] = [
  { method: 'GET', path: '/api/v1/previews', access: 'read', handle: listPreviews },
  { method: 'GET', path: '/api/v1/previews/:ref', access: 'read', handle: getPreview },
  { method: 'GET', path: '/api/v1/previews/:ref/markdown', access: 'read', handle: getMarkdown },
];

function stateOf(text: string | null): 'open' | 'closed' | 'all' {
  if (text === null) return 'open';
  if (text === 'open' || text === 'closed' || text === 'all') return text;
  throw new HttpError(400, `state must be open, closed or all, got "${text}"`);
}

/** A Git ref from a URL path segment (`refs%2Fpull%2F7%2Fhead`); a 400 when it is not one. */
export function gitRefParam(text: string): string {
  if (text.length > 1024 || !/^refs\/[^\s\0]+$/.test(text)) {
    throw new HttpError(
      400,
      `"${text.slice(0, 100)}" is not a ref: expected refs/…, URL-encoded (refs%2Fpull%2F7%2Fhead)`,
    );
  }
  return text;
}

async function listPreviews({ hub, url }: RequestContext): Promise<Reply> {
  return json(200, { previews: await previewSummaries(hub, stateOf(url.searchParams.get('state'))) });
}

async function viewOr404(hub: Hub, text: string): Promise<PreviewView> {
  const ref = gitRefParam(text);
  const view = await previewView(hub, ref);
  if (!view) throw new HttpError(404, `no cluster has reported a preview of "${ref}"`);
  return view;
}

async function getPreview({ hub, params }: RequestContext): Promise<Reply> {
  return json(200, await viewOr404(hub, params.ref!));
}

async function getMarkdown({ hub, params }: RequestContext): Promise<Reply> {
  return {
    status: 200,
    headers: { 'content-type': 'text/markdown; charset=utf-8' },
    body: previewMarkdown(await viewOr404(hub, params.ref!)),
  };
}
