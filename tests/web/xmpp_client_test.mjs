// A stock client library over WebSocket (RFC 7395): @xmpp/client logs in at
// ws://127.0.0.1:PORT/xmpp-websocket and exchanges messages both ways with @xmpp/client over
// TCP (xmpp://, STARTTLS) on the same parleyd.
//
// Environment: PARLEYD, PARLEYCTL (set by CTest, tests/web/CMakeLists.txt).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { client, xml } from '@xmpp/client';

import { kDomain, killOnExit, Parleyd } from './lib/parleyd.mjs';

// The test server's certificate is self-signed (parleyctl cert); only the TCP client checks it.
process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';

const kTimeoutMs = 10_000;
const server = new Parleyd();
killOnExit(server);
const clients = [];

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${kTimeoutMs} ms: ${what}`)),
                       kTimeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function connect(service, username, password) {
  const xmpp = client({ service, domain: kDomain, username, password, resource: 'node' });
  xmpp.reconnect.stop();  // a failed test must not retry in the background
  xmpp.on('error', () => {});  // start() rejects with it
  clients.push(xmpp);
  const address = await withTimeout(xmpp.start(), `${username} logs in over ${service}`);
  await xmpp.send(xml('presence'));
  return { xmpp, address };
}

// The next <message/> with a body that `xmpp` receives.
function nextMessage(xmpp, what) {
  return withTimeout(new Promise((resolve) => {
    const onStanza = (stanza) => {
      if (!stanza.is('message') || !stanza.getChildText('body')) return;
      xmpp.removeListener('stanza', onStanza);
      resolve(stanza);
    };
    xmpp.on('stanza', onStanza);
  }), what);
}

before(async () => {
  await server.start();
  server.adduser(`romeo@${kDomain}`, 'romeo-secret');
  server.adduser(`juliet@${kDomain}`, 'juliet-secret');
});

after(async () => {
  for (const xmpp of clients) await xmpp.stop().catch(() => {});
  const code = await server.stop();
  if (code !== 0) {
    console.error(server.logTail());
    server.cleanup();
    throw new Error(`parleyd exited with ${code} after SIGTERM`);
  }
  server.cleanup();
});

test('WebSocket and TCP clients exchange messages', { timeout: 60_000 }, async () => {
  const romeo = await connect(server.websocketUrl, 'romeo', 'romeo-secret');
  const juliet = await connect(`xmpp://127.0.0.1:${server.c2sPort}`, 'juliet', 'juliet-secret');
  assert.equal(romeo.address.bare().toString(), `romeo@${kDomain}`);
  assert.equal(juliet.address.bare().toString(), `juliet@${kDomain}`);
  assert.ok(juliet.xmpp.isSecure(), 'the TCP stream is TLS after STARTTLS');

  const atJuliet = nextMessage(juliet.xmpp, 'juliet receives romeo\'s message');
  await romeo.xmpp.send(xml('message', { to: juliet.address.toString(), type: 'chat' },
                            xml('body', {}, 'Wherefore art thou? 🌹')));
  const received = await atJuliet;
  assert.equal(received.getChildText('body'), 'Wherefore art thou? 🌹');
  assert.equal(received.attrs.from, romeo.address.toString());

  const atRomeo = nextMessage(romeo.xmpp, 'romeo receives juliet\'s reply');
  await juliet.xmpp.send(xml('message', { to: `romeo@${kDomain}`, type: 'chat' },
                             xml('body', {}, 'Here, on the balcony.')));
  const reply = await atRomeo;
  assert.equal(reply.getChildText('body'), 'Here, on the balcony.');
  assert.equal(reply.attrs.from, juliet.address.toString());
});
