import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from './helpers/stack.js';

/** Debian's Chromium, installed by .ci/run (`apt-get install chromium`). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`explorer browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

let stack: TestStack;
let gatewayOrigin: string;

beforeAll(async () => {
  stack = await startTestStack({ env: { NODE_ENV: 'development', LOG_LEVEL: 'silent' } });
  gatewayOrigin = new URL(stack.gatewayUrl).origin;
});
afterAll(async () => {
  await stack?.close();
});

describe('the explorer page over HTTP', () => {
  it('answers a browser with the page before authentication, with a policy that forbids loading anything from elsewhere', async () => {
    const response = await fetch(stack.gatewayUrl, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const html = await response.text();
    expect(html).toContain('/explorer/explorer.js');
    expect(html).not.toMatch(/<script[^>]+src="https?:/);
    expect(html).toContain('PatientChart'); // the trusted operations are listed
    expect(html).toContain('npm run -s token -- --role CLINICIAN'); // the token hint
    expect(html).toContain('https://studio.apollographql.com/sandbox/explorer?endpoint=');
  });

  it('still answers a GraphQL GET that asks for JSON with 401 and no page', async () => {
    const response = await fetch(`${stack.gatewayUrl}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/graphql-response+json, application/json' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('serves its bundled scripts compressed, with validators', async () => {
    const script = await fetch(`${gatewayOrigin}/explorer/explorer.js`, { headers: { 'accept-encoding': 'br' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('content-encoding')).toBe('br');
    const etag = script.headers.get('etag')!;
    await script.arrayBuffer();
    const again = await fetch(`${gatewayOrigin}/explorer/explorer.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('is not served outside development', async () => {
    const test = await startTestStack();
    try {
      const page = await fetch(test.gatewayUrl, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(401);
      expect(((await page.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      expect((await fetch(`${new URL(test.gatewayUrl).origin}/explorer/explorer.js`)).status).toBe(404);
    } finally {
      await test.close();
    }
  });
});

/** What an editor shows (Monaco lays text out with non-breaking spaces). */
const text = async (locator: Locator) => ((await locator.textContent()) ?? '').replace(/\u00a0/g, ' ');

/** Replaces the focused editor's text; what Monaco closes by itself (brackets, quotes) after the cursor is deleted. */
async function replaceText(page: Page, text: string): Promise<void> {
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.insertText(text);
  await page.keyboard.press('Shift+ControlOrMeta+End');
  await page.keyboard.press('Delete');
}

describe.skipIf(!haveChromium)('the explorer in headless Chromium, offline', () => {
  let context: BrowserContext;
  let profile: string;
  beforeAll(async () => {
    // A fresh profile every run: nothing cached or stored from an earlier visit.
    profile = mkdtempSync(join(tmpdir(), 'hg-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 860 },
      // The machine has no network: Chromium's own background traffic is switched off, and the
      // test refuses any request that is not to the gateway.
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('loads with no request beyond the gateway, runs a query with a token and shows the answer', async () => {
    const page = await context.newPage();
    const elsewhere: string[] = [];
    const failed: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(gatewayOrigin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    page.on('requestfailed', (request) => failed.push(request.url()));
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));

    await page.goto(stack.gatewayUrl);
    // GraphiQL is up: the operation editor holds the default trusted operation.
    await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor({ timeout: 30_000 });
    await expect.poll(() => text(page.locator('.graphiql-query-editor')), { timeout: 15_000 }).toContain('query PatientSummary');
    await expect
      .poll(() => text(page.locator('.graphiql-editor-tool .monaco-editor >> visible=true')))
      .toContain('npm run -s token -- --role');

    // Paste a token into the header editor (open from the start), as a developer would.
    const token = await stack.token({ role: 'CLINICIAN', sub: 'prv-0001' });
    const tool = page.locator('.graphiql-editor-tool .monaco-editor >> visible=true');
    await tool.click();
    await replaceText(page, JSON.stringify({ authorization: `Bearer ${token}` }, null, 2));

    // The trusted operations are listed in the sidebar: open the chart, in a new tab with the same token.
    await page.getByRole('button', { name: /PatientChart/ }).click();
    const query = page.locator('.graphiql-query-editor .monaco-editor').first();
    await expect.poll(() => text(query)).toContain('query PatientChart($id: ID!)');
    await expect.poll(() => page.locator('.graphiql-tab-active').textContent()).toContain('PatientChart');
    await expect.poll(() => page.locator('.graphiql-tab').count()).toBe(2);

    // Its variable, then run it.
    await page.getByText('Variables', { exact: true }).click();
    await tool.click();
    await replaceText(page, '{ "id": "pat-000001" }');
    await page.getByText('Headers', { exact: true }).click();
    await expect.poll(() => text(tool)).toContain('"authorization": "Bearer ');
    await page.locator('.graphiql-execute-button').click();

    const response = page.locator('.result-window');
    const shown = () => text(response);
    await expect.poll(shown, { timeout: 20_000 }).toContain('"id": "pat-000001"');
    const answer = await shown();
    expect(answer).toContain('"allergies"');
    expect(answer).toContain('"careTeam"');
    expect(answer).not.toContain('"errors"');

    if (process.env.EXPLORER_SCREENSHOT) await page.screenshot({ path: process.env.EXPLORER_SCREENSHOT });
    expect(elsewhere).toEqual([]);
    expect(failed).toEqual([]);
    expect(problems).toEqual([]);
  });
});
