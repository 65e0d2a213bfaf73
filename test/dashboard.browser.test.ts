// The dashboard in a real browser (Debian's Chromium through playwright-core) against a real
// Failsafe (startFailsafe, temp SQLite, simulated model servers, live traffic). Screenshots go to
// test-results/screenshots/. Steps that need a feature the server does not have yet skip with a
// message naming what is missing, so the suite grows with the server without edits here.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDashboardStack, type DashboardStack } from './helpers/dashboard-stack.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-results', 'screenshots');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[dashboard tests] ${CHROMIUM} not found: browser tests SKIPPED (apt-get install chromium)`);

describe.skipIf(!hasChromium)('dashboard (Chromium)', () => {
  let stack: DashboardStack;
  let browser: BrowserContext;
  let profileDir: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    stack = await startDashboardStack();
    stack.startTraffic(20);
    profileDir = mkdtempSync(join(tmpdir(), 'failsafe-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 1280, height: 800 },
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  /** A fresh tab (its own sessionStorage) with page errors collected. */
  async function newTab(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    return { page, errors };
  }

  async function signIn(page: Page, key: string) {
    await page.goto(`${stack.url}/`);
    await page.locator('#api-key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.topbar').waitFor({ state: 'visible' });
  }

  /**
   * Whether the server has this feature: asked about an entity that does not exist, a working
   * endpoint says MODEL_NOT_FOUND / INCIDENT_NOT_FOUND; a missing route or a feature that is not
   * enabled answers the generic NOT_FOUND.
   */
  async function hasEndpoint(method: string, path: string): Promise<boolean> {
    const r = await stack.api(path, { method, body: method === 'GET' ? undefined : {} });
    return !(r.status === 404 && r.body?.error?.code === 'NOT_FOUND');
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  it('serves the login page and refuses a wrong key with a clear message', async () => {
    const { page, errors } = await newTab();
    const res = await page.goto(`${stack.url}/`);
    expect(res?.headers()['content-type']).toContain('text/html');
    await expect.poll(() => page.url()).toContain('#/login');
    await page.locator('#api-key').fill('fsk_not_a_real_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const message = page.locator('#login-message');
    await expect.poll(() => message.textContent()).toContain('This key was not accepted');
    expect(await message.textContent()).toContain('invalid, revoked or expired API key');
    expect(await page.locator('.topbar').isVisible()).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem('failsafe.apiKey'))).toBeNull();
    await shot(page, '01-login-wrong-key');

    // A client key works on the API but may not use the dashboard.
    await page.locator('#api-key').fill(stack.keys.client);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => message.textContent()).toContain('client role');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a viewer sees models, live traffic and charts, and no action buttons', async () => {
    const { page, errors } = await newTab();
    await signIn(page, stack.keys.viewer);
    expect(await page.locator('.whoami [data-role]').textContent()).toBe('viewer');
    const card = page.locator('.model-card[data-model="support-bot"]');
    await card.waitFor();
    expect(await page.locator('.model-card').count()).toBe(2);
    // Live traffic reaches the table and the charts within a couple of refreshes.
    await expect
      .poll(async () => Number(await card.locator('tr[data-version="v2"] td.num').first().textContent()), { timeout: 15_000 })
      .toBeGreaterThan(1);
    expect(await card.locator('.weight-seg').textContent()).toBe('v2 100%');
    expect(await card.locator('.chart canvas').count()).toBe(3);
    expect(await page.locator('a[href="#/keys"]').count()).toBe(0);
    await shot(page, '02-overview-viewer');

    await page.goto(`${stack.url}/#/models/support-bot`);
    await page.locator('[data-testid="versions"] tr[data-version="v1"]').waitFor();
    expect(await page.locator('[data-testid="route-history"] tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('button[data-action]').count()).toBe(0);
    await shot(page, '03-model-viewer');

    // Nor on an incident: read-only.
    const opened = await stack.api('/api/v1/incidents', { method: 'POST', body: { model: 'fraud-scorer', title: 'viewer check', severity: 'SEV4' } });
    expect(opened.status).toBe(201);
    await page.goto(`${stack.url}/#/incidents/${opened.body.incident.id}`);
    await page.locator('[data-testid="timeline"] li').first().waitFor();
    expect(await page.locator('button[data-action]').count()).toBe(0);
    await stack.api(`/api/v1/incidents/${opened.body.incident.id}/decline`, { method: 'POST', body: { reason: 'test fixture' } });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an operator pauses and resumes a model from its page', async () => {
    const { page, errors } = await newTab();
    await signIn(page, stack.keys.operator);
    expect(await page.locator('.whoami [data-role]').textContent()).toBe('operator');
    await page.goto(`${stack.url}/#/models/support-bot`);
    await page.locator('button[data-action="pause"]').click();
    const dialog = page.locator('dialog[data-testid="pause-dialog"]');
    await dialog.locator('button[data-action="confirm"]').click();
    await page.locator('.flash-ok', { hasText: 'support-bot paused.' }).waitFor();
    await page.locator('.page-head .badge-mode-paused').waitFor();
    const api = await stack.api('/api/v1/models');
    expect(api.body.models.find((m: any) => m.name === 'support-bot').mode).toBe('paused');
    await shot(page, '04-model-paused');

    await page.locator('button[data-action="resume"]').click();
    await page.locator('.flash-ok', { hasText: 'support-bot resumed.' }).waitFor();
    await page.locator('.page-head .badge-mode-serving').waitFor();
    expect((await stack.api('/api/v1/models')).body.models.find((m: any) => m.name === 'support-bot').mode).toBe('serving');
    // Pause and resume are in the route history, with the key that did them.
    await expect.poll(() => page.locator('[data-testid="route-history"] tbody tr', { hasText: 'key:dash-operator' }).count()).toBeGreaterThanOrEqual(2);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a refused action’s message in place and the page stays usable', async () => {
    const created = await stack.api('/api/v1/incidents', {
      method: 'POST',
      key: stack.keys.operator,
      // No version: playbooks contain an incident that names one (isolation) at once.
      body: { model: 'fraud-scorer', title: 'scores look odd (manual)', severity: 'SEV3' },
    });
    expect(created.status).toBe(201);
    const id = created.body.incident.id as string;
    const { page, errors } = await newTab();
    await signIn(page, stack.keys.operator);
    await page.goto(`${stack.url}/#/incidents`);
    await page.locator(`tr[data-incident="${id}"]`).waitFor();
    await page.locator(`tr[data-incident="${id}"] a`).first().click();
    await expect.poll(() => page.url()).toContain(`#/incidents/${id}`);
    await page.locator('[data-testid="incident-status"]', { hasText: 'open' }).waitFor();

    // A blank note passes the browser's check but not the server's: its message shows in the dialog.
    await page.locator('button[data-action="note"]').click();
    const dialog = page.locator('dialog[data-testid="note-dialog"]');
    await dialog.locator('textarea').fill('   ');
    await dialog.locator('button[data-action="confirm"]').click();
    await expect.poll(() => dialog.locator('.dialog-error').textContent()).toContain('a note needs some text');
    expect(await dialog.locator('.dialog-error').textContent()).toContain('VALIDATION_FAILED');
    await shot(page, '05-refused-action');
    await dialog.locator('textarea').fill('checked the scorer dashboards');
    await dialog.locator('button[data-action="confirm"]').click();
    await dialog.waitFor({ state: 'detached' });
    await page.locator('[data-testid="timeline"] li', { hasText: 'checked the scorer dashboards' }).waitFor();

    await page.locator('button[data-action="acknowledge"]').click();
    await page.locator('dialog[data-testid="acknowledge-dialog"] button[data-action="confirm"]').click();
    await page.locator('[data-testid="incident-status"]', { hasText: 'acknowledged' }).waitFor();
    expect((await stack.api(`/api/v1/incidents/${id}`)).body.incident.status).toBe('acknowledged');
    expect(await page.locator('button[data-action="acknowledge"]').count()).toBe(0);

    // The incident list filters by status and model through the URL.
    await page.goto(`${stack.url}/#/incidents?status=acknowledged&model=fraud-scorer`);
    await page.locator(`tr[data-incident="${id}"]`).waitFor();
    await page.goto(`${stack.url}/#/incidents?status=resolved`);
    await page.locator('[data-testid="incidents"] tbody td', { hasText: 'No incident matches' }).waitFor();
    // Closed, so a later report about fraud-scorer opens a new incident instead of joining this one.
    expect((await stack.api(`/api/v1/incidents/${id}/resolve`, { method: 'POST', body: {} })).status).toBe(200);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the audit page shows the chain as intact and the operator’s changes', async () => {
    const { page, errors } = await newTab();
    await signIn(page, stack.keys.viewer);
    await page.goto(`${stack.url}/#/audit`);
    const chain = page.locator('[data-testid="chain-status"]');
    await expect.poll(() => chain.textContent()).toContain('Hash chain intact');
    const verify = await stack.api('/api/v1/audit/verify');
    expect(await chain.textContent()).toContain(`${verify.body.entries} entries checked`);
    await page.locator('[data-testid="audit"] tbody tr', { hasText: 'key:dash-operator' }).first().waitFor();
    await shot(page, '06-audit');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an admin manages keys; a key revoked meanwhile signs its tab out with a message', async () => {
    const { page: admin, errors } = await newTab();
    await signIn(admin, stack.keys.admin);
    await admin.locator('a[href="#/keys"]').click();
    await admin.locator('button[data-action="create-key"]').click();
    const dialog = admin.locator('dialog[data-testid="create-key-dialog"]');
    await dialog.locator('input[name="name"]').fill('temp-operator');
    await dialog.locator('select[name="role"]').selectOption('operator');
    await dialog.locator('button[data-action="confirm"]').click();
    const secret = await dialog.locator('[data-testid="secret"]').inputValue();
    expect(secret).toMatch(/^fsk_/);
    await shot(admin, '07-keys-created');
    await dialog.locator('button[data-action="close"]').click();

    const { page: other } = await newTab();
    await signIn(other, secret);
    expect(await other.locator('.whoami [data-role]').textContent()).toBe('operator');

    const row = admin.locator('[data-testid="keys"] tr', { hasText: 'temp-operator' });
    await row.locator('button[data-action="revoke"]').click();
    await admin.locator('dialog[data-testid="revoke-dialog"] button[data-action="confirm"]').click();
    await row.locator('.badge-revoked').waitFor();

    // The other tab's next refresh is refused: back to the login page, saying why.
    await expect.poll(() => other.url(), { timeout: 10_000 }).toContain('#/login');
    await expect.poll(() => other.locator('#login-message').textContent()).toContain('You were signed out');
    await shot(other, '08-signed-out');
    expect(errors).toEqual([]);
    await Promise.all([admin.close(), other.close()]);
  });

  it('an operator rolls back from an incident page and sees the validation result', async (t) => {
    if (!(await hasEndpoint('POST', '/api/v1/models/no-such-model/rollback'))) {
      console.warn('[dashboard tests] rollback from the incident page SKIPPED: the server has no POST /api/v1/models/{name}/rollback');
      t.skip();
    }
    // fraud-scorer gets a bad v2 (the same simulated scorer) and a hand-opened incident about it.
    const reg = await stack.api('/api/v1/models/fraud-scorer/versions', { method: 'POST', body: { version: 'v2', upstream: { url: `${stack.sims.scorer.url}/v1/models/fraud:predict` }, metadata: { gitSha: 'bad0c0de' } } });
    expect([200, 201]).toContain(reg.status);
    expect((await stack.api('/api/v1/models/fraud-scorer/route', { method: 'PUT', body: { weights: { v2: 100 }, reason: 'ship v2' } })).status).toBe(200);
    // SEV4 and without a version, so no playbook contains it (rollback, isolation) before the operator acts.
    const opened = await stack.api('/api/v1/incidents', { method: 'POST', key: stack.keys.operator, body: { model: 'fraud-scorer', title: 'v2 scores are off', severity: 'SEV4' } });
    expect(opened.body.created).toBe(true);
    const id = opened.body.incident.id as string;

    const { page, errors } = await newTab();
    await signIn(page, stack.keys.operator);
    await page.goto(`${stack.url}/#/incidents/${id}`);
    await page.locator('button[data-action="rollback"]').click();
    const dialog = page.locator('dialog[data-testid="rollback-dialog"]');
    expect(await dialog.locator('select[name="to"] option').first().textContent()).toContain('last known stable (v1)');
    await dialog.locator('button[data-action="confirm"]').click();
    const result = dialog.locator('[data-testid="rollback-result"]');
    await result.waitFor({ timeout: 20_000 });
    expect(await result.locator('.rollback-summary').textContent()).toContain('Rolled back v2 → v1');
    expect(await result.textContent()).toMatch(/Validation of v1 \((smoke|golden)\): passed/);
    await shot(page, '09-rollback-result');
    await dialog.locator('button[data-action="close"]').click();
    await dialog.waitFor({ state: 'detached' });

    const model = (await stack.api('/api/v1/models')).body.models.find((m: any) => m.name === 'fraud-scorer');
    expect(model.weights.v2 ?? 0).toBe(0);
    expect(model.weights.v1).toBe(100);
    // The rollback joined the incident's timeline (the page refreshes every 3 s).
    await page.locator('[data-testid="timeline"] li[data-kind="rollback"]', { hasText: 'key:dash-operator' }).filter({ hasText: 'to v1' }).first().waitFor({ timeout: 10_000 });
    expect(await page.locator('[data-testid="timeline"] li', { hasText: 'playbook:' }).filter({ hasText: 'rolled back' }).count()).toBe(0);
    await shot(page, '10-incident-after-rollback');

    // The model page lists it with its validation.
    await page.goto(`${stack.url}/#/models/fraud-scorer`);
    const rb = page.locator('[data-testid="rollbacks"] tbody tr').first();
    await rb.waitFor();
    expect(await rb.textContent()).toContain('v2 → v1');
    expect(await rb.textContent()).toContain('succeeded');
    expect(await rb.textContent()).toContain(id);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an incident appears during a fault, is rolled back from its page and has a postmortem', async (t) => {
    const services = Object.keys(stack.failsafe.ctx.services);
    const missing = [
      !services.some((k) => /monitor/i.test(k)) && 'monitors (no monitoring service in ctx.services)',
      !(await hasEndpoint('POST', '/api/v1/models/no-such-model/rollback')) && 'POST /api/v1/models/{name}/rollback',
    ].filter(Boolean);
    if (missing.length) {
      console.warn(`[dashboard tests] fault → incident → rollback → postmortem SKIPPED: the server has no ${missing.join(', ')}`);
      t.skip();
    }
    const { page, errors } = await newTab();
    await signIn(page, stack.keys.operator);
    await page.goto(`${stack.url}/#/incidents?model=support-bot`);
    await page.locator('[data-testid="incidents"] tbody tr').first().waitFor();
    const before = new Set(((await stack.api('/api/v1/incidents?model=support-bot')).body.incidents as any[]).map((i) => i.id));

    stack.sims.v2.setFaults({ errorRate: 0.6 });
    // Monitors open the incident; the list refreshes every 2 s and shows it.
    const newIds = () => page.locator('[data-testid="incidents"] tr[data-incident]').evaluateAll((rows, known) => rows.map((r) => (r as HTMLElement).dataset.incident!).filter((id) => !known.includes(id)), [...before]);
    await expect.poll(async () => (await newIds()).length, { timeout: 30_000, interval: 500 }).toBeGreaterThan(0);
    const id = (await newIds())[0];
    const row = page.locator(`[data-testid="incidents"] tr[data-incident="${id}"]`);
    await shot(page, '11-incident-appeared');
    await row.locator('a').first().click();
    await page.locator('[data-testid="incident-status"]').waitFor();
    await page.locator('[data-testid="evidence-charts"] canvas').first().waitFor();
    await shot(page, '12-incident');

    // A playbook may already have contained it (isolation or rollback); otherwise the operator rolls back.
    const weightOfV2 = async () => (await stack.api('/api/v1/models')).body.models.find((m: any) => m.name === 'support-bot').weights.v2 ?? 0;
    if ((await weightOfV2()) > 0 && (await page.locator('button[data-action="rollback"]').count())) {
      await page.locator('button[data-action="rollback"]').click();
      const dialog = page.locator('dialog[data-testid="rollback-dialog"]');
      await dialog.locator('button[data-action="confirm"]').click();
      const result = dialog.locator('[data-testid="rollback-result"]');
      await result.waitFor({ timeout: 20_000 });
      expect(await result.textContent()).toContain('v2 → v1');
      await shot(page, '13-incident-rollback-result');
      await dialog.locator('button[data-action="close"]').click();
    }
    stack.sims.v2.setFaults({});
    expect(await weightOfV2()).toBe(0);
    await page.locator('[data-testid="timeline"] li[data-kind="rollback"], [data-testid="timeline"] li[data-kind="contained"]').first().waitFor({ timeout: 10_000 });

    if (await page.locator('button[data-action="resolve"]').count()) {
      await page.locator('button[data-action="resolve"]').click();
      await page.locator('dialog[data-testid="resolve-dialog"] button[data-action="confirm"]').click();
      await page.locator('[data-testid="incident-status"]', { hasText: 'resolved' }).waitFor();
    }
    if (!(await hasEndpoint('GET', '/api/v1/incidents/INC-none/postmortem'))) {
      console.warn('[dashboard tests] postmortem step SKIPPED: the server has no GET /api/v1/incidents/{id}/postmortem');
    } else {
      const postmortem = page.locator('[data-testid="postmortem"] article.markdown');
      await postmortem.locator('h1, h2').first().waitFor({ timeout: 10_000 });
      expect(await postmortem.textContent()).toContain(id);
      await shot(page, '14-postmortem');
    }
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an operator isolates a version from the model page', async (t) => {
    if (!(await hasEndpoint('POST', '/api/v1/models/no-such-model/versions/v0/isolate'))) {
      console.warn('[dashboard tests] isolate SKIPPED: the server has no POST /api/v1/models/{name}/versions/{version}/isolate');
      t.skip();
    }
    // A canary arm next to whatever serves now (v1 after a rollback, v2 otherwise).
    const reg = await stack.api('/api/v1/models/support-bot/versions', {
      method: 'POST',
      body: { version: 'v3', upstream: { url: `${stack.sims.v1.url}/v1`, model: 'sim-chat' }, metadata: { gitSha: 'c0ffee1234' } },
    });
    expect([200, 201]).toContain(reg.status);
    const serving = Object.entries((await stack.api('/api/v1/models')).body.models.find((m: any) => m.name === 'support-bot').weights as Record<string, number>).find(([, w]) => w > 0)![0];
    const put = await stack.api('/api/v1/models/support-bot/route', { method: 'PUT', body: { weights: { [serving]: 50, v3: 50 }, reason: 'canary v3' } });
    expect(put.status).toBe(200);

    const { page, errors } = await newTab();
    await signIn(page, stack.keys.operator);
    await page.goto(`${stack.url}/#/models/support-bot`);
    const row = page.locator('[data-testid="versions"] tr[data-version="v3"]');
    await row.locator('td', { hasText: '50%' }).waitFor();
    await row.locator('button[data-action="isolate"]').click();
    await page.locator('dialog[data-testid="isolate-dialog"] button[data-action="confirm"]').click();
    await page.locator('.flash-ok', { hasText: 'v3 isolated.' }).waitFor();
    await row.locator('.badge-faulty').waitFor();
    const weights = (await stack.api('/api/v1/models')).body.models.find((m: any) => m.name === 'support-bot').weights;
    expect(weights.v3 ?? 0).toBe(0);
    expect(weights[serving]).toBe(100);
    await shot(page, '15-isolated');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('an operator starts a canary deployment and aborts it', async (t) => {
    if (!(await hasEndpoint('POST', '/api/v1/models/no-such-model/deployments'))) {
      console.warn('[dashboard tests] deploy/abort SKIPPED: the server has no POST /api/v1/models/{name}/deployments');
      t.skip();
    }
    const reg = await stack.api('/api/v1/models/support-bot/versions', { method: 'POST', body: { version: 'v4', upstream: { url: `${stack.sims.v1.url}/v1`, model: 'sim-chat' } } });
    expect([200, 201]).toContain(reg.status);
    const { page, errors } = await newTab();
    await signIn(page, stack.keys.operator);
    await page.goto(`${stack.url}/#/models/support-bot`);
    await page.locator('button[data-action="deploy"]').click();
    const dialog = page.locator('dialog[data-testid="deploy-dialog"]');
    await dialog.locator('select[name="version"]').selectOption('v4');
    await dialog.locator('input[name="steps"]').fill('10, 100');
    // Long steps: the deployment is still running when the operator aborts it.
    await dialog.locator('input[name="stepSeconds"]').fill('600');
    await dialog.locator('button[data-action="confirm"]').click();
    const started = dialog.locator('code');
    await started.waitFor({ timeout: 20_000 });
    const id = (await started.textContent())!;
    expect(id.length).toBeGreaterThan(3);
    await dialog.locator('button[data-action="close"]').click();

    const card = page.locator(`[data-testid="deployments"] [data-deployment="${id}"]`);
    await card.locator('button[data-action="abort"]').waitFor({ timeout: 10_000 });
    await shot(page, '16-deployment-running');
    await card.locator('button[data-action="abort"]').click();
    await page.locator('dialog[data-testid="abort-dialog"] button[data-action="confirm"]').click();
    await card.locator('.badge-aborted').waitFor({ timeout: 10_000 });
    expect((await stack.api(`/api/v1/deployments/${id}`)).body.deployment.status).toBe('aborted');
    const weights = (await stack.api('/api/v1/models')).body.models.find((m: any) => m.name === 'support-bot').weights;
    expect(weights.v4 ?? 0).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});
