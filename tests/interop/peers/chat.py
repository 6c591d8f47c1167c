#!/usr/bin/python3
"""Round trip of one chat message between two accounts on two servers.

Usage (inside the netns; /usr/bin/python3 + python3-slixmpp 1.8):
  chat.py [--cafile CA | --insecure] [--timeout S] JID1 PASS1 JID2 PASS2

Both accounts log in (c2s STARTTLS, address from DNS of the JID's domain),
JID1 sends a chat message with an emoji to bare JID2, JID2 checks the body
and answers, JID1 checks the answer. Exit 0 on success, 1 on failure or
timeout. Bodies are printed so a log shows what went over s2s.
"""
import argparse
import asyncio
import logging
import ssl
import sys

import slixmpp

PING = "hello from {} \U0001F339 (rose), caf\u00e9"
PONG = "hi back from {} \U0001F600 (grin), na\u00efve"


class Client(slixmpp.ClientXMPP):
    def __init__(self, jid, password, cafile, insecure):
        super().__init__(jid, password)
        ctx = ssl.create_default_context(cafile=cafile) if cafile else ssl.create_default_context()
        if insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        self.ssl_context = ctx
        self.ready = asyncio.get_event_loop().create_future()
        self.inbox = asyncio.Queue()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)
        # "message" fires only for messages with a <body/>; bounces (type=error)
        # from Prosody have none.
        self.add_event_handler("message_error", self.on_message)
        self.add_event_handler("failed_auth", lambda _: self._fail("auth failed"))
        self.add_event_handler("connection_failed", lambda e: self._fail("connection failed: %s" % e))

    def _fail(self, why):
        if not self.ready.done():
            self.ready.set_exception(RuntimeError("%s: %s" % (self.boundjid.bare, why)))

    async def on_start(self, _):
        self.send_presence()
        await self.get_roster()
        if not self.ready.done():
            self.ready.set_result(True)

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal", "error"):
            self.inbox.put_nowait(msg)  # an error with a body arrives twice: harmless


async def expect(client, sender, body, timeout):
    while True:
        msg = await asyncio.wait_for(client.inbox.get(), timeout)
        if msg["type"] == "error":
            raise RuntimeError("%s got error from %s: %s" % (client.boundjid.bare, msg["from"],
                                                                 msg["error"]["condition"]))
        if msg["from"].bare == sender and msg["body"] == body:
            print("OK   %s <- %s: %s" % (client.boundjid.bare, sender, body), flush=True)
            return
        print("skip %s <- %s: %r" % (client.boundjid.bare, msg["from"], msg["body"]), flush=True)


async def run(a, b, timeout):
    for c in (a, b):
        c.connect()
    await asyncio.wait_for(asyncio.gather(a.ready, b.ready), timeout)
    print("both online: %s %s" % (a.boundjid, b.boundjid), flush=True)
    ping = PING.format(a.boundjid.bare)
    a.send_message(mto=b.boundjid.bare, mbody=ping, mtype="chat")
    await expect(b, a.boundjid.bare, ping, timeout)
    pong = PONG.format(b.boundjid.bare)
    b.send_message(mto=a.boundjid.bare, mbody=pong, mtype="chat")
    await expect(a, b.boundjid.bare, pong, timeout)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cafile")
    p.add_argument("--insecure", action="store_true", help="do not verify the c2s certificate")
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--debug", action="store_true")
    p.add_argument("jid1"); p.add_argument("pass1"); p.add_argument("jid2"); p.add_argument("pass2")
    o = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if o.debug else logging.ERROR,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    a = Client(o.jid1, o.pass1, o.cafile, o.insecure)
    b = Client(o.jid2, o.pass2, o.cafile, o.insecure)
    rc = 0
    try:
        loop.run_until_complete(run(a, b, o.timeout))
        print("PASS %s <-> %s" % (o.jid1, o.jid2), flush=True)
    except Exception as e:  # noqa: BLE001 - report anything, exit 1
        print("FAIL %s <-> %s: %s: %s" % (o.jid1, o.jid2, type(e).__name__, e), flush=True)
        rc = 1
    finally:
        async def close():
            futs = [c.disconnect(wait=1.0) for c in (a, b)]
            await asyncio.wait_for(asyncio.gather(*futs, return_exceptions=True), 5)
        try:
            loop.run_until_complete(close())
        except Exception:  # noqa: BLE001 - best effort, we exit anyway
            pass
        for t in asyncio.all_tasks(loop):
            t.cancel()
        loop.run_until_complete(asyncio.sleep(0))
    sys.exit(rc)


if __name__ == "__main__":
    main()
