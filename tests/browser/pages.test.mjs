// The web pages (/, /login, /dashboard) in headless Debian chromium against a running
// local-dev (MEM0_BASE_URL, started by run.sh). Every page fails its test on a console
// error, an uncaught exception or an unexpected dialog; screenshots at desktop and
// phone width go to tests/artifacts/screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = process.env.MEM0_BASE_URL;
if (!BASE) throw new Error('MEM0_BASE_URL is not set: run tests/browser/run.sh');
// A second local-dev whose access tokens live 3 s.
const SHORT = process.env.MEM0_SHORT_TTL_URL;
if (!SHORT) throw new Error('MEM0_SHORT_TTL_URL is not set: run tests/browser/run.sh');
const SHOTS = process.env.MEM0_SCREENSHOT_DIR || path.join(here, '..', 'artifacts', 'screenshots');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
// CI's fonts once ran 8 px wider on a phone than this machine's DejaVu; 0.06em of extra
// letter spacing covers that with room to spare.
const WIDER_FONTS = '0.06em';
const PASSWORD = 'violet harbor lantern quietly';
const TIMEOUT_MS = 10_000;

let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

/* ---------- helpers ---------- */

let counter = 0;
function uniqueEmail(tag) {
  counter += 1;
  return `${tag}.${process.pid}.${Date.now().toString(36)}.${counter}@example.com`;
}

