/** The dashboard in real headless Chromium: load pages, filter, follow links, auto-refresh. */
import { mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { COMMIT_A, COMMIT_B, makeReport, removeDir, startTestHub, type TestHub } from './helpers.js';

// Each hub starts a writer thread: generous limits keep a busy shared CI machine from failing them.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const SHOTS = 'test-results/hub';
let hub: TestHub;
let browser: Browser;
const tokens = new Map<string, string>();
const externalRequests: string[] = [];

const FLEET = [
  {
    name: 'prod-hz',
    labels: { env: 'prod', region: 'cn-hangzhou' },
    commit: COMMIT_A,
    phase: 'Synced',
    health: 'Healthy',
  },
  {
    name: 'prod-sh',
    labels: { env: 'prod', region: 'cn-shanghai' },
    commit: COMMIT_A,
    phase: 'Synced',
    health: 'Healthy',
  },
  {
    name: 'prod-fra',
    labels: { env: 'prod', region: 'eu-frankfurt' },
    commit: COMMIT_B,
    phase: 'Progressing',
    health: 'Progressing',
  },
  {
    name: 'stage-hz',
    labels: { env: 'stage', region: 'cn-hangzhou' },
    commit: COMMIT_A,
    phase: 'Failed',
    health: 'Degraded',
  },
  {
    name: 'edge-07',
    labels: { env: 'prod', region: 'cn-hangzhou', tier: 'edge' },
    commit: COMMIT_B,
    phase: 'OutOfSync',
    health: 'Healthy',
  },
] as const;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  hub = await startTestHub({ settings: { refreshSeconds: 1 } });
  for (const c of FLEET) {
    const { token } = await hub.token(c.name);
    tokens.set(c.name, token);
    const report = makeReport(c.name, 1, { ...c, objects: 4, reachable: c.name !== 'edge-07' });
    if (c.name === 'edge-07') {
      report.sources[0]!.drift = [
        {
          id: 'apps/Deployment/shop/web-0',
          fields: ['spec.replicas'],
          action: 'reported',
          detectedAt: new Date().toISOString(),
        },
      ];
      report.sources[0]!.error = {
        reason: 'SourceUnavailable',
        message: 'git fetch timed out',
        since: new Date().toISOString(),
      };
    }
    expect((await hub.post(token, report)).status).toBe(200);
  }
  await hub.token('dark-site');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await hub?.stop();
  if (hub) removeDir(hub.dir);
});

async function open(path: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 820 } });
  page.on('request', (req) => {
    if (!req.url().startsWith(hub.url) && !req.url().startsWith('data:')) externalRequests.push(req.url());
  });
  await page.goto(`${hub.url}${path}`);
  return page;
}

async function rowNames(page: Page): Promise<string[]> {
  return page
    .locator('table.clusters tbody tr')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-cluster') ?? ''));
}

