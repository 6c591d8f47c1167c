// The web chat page in a real browser: Debian's chromium, headless, driven by playwright-core,
// against the real parleyd serving web/. Romeo signs up on the page, Juliet logs in (her
// account made with parleyctl); Romeo adds Juliet, she approves; a message with emoji typed in
// the text box and sent with the Send button reaches her, her reply comes back, and an image
// Romeo uploads (XEP-0363) shows up in her browser. Any request to a host other than the test
// server fails the test. Screenshots go to PARLEY_ARTIFACTS_DIR (tests/artifacts/web/).
//
// Environment: PARLEYD, PARLEYCTL (set by CTest), PARLEY_TRANSPORT ("websocket" or "bosh").
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { kDomain, killOnExit, Parleyd } from './lib/parleyd.mjs';

const kTransport = process.env.PARLEY_TRANSPORT || 'websocket';
const kArtifacts = path.join(process.env.PARLEY_ARTIFACTS_DIR || 'artifacts', kTransport);
const kStepTimeoutMs = 15_000;
const kBrowserArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
// A 64x48 PNG, half red, half blue: what Romeo uploads.
const kImageWidth = 64;
const kImage = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAEAAAAAwCAIAAAAuKetIAAAASElEQVR42u3PIQ0AAAgAMKIQgQj0V0SiAgb37QUek/' +
  'Uqe16FgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgMDVAnm34MQIDTc5AAAAAElFTkSuQmCC', 'base64');

assert.ok(['websocket', 'bosh'].includes(kTransport), `unknown PARLEY_TRANSPORT ${kTransport}`);

const server = new Parleyd();
killOnExit(server);
let browser = null;
const foreignRequests = [];  // anything not for the test server: the test fails
const transportsUsed = new Set();  // "websocket" and/or "bosh", as the pages connected
const pageErrors = [];

before(async () => {
  fs.mkdirSync(kArtifacts, { recursive: true });
  await server.start();
  server.adduser(`juliet@${kDomain}`, 'juliet-secret');
  // launch() starts chromium on a fresh temporary user-data-dir that it removes on close.
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: kBrowserArgs,
    timeout: 30_000,
  });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  const code = await server.stop();
  if (code !== 0) console.error(server.logTail());
  server.cleanup();
  assert.equal(code, 0, 'parleyd exits cleanly on SIGTERM');
});