/** The API over plain HTTP, for setting up data the test then looks at in the browser. */
async function api(route, { method = 'GET', body, token, base = BASE } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(base + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

async function signupByApi(email, name = 'Test Person') {
  return (await signupAnswer(email, name)).user;
}

/** The whole signup answer: the user, and the session's refresh_token. */
async function signupAnswer(email, name = 'Test Person', base = BASE) {
  const res = await api('/auth/signup/individual', { method: 'POST', body: { email, password: PASSWORD, name }, base });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

/** A JWT-shaped token (not signed by the server) whose payload has the given `exp`. */
function craftToken(exp) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const payload = { user_id: 1, email: 'someone@example.com', account_type: 'individual', role: 'user', exp,
    iat: exp - 86400, iss: 'mem0-auth', aud: 'mem0-api', jti: 'crafted' };
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}.${Buffer.from('not a signature').toString('base64url')}`;
}

/**
 * Runs `body` with a page in a fresh browser context (own localStorage), watching for
 * console errors, page errors and dialogs. An HTTP error status the test provokes on
 * purpose is declared with allow(status, pathname); chromium logs those as console errors.
 */
async function withPage(options, body) {
  const base = options.base || BASE;
  const context = await browser.newContext({ viewport: DESKTOP, baseURL: base, colorScheme: options.colorScheme || 'light' });
  context.setDefaultTimeout(TIMEOUT_MS);
  if (options.clipboard) await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  const page = await context.newPage();
  const problems = [];
  const allowed = [];
  const confirmAnswers = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const status = /status of (\d{3})/.exec(msg.text());
    const where = msg.location().url ? new URL(msg.location().url).pathname : '';
    if (status && allowed.some((a) => a.status === Number(status[1]) && a.path === where)) return;
    problems.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('dialog', async (dialog) => {
    if (dialog.type() === 'confirm' && confirmAnswers.length) {
      if (confirmAnswers.shift()) await dialog.accept();
      else await dialog.dismiss();
      return;
    }
    problems.push(`unexpected ${dialog.type()} dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
  const watched = {
    page,
    context,
    allow(status, pathname) { allowed.push({ status, path: pathname }); },
    /** The next window.confirm() is expected, and answered yes (true) or no. */
    answerNextConfirm(yes) { confirmAnswers.push(yes); },
  };
  try {
    await body(watched);
    assert.deepEqual(problems, [], 'the page reported problems');
  } finally {
    await context.close();
  }
}

async function storage(page) {
  return page.evaluate(() => ({ token: localStorage.getItem('mem0_token'), user: localStorage.getItem('mem0_user') }));
}

async function setStorage(page, token, user) {
  await page.evaluate(([t, u]) => {
    localStorage.setItem('mem0_token', t);
    if (u) localStorage.setItem('mem0_user', u);
  }, [token, user ? JSON.stringify(user) : null]);
}

async function focusedId(page) {
  return page.evaluate(() => document.activeElement && document.activeElement.id);
}

/** axe-core's WCAG 2.1 A/AA rules (labels, contrast, names, landmarks, ...) find nothing. */
async function assertAccessible(page, what) {
  const violations = await page.evaluate(async (source) => {
    if (!window.axe) (0, eval)(source);
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  }, AXE_SOURCE);
  assert.deepEqual(violations, [], `accessibility problems on ${what}`);
}

/**
 * Screenshots at desktop and phone width (the page stays usable while resized: no
 * sideways scrolling at either width, even with wider fonts), then back to desktop.
 */
async function shoot(page, name, locator) {
  for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const { overflow, culprits, widened } = await page.evaluate((spacing) => {
      // Other machines' fonts run wider than this one's: measure with every letter spaced
      // out a little, through a constructed sheet (CSSOM, which the pages' CSP allows).
      const wider = new CSSStyleSheet();
      wider.replaceSync(`* { letter-spacing: ${spacing} !important; }`);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, wider];
      const widened = getComputedStyle(document.body).letterSpacing !== 'normal';
      // The innermost visible elements reaching past the right edge, to say what to fix.
      const edge = window.innerWidth;
      const reachesPast = (node) => {
        const range = document.createRange();
        range.selectNodeContents(node);
        return range.getBoundingClientRect().right > edge + 0.5;
      };
      // Boxes that reach past the edge, and boxes whose own text does without them.
      const wide = [...document.body.querySelectorAll('*')].filter((e) => e.getBoundingClientRect().right > edge + 0.5
        || [...e.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && reachesPast(n)));
      const innermost = wide.filter((e) => !wide.some((other) => other !== e && e.contains(other)));
      const describe = (e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className ? '.' + String(e.className).split(' ').join('.') : ''}`
        + ` (${Math.round(e.getBoundingClientRect().width)}px)`;
      const result = { overflow: document.documentElement.scrollWidth - edge, culprits: innermost.slice(0, 5).map(describe), widened };
      document.adoptedStyleSheets = document.adoptedStyleSheets.filter((sheet) => sheet !== wider);
      return result;
    }, WIDER_FONTS);
    assert.ok(widened, 'the widened text for the sideways check did not apply');
    assert.ok(overflow <= 0, `${name} scrolls sideways by ${overflow}px at ${label} width (letters ${WIDER_FONTS} wider): ${culprits.join(', ')}`);
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const file = path.join(SHOTS, `${name}-${label}.png`);
    if (locator) await locator.screenshot({ path: file });
    else await page.screenshot({ path: file, fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}

async function fillSignup(page, { name, email, password }) {
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill(password);
}

async function loginThroughPage(page, email, password) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/dashboard');
}

function memoryItems(page) {
  return page.locator('#memories-list > li');
}

/* ---------- tests ---------- */

test('signup, logout, login, contexts, memories, search, token copy, logout, dashboard closed', async () => {
  await withPage({ clipboard: true }, async ({ page, answerNextConfirm }) => {
    const email = uniqueEmail('journey');

    // Sign up: the user is logged in at once, stored exactly as login stores it.
    const response = await page.goto('/');
    // Everything below runs under the pages' real security headers.
    assert.match(response.headers()['content-security-policy'], /default-src 'self'/);
    assert.equal(response.headers()['x-frame-options'], 'DENY');
    await assertAccessible(page, 'the signup page');
    await shoot(page, 'signup');
    await fillSignup(page, { name: 'Journey Tester', email, password: PASSWORD });
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL('**/dashboard');
    let stored = await storage(page);
    let user = JSON.parse(stored.user);
    assert.equal(user.jwt_token, stored.token);
    assert.equal(user.email, email);
    assert.equal(user.account_type, 'individual');
    await page.locator('#user-email', { hasText: email }).waitFor();
    assert.equal(await page.locator('#user-account-type').textContent(), 'Individual');
    assert.equal(await page.locator('#user-name').textContent(), 'Journey Tester');

    // Logout revokes the token on the server and clears both keys.
    const signupToken = stored.token;
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.waitForURL('**/login');
    assert.deepEqual(await storage(page), { token: null, user: null });
    assert.equal((await api('/auth/me', { token: signupToken })).status, 401);

    await assertAccessible(page, 'the login page');
    await shoot(page, 'login');

    // Log in: mem0_token is user.jwt_token, mem0_user is the JSON of the login's user.
    await page.getByLabel('Email').fill(email);
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL('**/dashboard');
    stored = await storage(page);
    user = JSON.parse(stored.user);
    assert.ok(stored.token && stored.token !== signupToken);
    assert.equal(user.jwt_token, stored.token);
    assert.deepEqual(Object.keys(user).sort(),
      ['account_type', 'email', 'email_verified', 'jwt_token', 'name', 'role', 'user_id']);
    const token = stored.token;
    await page.locator('#contexts-status', { hasText: 'No contexts yet' }).waitFor();

    // Create a context: it opens at once.
    await page.getByLabel('New context name').fill('my-project');
    await page.getByLabel('Description (optional)').fill('Notes for my project');
    await page.getByRole('button', { name: 'Create context' }).click();
    await page.locator('#context-panel-title', { hasText: 'my-project' }).waitFor();
    assert.equal(await focusedId(page), 'context-panel-title');
    await page.locator('#contexts-list .context-name', { hasText: 'my-project' }).waitFor();

    // Add two memories, newest first.
    await page.getByLabel('New memory').fill('Deploy with sam deploy --guided');
    await page.getByLabel('Tags (optional, comma separated)').fill('ops, deploy');
    await page.getByRole('button', { name: 'Add memory' }).click();
    await memoryItems(page).first().locator('.memory-text', { hasText: 'Deploy with sam deploy' }).waitFor();
    await page.getByLabel('New memory').fill('Lunch order: tacos for everyone');
    await page.getByRole('button', { name: 'Add memory' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#memories-list > li').length === 2);
    assert.match(await memoryItems(page).first().textContent(), /tacos/);
    assert.deepEqual(await memoryItems(page).nth(1).locator('.tag').allTextContents(), ['ops', 'deploy']);
    await page.locator('#contexts-list .context-meta', { hasText: '2 memories' }).waitFor();

    // Search finds the matching memory only; Clear brings both back.
    await page.getByLabel('Search memories').fill('deploy');
    await page.getByLabel('Search memories').press('Enter');
    await page.locator('#memories-status', { hasText: 'Results for "deploy"' }).waitFor();
    assert.equal(await memoryItems(page).count(), 1);
    assert.match(await memoryItems(page).first().textContent(), /sam deploy/);
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#memories-list > li').length === 2);

    // Delete a memory.
    await page.getByRole('button', { name: /Delete memory: Lunch order/ }).click();
    await page.waitForFunction(() => document.querySelectorAll('#memories-list > li').length === 1);
    const left = await api('/contexts/my-project/memories', { token });
    assert.deepEqual(left.body.memories.map((m) => m.text), ['Deploy with sam deploy --guided']);

    await assertAccessible(page, 'the dashboard with a context open');
    await shoot(page, 'dashboard-context');

    // Copy the token: the clipboard holds exactly the token.
    await page.getByRole('button', { name: 'Copy token' }).click();
    await page.locator('#token-copy-status', { hasText: 'Token copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);

    // Reveal: the token and ready-to-paste snippets for the shell, curl and MCP.
    assert.equal(await page.locator('#token-value').textContent(), '');
    await page.getByRole('button', { name: 'Reveal token' }).click();
    assert.equal(await page.locator('#token-value').textContent(), token);
    assert.equal(await page.locator('#token-reveal').getAttribute('aria-expanded'), 'true');
    assert.equal(await page.locator('#snippet-shell').textContent(),
      `export MEM0_USER_TOKEN=${token}\nexport MEM0_API_URL=${BASE}\n./client/mem0 recall --context my-project`);
    assert.equal(await page.locator('#snippet-curl').textContent(),
      `curl -H "Authorization: Bearer $MEM0_USER_TOKEN" ${BASE}/contexts`);
    await page.getByLabel('Folder of your mem0 checkout').fill('/home/me/mem0/');
    const mcp = JSON.parse(await page.locator('#snippet-mcp').textContent());
    assert.deepEqual(mcp, { 'mcp.servers': { mem0: { command: '/home/me/mem0/client/mem0', args: ['mcp'],
      env: { MEM0_JWT_TOKEN: token, MEM0_API_URL: BASE } } } });
    await page.getByRole('button', { name: 'Copy', exact: true }).last().click();
    await page.locator('#token-copy-status', { hasText: 'MCP server settings (JSON) snippet copied' }).waitFor();
    assert.deepEqual(JSON.parse(await page.evaluate(() => navigator.clipboard.readText())), mcp);

    // Expiry: the date from the token's exp, and a countdown that moves.
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp;
    assert.ok(exp * 1000 > Date.now() + 23 * 3600 * 1000, 'a fresh token lives about 24 h');
    const countdown = page.locator('#token-countdown');
    const before = await countdown.textContent();
    assert.match(before, /^in 2[34] h \d\d min \d\d s\.$/);
    await page.waitForFunction((text) => document.getElementById('token-countdown').textContent !== text, before);
    await assertAccessible(page, 'the revealed token panel');
    await shoot(page, 'token-panel', page.locator('#token-panel'));

    // Deleting a context asks first; dismissing keeps it, confirming deletes it.
    answerNextConfirm(false);
    await page.getByRole('button', { name: 'Delete context my-project' }).click();
    assert.equal(await page.locator('#contexts-list > li').count(), 1, 'nothing is deleted without a yes');
    assert.equal((await api('/contexts/my-project', { token })).status, 200);
    answerNextConfirm(true);
    await page.getByRole('button', { name: 'Delete context my-project' }).click();
    await page.locator('#contexts-status', { hasText: 'Deleted context "my-project"' }).waitFor();
    assert.equal(await page.locator('#contexts-list > li').count(), 0);
    assert.equal((await api('/contexts/my-project', { token })).status, 404);

    // Log out, and the dashboard is closed.
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.waitForURL('**/login');
    assert.deepEqual(await storage(page), { token: null, user: null });
    assert.equal((await api('/contexts', { token })).status, 401, 'logout revoked the token');
    await page.goto('/dashboard');
    await page.waitForURL('**/login');
    assert.equal(new URL(page.url()).pathname, '/login');
  });
});

test('a dialog nobody expected fails the page (the XSS test relies on it)', async () => {
  const error = await withPage({}, async ({ page }) => {
    await page.goto('/login');
    await page.evaluate(() => setTimeout(() => window.alert('boo'), 0));
    await page.waitForTimeout(200);
  }).then(() => null, (e) => e);
  assert.ok(error && /unexpected alert dialog: boo/.test(error.message), String(error));
});

test('an expired, garbage or forged token in localStorage sends the dashboard to /login', async () => {
  const now = Math.floor(Date.now() / 1000);
  for (const [what, token] of [['expired', craftToken(now - 3600)], ['garbage', 'garbage'], ['three garbage parts', 'a.b.c']]) {
    await withPage({}, async ({ page }) => {
      await page.goto('/login');
      await setStorage(page, token, { email: 'someone@example.com', jwt_token: token });
      await page.goto('/dashboard');
      await page.waitForURL('**/login?session=ended');
      assert.equal(new URL(page.url()).pathname, '/login', what);
      assert.deepEqual(await storage(page), { token: null, user: null }, `${what} token is cleared`);
      assert.ok(await page.locator('#session-ended').isVisible(), 'the login page says why');
    });
  }
  // Live-looking but not signed by the server: the API refuses it and the page leaves.
  await withPage({}, async ({ page, allow }) => {
    allow(401, '/auth/me');
    allow(401, '/contexts');
    allow(401, '/auth/sessions');
    await page.goto('/login');
    await setStorage(page, craftToken(now + 3600), null);
    await page.goto('/dashboard');
    await page.waitForURL('**/login?session=ended');
    assert.deepEqual(await storage(page), { token: null, user: null });
  });
});

test('the token countdown ticks, and at zero the dashboard sends the user to log in again', async () => {
  const user = await signupByApi(uniqueEmail('clock'));
  await withPage({}, async ({ page }) => {
    // The page's clock is under the test's control; the server's is not touched.
    await page.clock.install({ time: Date.now() });
    await page.goto('/login');
    await setStorage(page, user.jwt_token, user);
    await page.goto('/dashboard');
    await page.locator('#contexts-status', { hasText: 'No contexts yet' }).waitFor();
    const countdown = page.locator('#token-countdown');
    await page.clock.fastForward(1000);
    const first = await countdown.textContent();
    await page.clock.fastForward(60_000);
    const later = await countdown.textContent();
    const seconds = (text) => {
      const [, h, m, sec] = /^in (\d+) h (\d\d) min (\d\d) s\.$/.exec(text).map(Number);
      return h * 3600 + m * 60 + sec;
    };
    assert.equal(seconds(first) - seconds(later), 60, `${first} then ${later}`);
    await page.clock.fastForward('24:00:00');
    await page.waitForURL('**/login?session=ended');
    assert.deepEqual(await storage(page), { token: null, user: null });
    assert.ok(await page.locator('#session-ended').isVisible());
  });
});

/** The refresh requests a page makes, by status. */
function watchRefreshes(page) {
  const statuses = [];
  page.on('response', (response) => {
    if (new URL(response.url()).pathname === '/auth/refresh') statuses.push(response.status());
  });
  return statuses;
}

test('on 3 s access tokens the dashboard renews silently and keeps working', async () => {
  const email = uniqueEmail('renew');
  await signupAnswer(email, 'Long Runner', SHORT);
  await withPage({ base: SHORT }, async ({ page }) => {
    const refreshes = watchRefreshes(page);
    await loginThroughPage(page, email, PASSWORD);
    const first = (await storage(page)).token;
    assert.ok(await page.evaluate(() => localStorage.getItem('mem0_refresh_token')), 'the login keeps the refresh token');
    await page.locator('#contexts-status', { hasText: 'No contexts yet' }).waitFor();
    const started = Date.now();
    // Through several lifetimes, using the page all along.
    for (let i = 0; i < 4; i += 1) {
      await page.waitForTimeout(2200);
      await page.getByLabel('New context name').fill(`ctx-${i}`);
      await page.getByRole('button', { name: 'Create context' }).click();
      await page.locator('#context-panel-title', { hasText: `ctx-${i}` }).waitFor();
    }
    const seconds = (Date.now() - started) / 1000;
    assert.equal(new URL(page.url()).pathname, '/dashboard');
    const stored = await storage(page);
    assert.notEqual(stored.token, first, 'renewed');
    assert.equal(JSON.parse(stored.user).jwt_token, stored.token, 'mem0_user keeps step');
    assert.ok(refreshes.every((status) => status === 200), JSON.stringify(refreshes));
    // Every 2.4 s at most (80% of 3 s; iat is in whole seconds, so maybe sooner), no more.
    const least = Math.floor(seconds / 3);
    const most = Math.ceil(seconds / 1.4) + 2;
    assert.ok(refreshes.length >= least && refreshes.length <= most,
      `${refreshes.length} refreshes in ${seconds} s, expected ${least}..${most}`);
    assert.equal((await api('/auth/me', { token: stored.token, base: SHORT })).status, 200);
    assert.equal((await api('/contexts', { token: stored.token, base: SHORT })).body.contexts.length, 4);
    // The countdown follows the token in use.
    const exp = JSON.parse(Buffer.from(stored.token.split('.')[1], 'base64url').toString()).exp;
    assert.ok(exp * 1000 > Date.now() - 1000, 'the stored token is the live one');
  });
});

test('a refused token is renewed once for all the requests that met the 401, and they are retried', async () => {
  const answer = await signupAnswer(uniqueEmail('retry'));
  await withPage({}, async ({ page, allow }) => {
    for (const route of ['/auth/me', '/contexts', '/auth/sessions']) allow(401, route);
    const refreshes = watchRefreshes(page);
    await page.goto('/login');
    // Live-looking but not the server's: every first request is a 401.
    const forged = craftToken(Math.floor(Date.now() / 1000) + 3600);
    await setStorage(page, forged, answer.user);
    await page.evaluate((refresh) => localStorage.setItem('mem0_refresh_token', refresh), answer.refresh_token);
    await page.goto('/dashboard');
    await page.locator('#contexts-status', { hasText: 'No contexts yet' }).waitFor();
    await page.locator('#sessions-list > li').first().waitFor();
    assert.equal(new URL(page.url()).pathname, '/dashboard');
    assert.deepEqual(refreshes, [200], 'one refresh for the three refused requests');
    const stored = await storage(page);
    assert.notEqual(stored.token, forged);
    assert.equal((await api('/auth/me', { token: stored.token })).status, 200);
  });
});

test('Your sessions marks this device, logs out another, and Log out everywhere ends on /login', async () => {
  const email = uniqueEmail('sessions');
  const elsewhere = await signupAnswer(email);
  await withPage({}, async ({ page }) => {
    await loginThroughPage(page, email, PASSWORD);
    const rows = page.locator('#sessions-list > li');
    await page.waitForFunction(() => document.querySelectorAll('#sessions-list > li').length === 2);
    const mine = page.locator('#sessions-list > li[data-current="true"]');
    assert.equal(await mine.count(), 1, 'exactly one is this device');
    const text = await mine.textContent();
    assert.match(text, /This device/);
    assert.match(text, /Mozilla\/5\.0/, 'where: the user agent');
    assert.match(text, /from 127\.0\.0\.1/, 'where: the address');
    assert.match(text, /Signed in .+ · last used /);
    assert.equal(await rows.first().getAttribute('data-current'), 'true', 'this device comes first');
    await assertAccessible(page, 'the sessions panel');
    await shoot(page, 'sessions', page.locator('#sessions-panel'));

    // Log out the other device (the signup's session).
    await page.locator('#sessions-list > li[data-current="false"]').getByRole('button').click();
    await page.waitForFunction(() => document.querySelectorAll('#sessions-list > li').length === 1);
    await page.locator('#sessions-status', { hasText: 'Logged out' }).waitFor();
    assert.equal((await api('/auth/me', { token: elsewhere.user.jwt_token })).status, 401);
    const spent = await api('/auth/refresh', { method: 'POST', body: { refresh_token: elsewhere.refresh_token } });
    assert.equal(spent.status, 401, 'its refresh token is dead too');
    assert.equal((await api('/auth/me', { token: (await storage(page)).token })).status, 200, 'this one lives');

    // Log out everywhere: this device and one more.
    const other = await api('/auth/login', { method: 'POST', body: { email, password: PASSWORD } });
    assert.equal(other.status, 200);
    await page.getByRole('button', { name: 'Log out everywhere' }).click();
    await page.waitForURL('**/login');
    assert.deepEqual(await storage(page), { token: null, user: null });
    assert.equal(await page.evaluate(() => localStorage.getItem('mem0_refresh_token')), null);
    assert.equal((await api('/auth/me', { token: other.body.user.jwt_token })).status, 401);
  });
});

test('user text with HTML and script renders as inert text', async () => {
  const payload = `<img src=x onerror="window.__xss='img'"><script>window.__xss='script'</script>"'&amp;`;
  const tag = '<b onmouseover=alert(1)>t</b>';
  const user = await signupByApi(uniqueEmail('xss'), `<i>Mallory</i><script>window.__xss='name'</script>`);
  const token = user.jwt_token;
  assert.equal((await api('/contexts', { method: 'POST', token, body: { name: 'xss', description: payload } })).status, 201);
  assert.equal((await api('/contexts/xss/memories', { method: 'POST', token, body: { text: payload, tags: [tag] } })).status, 201);

  await withPage({}, async ({ page }) => {
    await page.goto('/login');
    await setStorage(page, token, user);
    await page.goto('/dashboard');
    await page.locator('#contexts-list .context-desc').waitFor();
    assert.equal(await page.locator('#contexts-list .context-desc').textContent(), payload);
    await page.getByRole('button', { name: /^xss/ }).click();
    const item = memoryItems(page).first();
    await item.waitFor();
    assert.equal(await item.locator('.memory-text').textContent(), payload);
    assert.equal(await item.locator('.tag').textContent(), tag);
    assert.equal(await page.locator('#context-panel-description').textContent(), payload);
    assert.equal(await page.locator('#user-name').textContent(), user.name);
    await item.locator('.tag').hover();
    await page.getByLabel('Search memories').fill(payload);
    await page.getByLabel('Search memories').press('Enter');
    await page.locator('#memories-status', { hasText: 'Results for' }).waitFor();
    assert.ok((await page.locator('#memories-status').textContent()).includes(payload));
    const injected = await page.evaluate(() => ({
      elements: document.querySelectorAll('main img, main script, main b, main i, header i, header script').length,
      flag: window.__xss,
    }));
    assert.deepEqual(injected, { elements: 0, flag: undefined });
  });
});

test('a long context shows 20 memories and loads the rest with More', async () => {
  const user = await signupByApi(uniqueEmail('pages'));
  const token = user.jwt_token;
  assert.equal((await api('/contexts', { method: 'POST', token, body: { name: 'long' } })).status, 201);
  for (let i = 1; i <= 23; i += 1) {
    const res = await api('/contexts/long/memories', { method: 'POST', token, body: { text: `memory number ${i}` } });
    assert.equal(res.status, 201);
  }
  await withPage({}, async ({ page }) => {
    await page.goto('/login');
    await setStorage(page, token, user);
    await page.goto('/dashboard');
    await page.getByRole('button', { name: /^long/ }).click();
    await page.waitForFunction(() => document.querySelectorAll('#memories-list > li').length === 20);
    assert.equal(await memoryItems(page).first().locator('.memory-text').textContent(), 'memory number 23', 'newest first');
    await page.getByRole('button', { name: 'More' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#memories-list > li').length === 23);
    assert.equal(await memoryItems(page).last().locator('.memory-text').textContent(), 'memory number 1');
    assert.equal(await page.getByRole('button', { name: 'More' }).isVisible(), false, 'nothing more to load');
  });
});

test('signing up with a taken email offers to log in with it', async () => {
  const email = uniqueEmail('taken');
  await signupByApi(email);
  await withPage({}, async ({ page, allow }) => {
    allow(409, '/auth/signup/individual');
    await page.goto('/');
    await fillSignup(page, { name: 'Second Try', email, password: PASSWORD });
    await page.getByRole('button', { name: 'Create account' }).click();
    const link = page.locator('#email-error a', { hasText: 'Log in with this email' });
    await link.waitFor();
    assert.match(await page.locator('#email-error').textContent(), /already has an account/);
    assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
    assert.equal(await focusedId(page), 'email');
    assert.equal(await link.getAttribute('href'), `/login?email=${encodeURIComponent(email)}`);
    await link.click();
    await page.waitForURL('**/login?email=*');
    assert.equal(await page.getByLabel('Email').inputValue(), email);
    assert.equal(await focusedId(page), 'password', 'the password is next');
    assert.deepEqual(await storage(page), { token: null, user: null });
  });
});

test('signup checks fields inline as the server would, and shows the server\'s refusals by the field', async () => {
  await withPage({}, async ({ page, allow }) => {
    allow(400, '/auth/signup/organization');
    let signupRequests = 0;
    page.on('request', (r) => { if (r.url().includes('/auth/signup/')) signupRequests += 1; });
    await page.goto('/');

    // Organization shows its own fields.
    assert.equal(await page.locator('#org-fields').isVisible(), false);
    await page.getByLabel('Organization', { exact: true }).check();
    await page.locator('#org-fields').waitFor();
    await assertAccessible(page, 'the organization signup form');
    await shoot(page, 'signup-organization');

    // Empty submit: every required field says what is missing; focus on the first.
    await page.getByRole('button', { name: 'Create account' }).click();
    assert.equal(await page.locator('#org-name-error').textContent(), "Enter your organization's name.");
    assert.equal(await page.locator('#name-error').textContent(), 'Enter your name.');
    assert.equal(await page.locator('#email-error').textContent(), 'Enter your email address.');
    assert.equal(await page.locator('#password-error').textContent(), 'Choose a password.');
    assert.equal(await focusedId(page), 'org-name');

    // The email is checked when focus leaves it, with the server's rule (a dot in the domain).
    for (const bad of ['not-an-email', 'someone@localhost', 'a b@example.com']) {
      await page.getByLabel('Email').fill(bad);
      await page.getByLabel('Email').blur();
      assert.equal(await page.locator('#email-error').textContent(), 'Enter a valid email address, like name@example.com.', bad);
    }
    await page.getByLabel('Email').fill('grace.hopper@example.com');
    assert.equal(await page.locator('#email-error').isVisible(), false, 'editing clears the error');

    // Password hints follow the policy as it is typed.
    const password = page.getByLabel(/^Password/);
    const strength = page.locator('#password-strength-text');
    await password.fill('short');
    assert.equal(await strength.textContent(), '5 of at least 12 characters.');
    await password.fill('grace.hopper-rocks-2031');
    assert.match(await strength.textContent(), /contains your email address/);
    await password.fill('password1234');
    assert.match(await strength.textContent(), /^Weak — /);
    assert.equal(await page.locator('#password-strength').getAttribute('data-level'), '1');
    await password.fill(PASSWORD);
    assert.match(await strength.textContent(), /^(Good|Strong)\.$/);

    // The email's local part in the password is refused here, without asking the server.
    await page.getByLabel('Organization name').fill('Hopper Labs');
    await page.getByLabel('Your name').fill('Grace Hopper');
    await password.fill('grace.hopper-rocks-2031');
    await page.getByRole('button', { name: 'Create account' }).click();
    assert.equal(await page.locator('#password-error').textContent(), "Don't build the password from your email address.");
    assert.equal(await focusedId(page), 'password');
    assert.equal(signupRequests, 0);

    // A guessable password: the server's reason appears under the password.
    await password.fill('password1234');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#password-error', { hasText: 'too easy to guess' }).waitFor();
    assert.equal(signupRequests, 1);
    assert.equal(await focusedId(page), 'password');
    await shoot(page, 'signup-errors');

    // A good one: the organization admin lands on the dashboard.
    await page.getByLabel('Domain (optional)').fill('hopper.example');
    await page.getByLabel('Size (optional)').selectOption('11-50');
    await page.getByLabel('Industry (optional)').fill('Compilers');
    await password.fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL('**/dashboard');
    const user = JSON.parse((await storage(page)).user);
    assert.equal(user.account_type, 'organization_admin');
    assert.equal(typeof user.organization_id, 'number');
    await page.locator('#user-account-type', { hasText: 'Organization admin' }).waitFor();
    assert.ok(await page.getByLabel('Visibility').isVisible(), 'organization members can share contexts');
  });
});

test('login says when the password is wrong and when it is rate limited', async () => {
  const email = uniqueEmail('wrong');
  await signupByApi(email);
  await withPage({}, async ({ page, allow }) => {
    allow(401, '/auth/login');
    allow(429, '/auth/login');
    await page.goto('/login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel(/^Password/).fill('not my password at all');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#form-error', { hasText: 'Wrong email or password.' }).waitFor();
    assert.equal(await page.getByLabel(/^Password/).inputValue(), '');
    assert.equal(await focusedId(page), 'password');
    assert.deepEqual(await storage(page), { token: null, user: null });
    await shoot(page, 'login-error');

    // Keep failing (bounded) until the server throttles this email.
    let status = 0;
    for (let i = 0; i < 30 && status !== 429; i += 1) {
      status = (await api('/auth/login', { method: 'POST', body: { email, password: 'still not it, sorry' } })).status;
    }
    assert.equal(status, 429);
    await page.getByLabel(/^Password/).fill('one more wrong guess');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#form-error', { hasText: 'Too many failed logins for this email.' }).waitFor();
    assert.match(await page.locator('#form-error').textContent(), /Try again in \d+ (seconds|minutes)\./);
  });
});

test('keyboard only: log in, create a context and add a memory', async () => {
  const email = uniqueEmail('keys');
  await signupByApi(email);
  await withPage({}, async ({ page }) => {
    const { keyboard } = page;
    await page.goto('/login');
    assert.equal(await focusedId(page), 'email', 'the email field has focus on arrival');
    await keyboard.type(email);
    await keyboard.press('Tab');
    assert.equal(await focusedId(page), 'password');
    await keyboard.type(PASSWORD);
    await keyboard.press('Tab');
    assert.equal(await focusedId(page), 'show-password');
    await keyboard.press('Space');
    assert.equal(await page.locator('#password').getAttribute('type'), 'text');
    await keyboard.press('Tab');
    assert.equal(await focusedId(page), 'login-submit');
    await keyboard.press('Tab');
    assert.equal(await focusedId(page), 'forgot-link');
    await keyboard.press('Tab');
    assert.equal(await focusedId(page), 'signup-link');
    await keyboard.press('Shift+Tab');
    await keyboard.press('Shift+Tab');
    await keyboard.press('Shift+Tab');
    await keyboard.press('Shift+Tab');
    assert.equal(await focusedId(page), 'password');
    await keyboard.press('Enter');
    await page.waitForURL('**/dashboard');
    await page.locator('#contexts-status', { hasText: 'No contexts yet' }).waitFor();

    // Skip link first, then the header's button, the unverified banner's Resend, then
    // the new-context form.
    await keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to main content');
    assert.ok(await page.locator('.skip-link').isVisible(), 'the skip link shows when focused');
    await keyboard.press('Tab');
    assert.equal(await focusedId(page), 'logout');
    await keyboard.press('Tab');
    assert.equal(await focusedId(page), 'verify-resend');
    await keyboard.press('Tab');
    assert.equal(await focusedId(page), 'context-name');
    await keyboard.type('keyboard-notes');
    await keyboard.press('Enter');
    await page.locator('#context-panel-title', { hasText: 'keyboard-notes' }).waitFor();
    assert.equal(await focusedId(page), 'context-panel-title');
    await keyboard.press('Tab');
    assert.equal(await focusedId(page), 'close-context-panel');
    await keyboard.press('Tab');
    assert.equal(await focusedId(page), 'memory-text');
    await keyboard.type('Typed without a mouse');
    await keyboard.press('Tab');
    await keyboard.type('keyboard');
    await keyboard.press('Enter');
    await memoryItems(page).first().locator('.memory-text', { hasText: 'Typed without a mouse' }).waitFor();
    assert.equal(await focusedId(page), 'memory-text', 'ready for the next memory');
  });
});

test('pages pass the accessibility checks in dark mode too', async () => {
  const email = uniqueEmail('dark');
  const user = await signupByApi(email);
  await api('/contexts', { method: 'POST', token: user.jwt_token, body: { name: 'dark', description: 'Night notes' } });
  await api('/contexts/dark/memories', { method: 'POST', token: user.jwt_token, body: { text: 'Stars', tags: ['sky'] } });
  await withPage({ colorScheme: 'dark' }, async ({ page }) => {
    await page.goto('/');
    await assertAccessible(page, 'the signup page (dark)');
    await page.goto('/login');
    await assertAccessible(page, 'the login page (dark)');
    await setStorage(page, user.jwt_token, user);
    await page.goto('/dashboard');
    await page.getByRole('button', { name: /^dark/ }).click();
    await memoryItems(page).first().waitFor();
    await page.getByRole('button', { name: 'Reveal token' }).click();
    await assertAccessible(page, 'the dashboard (dark)');
    await shoot(page, 'dashboard-dark');
  });
});

/** The invitation link in the newest mail to `email` in local-dev's outbox (run.sh names it). */
function mailedInviteLink(email) {
  const dir = process.env.MEM0_OUTBOX_DIR;
  if (!dir) throw new Error('MEM0_OUTBOX_DIR is not set: run tests/browser/run.sh');
  const mail = readdirSync(dir).sort().reverse()
    .map((name) => readFileSync(path.join(dir, name), 'utf8'))
    .find((text) => text.includes(`To: ${email}`));
  assert.ok(mail, `a mail to ${email}`);
  const link = /(https?:\/\/\S+\/invite\?token=[A-Za-z0-9_-]+)/.exec(mail);
  assert.ok(link, 'the mail carries the invitation link');
  return new URL(link[1]);
}

test('an admin invites from the dashboard; the invitee signs up from the mailed link and sees the shared context', async () => {
  const adminEmail = uniqueEmail('org-admin');
  const signup = await api('/auth/signup/organization', {
    method: 'POST',
    body: { user: { email: adminEmail, password: PASSWORD, name: 'Olga Admin' }, organization: { name: 'Browser Org' } },
  });
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  const admin = signup.body.user;
  const created = await api('/contexts', { method: 'POST', token: admin.jwt_token,
    body: { name: 'handbook', visibility: 'organization' } });
  assert.equal(created.status, 201);
  await api('/contexts/handbook/memories', { method: 'POST', token: admin.jwt_token, body: { text: 'Standup at nine' } });
  const invitee = uniqueEmail('invitee');

  await withPage({}, async ({ page }) => {
    await page.goto('/login');
    await setStorage(page, admin.jwt_token, admin);
    await page.goto('/dashboard');
    await page.locator('#org-summary', { hasText: 'Browser Org · your role: admin' }).waitFor();
    await page.getByLabel('Email', { exact: true }).fill(invitee);
    await page.getByLabel('Role', { exact: true }).selectOption('member');
    await page.getByRole('button', { name: 'Send invitation' }).click();
    await page.locator('#invite-status', { hasText: `Invitation mailed to ${invitee}` }).waitFor();
    await page.locator('#org-invitations li', { hasText: invitee }).waitFor();
    await page.locator('#org-members li', { hasText: 'Olga Admin (you)' }).waitFor();
    await assertAccessible(page, 'the dashboard with its organization section');
    await shoot(page, 'dashboard-organization');
  });

  const link = mailedInviteLink(invitee);
  await withPage({}, async ({ page }) => {
    await page.goto(link.pathname + link.search);
    await page.locator('#invite-title', { hasText: 'Join Browser Org' }).waitFor();
    await page.locator('#invite-summary', { hasText: 'as member' }).waitFor();
    assert.equal(await page.locator('#invite-email').inputValue(), invitee);
    await assertAccessible(page, 'the invitation page');
    await shoot(page, 'invite');
    await page.getByLabel('Your name').fill('Ivan Invitee');
    await page.getByLabel(/^Password/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account and join' }).click();
    await page.waitForURL('**/dashboard');
    const user = JSON.parse((await storage(page)).user);
    assert.equal(user.email, invitee);
    assert.equal(user.role, 'member');
    assert.equal(user.email_verified, true);
    const shared = page.locator('#contexts-list li', { hasText: 'handbook' });
    await shared.locator('.context-meta', { hasText: 'Shared with organization · by Olga Admin' }).waitFor();
    await shared.locator('.context-open').click();
    await page.locator('#memories-list li', { hasText: 'Standup at nine' }).waitFor();
    await page.locator('#org-members li', { hasText: 'Ivan Invitee (you)' }).waitFor();
    assert.equal(await page.locator('#org-admin').isHidden(), true, 'a member sees no admin controls');
  });

  // The link is single use.
  const again = await api('/invitations/preview', { method: 'POST', body: { token: link.searchParams.get('token') } });
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_token');
});

/* ---------- connected apps and activity ---------- */

/** An app the holder of `token` connected to `contexts` over OAuth: registration, consent decision, code exchange. */
async function connectApp(token, clientName, contexts) {
  const redirect = 'http://127.0.0.1:33418/callback';
  const registered = await api('/oauth/register', {
    method: 'POST', body: { redirect_uris: [redirect], client_name: clientName, token_endpoint_auth_method: 'none' },
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  const decided = await api('/oauth/authorize', {
    method: 'POST',
    token,
    body: {
      response_type: 'code', client_id: registered.body.client_id, redirect_uri: redirect,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
      state: 's', decision: 'allow', scopes: ['memories:read'], contexts,
    },
  });
  assert.equal(decided.status, 200, JSON.stringify(decided.body));
  // The grant is made when the client exchanges its code.
  const form = new URLSearchParams({
    grant_type: 'authorization_code', code: new URL(decided.body.redirect_to).searchParams.get('code'),
    code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', redirect_uri: redirect,
    client_id: registered.body.client_id, resource: `${BASE}/mcp`,
  });
  const exchanged = await fetch(`${BASE}/oauth/token`, { method: 'POST', body: form });
  assert.equal(exchanged.status, 200, await exchanged.text());
}

test('Connected apps lists an app by its name as text, shows its and a context\'s activity, and Revoke ends it', async () => {
  const email = uniqueEmail('apps');
  const user = await signupByApi(email);
  assert.equal((await api('/contexts', { method: 'POST', token: user.jwt_token, body: { name: 'proj' } })).status, 201);
  const hostile = '<img src=x onerror=alert(1)> Agent';
  await connectApp(user.jwt_token, hostile, ['proj']);
  await withPage({}, async ({ page }) => {
    await loginThroughPage(page, email, PASSWORD);
    const app = page.locator('#apps > li');
    await app.first().waitFor();
    assert.equal(await app.count(), 1);
    assert.equal(await app.locator('.app-name').textContent(), hostile, 'the name is text, not markup');
    assert.equal(await page.locator('#apps img').count(), 0);
    assert.match(await app.textContent(), /reads proj \(memories:read\)/);

    await app.locator('.app-activity').click();
    await page.locator('#app-activity-status', { hasText: 'No activity yet' }).waitFor();
    assert.equal(await page.locator('#app-activity-heading').textContent(), `What ${hostile} did`);

    await page.locator('#contexts-list li', { hasText: 'proj' }).locator('.context-open').click();
    await page.locator('#context-activity-toggle').click();
    await page.locator('#context-activity-status', { hasText: 'No activity yet' }).waitFor();
    await assertAccessible(page, 'the connected apps and activity views');
    await shoot(page, 'apps', page.locator('#apps-panel'));

    await app.locator('.app-revoke').click();
    await page.locator('#apps-status', { hasText: 'Revoked' }).waitFor();
    assert.equal(await page.locator('#apps > li').count(), 0);
    assert.deepEqual((await api('/auth/grants', { token: (await storage(page)).token })).body.grants, []);
  });
});