describe('dashboard', () => {
  it('shows the fleet overview with counts by phase and every cluster', async () => {
    const page = await open('/');
    expect(await rowNames(page)).toEqual([
      'dark-site',
      'edge-07',
      'prod-fra',
      'prod-hz',
      'prod-sh',
      'stage-hz',
    ]);
    await expect(page.locator('.card.p-synced .n').textContent()).resolves.toBe('2');
    await expect(page.locator('.card.p-failed .n').textContent()).resolves.toBe('1');
    await expect(page.locator('tr[data-cluster="dark-site"]').textContent()).resolves.toContain(
      'never reported',
    );
    await expect(page.locator('tr[data-cluster="edge-07"]').textContent()).resolves.toContain(
      'source unavailable',
    );
    await page.screenshot({ path: `${SHOTS}/overview.png`, fullPage: true });
    await page.close();
  });

  it('filters by label selector and by phase without a page reload', async () => {
    const page = await open('/');
    await page.evaluate('window.marker = 42');
    await page.fill('input[name=selector]', 'env=prod,region in (cn-hangzhou,cn-shanghai)');
    await page.press('input[name=selector]', 'Enter');
    await expect.poll(() => rowNames(page)).toEqual(['edge-07', 'prod-hz', 'prod-sh']);
    expect(page.url()).toContain('selector=env%3Dprod');
    await page.selectOption('select[name=phase]', 'Synced');
    await expect.poll(() => rowNames(page)).toEqual(['prod-hz', 'prod-sh']);
    expect(await page.evaluate('window.marker')).toBe(42);
    await page.screenshot({ path: `${SHOTS}/overview-filtered.png`, fullPage: true });
    await page.close();
  });

  it('shows one page of clusters at a time and searches by name prefix', async () => {
    const page = await open('/?limit=2');
    expect(await rowNames(page)).toEqual(['dark-site', 'edge-07']);
    await expect(page.locator('.card.total .n').textContent()).resolves.toBe('6');
    await page.click('a.next-page');
    await expect.poll(() => rowNames(page)).toEqual(['prod-fra', 'prod-hz']);
    await page.fill('input[name=prefix]', 'prod-');
    await page.press('input[name=prefix]', 'Enter');
    await expect.poll(() => rowNames(page)).toEqual(['prod-fra', 'prod-hz']);
    expect(page.url()).not.toContain('continue=');
    await expect(page.locator('.card.total .n').textContent()).resolves.toBe('3');
    await page.click('a.next-page');
    await expect.poll(() => rowNames(page)).toEqual(['prod-sh']);
    expect(await page.locator('a.next-page').count()).toBe(0);
    await page.close();
  });

  it('shows a clear error for a broken selector', async () => {
    const page = await open(`/?selector=${encodeURIComponent('env in (prod')}`);
    await expect(page.locator('.error-banner').textContent()).resolves.toMatch(/invalid label selector/);
    await page.close();
  });

  it('follows a cluster link to its detail page with sources, objects, drift and history', async () => {
    const page = await open('/');
    await page.click('a.cluster:text-is("edge-07")');
    await page.waitForURL(/\/clusters\/edge-07$/);
    await expect(page.locator('h1').textContent()).resolves.toBe('edge-07');
    await expect(page.locator('section.source').textContent()).resolves.toContain('unavailable');
    await expect(page.locator('ul.errors').textContent()).resolves.toContain('git fetch timed out');
    await expect(page.locator('[data-section=drift]').textContent()).resolves.toContain('spec.replicas');
    expect(await page.locator('[data-section=objects] tbody tr').count()).toBe(4);
    expect(await page.locator('[data-section=history] tbody tr').count()).toBe(1);
    await page.screenshot({ path: `${SHOTS}/cluster.png`, fullPage: true });
    await page.close();
  });

  it('follows a commit link to the rollout page', async () => {
    const page = await open('/clusters/prod-hz');
    await page.click('[data-section=summary] a.sha');
    await page.waitForURL(new RegExp(`/commits/${COMMIT_A}$`));
    const states = await page
      .locator('table.rollout tbody tr')
      .evaluateAll((rows) =>
        Object.fromEntries(rows.map((r) => [r.getAttribute('data-cluster'), r.getAttribute('data-state')])),
      );
    expect(states).toEqual({
      'dark-site': 'notReported',
      'edge-07': 'behind',
      'prod-fra': 'behind',
      'prod-hz': 'healthy',
      'prod-sh': 'healthy',
      'stage-hz': 'failed',
    });
    await page.screenshot({ path: `${SHOTS}/rollout.png`, fullPage: true });
    await page.close();
  });

  it('auto-refreshes a page in place when a new report arrives', async () => {
    const page = await open('/clusters/stage-hz');
    await expect(page.locator('[data-section=summary] .badge').first().textContent()).resolves.toBe('Failed');
    await page.evaluate('window.marker = 7');
    const fixed = makeReport('stage-hz', 2, {
      labels: FLEET[3].labels,
      commit: COMMIT_B,
      phase: 'Synced',
      objects: 4,
    });
    expect((await hub.post(tokens.get('stage-hz'), fixed)).status).toBe(200);
    await page.waitForSelector('[data-section=summary] .badge.b-synced', { timeout: 10_000 });
    expect(await page.locator('[data-section=history] tbody tr').count()).toBe(2);
    expect(await page.evaluate('window.marker')).toBe(7);
    await expect(page.locator('#refresh-status').textContent()).resolves.toMatch(/Live/);
    await page.close();
  });

  it('never renders markup from a hostile report and makes no external request', async () => {
    const hostile = makeReport('prod-sh', 5, {
      labels: { env: 'prod', region: 'cn-shanghai' },
      message: '<img src=x onerror="window.pwned=1">',
    });
    hostile.sources[0]!.ref = '<script>window.pwned=2</script>';
    expect((await hub.post(tokens.get('prod-sh'), hostile)).status).toBe(200);
    const page = await open('/clusters/prod-sh');
    await page.waitForTimeout(1500);
    expect(await page.evaluate('window.pwned')).toBeUndefined();
    expect(await page.locator('[data-section=objects] img').count()).toBe(0);
    await expect(page.locator('[data-section=objects]').textContent()).resolves.toContain('<img src=x');
    expect(externalRequests).toEqual([]);
    await page.close();
  });
});