// A browser context of its own (no shared storage) for one user, with every request checked.
async function openChat(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(kStepTimeoutMs);
  const ownOrigin = new URL(server.httpUrl).origin;
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.origin === ownOrigin || url.protocol === 'data:' || url.protocol === 'blob:') {
      if (url.pathname === '/http-bind') transportsUsed.add('bosh');
      return route.continue();
    }
    foreignRequests.push(`${name}: ${route.request().method()} ${url.href}`);
    return route.abort('blockedbyclient');
  });
  // What the page's Content-Security-Policy blocked: Converse reaching elsewhere, or the policy
  // breaking the page. Either fails the test.
  await context.exposeBinding('parleyReportViolation', (_source, text) => {
    pageErrors.push(`${name}: Content-Security-Policy: ${text}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      window.parleyReportViolation(`${event.violatedDirective} blocked ${event.blockedURI}`);
    });
  });
  const page = await context.newPage();
  // WebSocket connections are not routed; they are checked here.
  page.on('websocket', (socket) => {
    const url = new URL(socket.url());
    if (url.host !== new URL(ownOrigin).host) foreignRequests.push(`${name}: WebSocket ${url.href}`);
    if (url.pathname === '/xmpp-websocket') transportsUsed.add('websocket');
  });
  page.on('pageerror', (error) => pageErrors.push(`${name}: ${error.message}`));
  // Converse logs the server's stanza errors (e.g. PEP nodes it probes) with console.error;
  // those are not failures. A missing file of the page is.
  page.on('response', (response) => {
    if (response.status() >= 400) {
      pageErrors.push(`${name}: HTTP ${response.status()} for ${response.url()}`);
    }
  });
  const query = kTransport === 'bosh' ? '?transport=bosh' : '';
  await page.goto(`${server.httpUrl}${query}`);
  return page;
}

async function screenshot(page, name) {
  await page.screenshot({ path: path.join(kArtifacts, `${name}.png`) });
}

// Runs a step; on failure saves a screenshot of every page first.
async function step(pages, name, fn) {
  try {
    return await fn();
  } catch (error) {
    for (const [who, page] of Object.entries(pages)) {
      await screenshot(page, `failed-${name}-${who}`).catch(() => {});
    }
    error.message = `${name}: ${error.message}`;
    throw error;
  }
}

async function signUp(page, username, password) {
  await page.getByText('Create an account').click();
  const form = page.locator('form#converse-register');
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="password"]').fill(password);
  await form.locator('input[type="submit"]').click();
  await page.locator('converse-roster').waitFor();
}

async function logIn(page, username, password) {
  const form = page.locator('form#converse-login');
  await form.locator('input[name="jid"]').fill(username);  // the domain is locked
  await form.locator('input[name="password"]').fill(password);
  await form.locator('button[type="submit"], input[type="submit"]').first().click();
  await page.locator('converse-roster').waitFor();
}

async function addContact(page, jid) {
  await page.locator('converse-roster converse-dropdown button').first().click();
  await page.locator('a.add-contact').click();
  const form = page.locator('form.add-xmpp-contact');
  await form.locator('input[name="jid"]').fill(jid);
  await form.locator('button[type="submit"]').click();
}

async function approveRequest(page, displayName) {
  const alert = page.locator('converse-contact-approval-alert, .alert-info')
    .filter({ hasText: 'would like to be your contact' });
  const approve = alert.getByRole('button', { name: 'Approve' });
  if (await approve.count()) {
    await approve.click();
  } else {
    await page.locator('converse-roster-contact').filter({ hasText: displayName })
      .locator('converse-dropdown button').click();
    await page.locator('a.accept-xmpp-request').click();
  }
  await page.locator('converse-accept-contact-request-modal button[type="submit"]').click();
}

async function openChatWith(page, name) {
  await page.locator('converse-roster a.open-chat').filter({ hasText: name }).first().click();
  return page.locator('converse-chat').filter({ has: page.locator('textarea.chat-textarea') })
    .first();
}

async function sendMessage(chat, text) {
  const textarea = chat.locator('textarea.chat-textarea');
  await textarea.click();
  await textarea.pressSequentially(text);
  await chat.locator('button.send-button').click();
}

async function expectMessage(chat, text) {
  await chat.locator('.chat-msg__text').filter({ hasText: text }).first().waitFor();
}

test(`web chat over ${kTransport}: sign-up, contact, messages with emoji, image upload`,
     { timeout: 110_000 }, async () => {
  const romeo = await openChat('romeo');
  const juliet = await openChat('juliet');
  const pages = { romeo, juliet };

  await step(pages, 'login-page', async () => {
    await romeo.locator('form#converse-login').waitFor();
    await screenshot(romeo, '01-login-page');
  });
  await step(pages, 'sign-up', () => signUp(romeo, 'romeo', 'romeo-secret'));
  await step(pages, 'log-in', () => logIn(juliet, 'juliet', 'juliet-secret'));
  await screenshot(romeo, '02-romeo-signed-up');

  await step(pages, 'add-contact', () => addContact(romeo, `juliet@${kDomain}`));
  await step(pages, 'approve', () => approveRequest(juliet, `romeo@${kDomain}`));
  await step(pages, 'subscribed', async () => {
    // Both directions: each now sees the other as a contact, not as a pending request.
    await romeo.locator('converse-roster-contact').filter({ hasText: 'juliet' }).waitFor();
    await juliet.locator('converse-roster-contact').filter({ hasText: 'romeo' }).waitFor();
  });
  await screenshot(juliet, '03-juliet-approved');

  const kHello = 'Hello Juliet 👋🌹 from the web';
  const kReply = 'Hi Romeo 😊';
  const romeoChat = await step(pages, 'romeo-opens-chat', () => openChatWith(romeo, 'juliet'));
  await step(pages, 'romeo-sends', () => sendMessage(romeoChat, kHello));
  const julietChat = await step(pages, 'juliet-opens-chat', () => openChatWith(juliet, 'romeo'));
  await step(pages, 'juliet-receives', () => expectMessage(julietChat, kHello));
  await step(pages, 'juliet-replies', () => sendMessage(julietChat, kReply));
  await step(pages, 'romeo-receives', () => expectMessage(romeoChat, kReply));
  await screenshot(romeo, '04-romeo-chat');
  await screenshot(juliet, '05-juliet-chat');

  await step(pages, 'upload', async () => {
    await romeoChat.locator('input[type="file"]').setInputFiles({
      name: 'red.png', mimeType: 'image/png', buffer: kImage,
    });
  });
  await step(pages, 'image-arrives', async () => {
    const image = julietChat.locator('img.chat-image, converse-image img, .chat-msg img')
      .filter({ visible: true }).first();
    await image.waitFor();
    const src = await image.getAttribute('src');
    assert.ok(src.startsWith(server.httpUrl), `the image is served by parleyd: ${src}`);
    const width = await image.evaluate((element) => element.naturalWidth);
    assert.equal(width, kImageWidth, 'the uploaded image loaded and decoded in Juliet\'s browser');
  });
  await screenshot(romeo, '06-romeo-image');
  await screenshot(juliet, '07-juliet-image');

  assert.deepEqual([...transportsUsed], [kTransport], `the pages talked over ${kTransport} only`);
  assert.deepEqual(foreignRequests, [], 'no request leaves the test server');
  assert.deepEqual(pageErrors, [], 'no script errors and no missing files on the page');
});
