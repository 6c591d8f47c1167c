#!/usr/bin/python3
"""Federation checks with a real client library (slixmpp), run by federation.sh inside the test
network namespace. Each command logs its accounts in over c2s (found through DNS SRV), does one
check and exits 0 (PASS) or 1 (FAIL, with the reason on stdout).

  scenario.py pair JID1 PASS1 JID2 PASS2
      chat with emoji both ways; a presence subscription each way, then presence flowing both
      ways; iqs both ways (ping to the other's server and to the other's client, software
      version of the other's server)
  scenario.py bounce JID PASS TO CONDITION [--timeout S]
      a chat message to TO comes back as an error with CONDITION
  scenario.py send JID PASS TO BODY...
      sends each BODY (in order) and disconnects
  scenario.py receive JID PASS FROM BODY... [--timeout S]
      logs in; each BODY arrives from FROM, each exactly once
"""
import argparse
import asyncio
import logging
import ssl
import sys
import time

import slixmpp

EMOJI = "\U0001F339 \u2764\ufe0f \U0001F600 caf\u00e9"


class Client(slixmpp.ClientXMPP):
    """One account; every stanza of interest is kept so checks can wait for it."""

    def __init__(self, jid, password):
        super().__init__(jid, password)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False  # c2s certificates are the test's own; s2s is what is tested
        ctx.verify_mode = ssl.CERT_NONE
        self.ssl_context = ctx
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0092")  # answers version queries, asks them
        self.register_plugin("xep_0199")  # answers pings, sends them
        self.seen = []
        self.changed = asyncio.Event()
        self.ready = asyncio.get_event_loop().create_future()
        self.add_event_handler("session_start", self.on_start)
        # "message" fires only for messages with a body; bounces may have none.
        for event in ("message", "message_error", "presence"):
            self.add_event_handler(event, self.keep)
        # Subscriptions are answered by the test, not automatically.
        self.auto_authorize = None
        self.auto_subscribe = False
        # "failed_auth" fires for each mechanism tried; this one when none is left.
        self.add_event_handler("failed_all_auth", lambda _: self.fail("authentication failed"))
        self.add_event_handler("connection_failed", lambda e: self.fail("cannot connect: %s" % e))

    def fail(self, why):
        if not self.ready.done():
            self.ready.set_exception(RuntimeError("%s: %s" % (self.boundjid.bare, why)))

    async def on_start(self, _):
        await self.get_roster()
        self.send_presence()
        if not self.ready.done():
            self.ready.set_result(True)

    def keep(self, stanza):
        self.seen.append(stanza)
        self.changed.set()

    async def wait(self, what, predicate, timeout=20):
        """The first kept stanza that satisfies PREDICATE, consumed; raises after TIMEOUT."""
        deadline = time.monotonic() + timeout
        while True:
            for stanza in self.seen:
                if predicate(stanza):
                    self.seen.remove(stanza)
                    return stanza
            left = deadline - time.monotonic()
            if left <= 0:
                kept = "\n  ".join(str(s) for s in self.seen[-10:])
                raise RuntimeError("%s: no %s within %ss; last stanzas:\n  %s"
                                   % (self.boundjid.bare, what, timeout, kept))
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass


def is_message(sender, body):
    return lambda s: (s.name == "message" and s["type"] != "error" and s["from"].bare == sender
                      and s["body"] == body)


def is_presence(sender, ptype, status=None):
    def match(s):
        return (s.name == "presence" and s["from"].bare == sender and s["type"] == ptype
                and (status is None or s["status"] == status))
    return match


async def online(*clients):
    for client in clients:
        client.connect()
    await asyncio.wait_for(asyncio.gather(*(c.ready for c in clients)), 30)


async def chat(sender, receiver):
    body = "hello %s from %s %s" % (receiver.boundjid.bare, sender.boundjid.bare, EMOJI)
    sender.send_message(mto=receiver.boundjid.bare, mbody=body, mtype="chat")
    got = await receiver.wait("chat message", is_message(sender.boundjid.bare, body))
    assert got["body"] == body, "body changed in transit: %r" % got["body"]
    print("ok   chat %s -> %s" % (sender.boundjid.bare, receiver.boundjid.bare), flush=True)


async def subscribe(user, contact):
    """RFC 6121 §3.1: USER asks, CONTACT approves; USER then gets CONTACT's presence."""
    u, c = user.boundjid.bare, contact.boundjid.bare
    user.send_presence(pto=c, ptype="subscribe")
    await contact.wait("subscription request", is_presence(u, "subscribe"))
    contact.send_presence(pto=u, ptype="subscribed")
    await user.wait("subscription approval", is_presence(c, "subscribed"))
    await user.wait("contact's presence after approval", is_presence(c, "available"))
    print("ok   subscription %s -> %s" % (u, c), flush=True)


async def presence_flows(sender, receiver):
    status = "status of %s at %.3f" % (sender.boundjid.bare, time.monotonic())
    sender.send_presence(pstatus=status)
    await receiver.wait("presence update", is_presence(sender.boundjid.bare, "available", status))
    print("ok   presence %s -> %s" % (sender.boundjid.bare, receiver.boundjid.bare), flush=True)


async def iqs(asker, answerer):
    server = answerer.boundjid.domain
    await asker["xep_0199"].ping(jid=server, timeout=20)
    await asker["xep_0199"].ping(jid=answerer.boundjid.full, timeout=20)
    version = await asker["xep_0092"].get_version(server, timeout=20)
    name = version["software_version"]["name"]
    assert name, "empty software version from %s" % server
    print("ok   iq %s -> %s (%s)" % (asker.boundjid.bare, server, name), flush=True)


async def pair(o):
    one, two = Client(o.jid1, o.pass1), Client(o.jid2, o.pass2)
    try:
        await online(one, two)
        await chat(one, two)
        await chat(two, one)
        await subscribe(one, two)
        await subscribe(two, one)
        await presence_flows(one, two)
        await presence_flows(two, one)
        await iqs(one, two)
        await iqs(two, one)
    finally:
        await offline(one, two)


async def bounce(o):
    client = Client(o.jid, o.password)
    try:
        await online(client)
        started = time.monotonic()
        client.send_message(mto=o.to, mbody="anyone there? %s" % EMOJI, mtype="chat")
        error = await client.wait("bounce", lambda s: s.name == "message" and s["type"] == "error",
                                  o.timeout)
        condition = error["error"]["condition"]
        print("     %s bounced after %.1fs: %s (%s)" % (o.to, time.monotonic() - started, condition,
                                                      error["error"]["text"]), flush=True)
        assert condition == o.condition, "expected %s, got %s" % (o.condition, condition)
    finally:
        await offline(client)


async def send(o):
    client = Client(o.jid, o.password)
    try:
        await online(client)
        for body in o.bodies:
            client.send_message(mto=o.to, mbody=body, mtype="chat")
        # Everything sent has reached the server once it answers a ping sent after it.
        await client["xep_0199"].ping(jid=client.boundjid.domain, timeout=20)
    finally:
        await offline(client)


async def receive(o):
    client = Client(o.jid, o.password)
    try:
        await online(client)
        for body in o.bodies:
            await client.wait("message %r" % body, is_message(o.sender, body), o.timeout)
        # A short grace period for duplicates, which must not come.
        await asyncio.sleep(2)
        for stanza in client.seen:
            assert not (stanza.name == "message" and stanza["body"] in o.bodies), \
                "received twice: %r" % stanza["body"]
        print("ok   %d messages from %s, each once" % (len(o.bodies), o.sender), flush=True)
    finally:
        await offline(client)


async def offline(*clients):
    for client in clients:
        try:
            await asyncio.wait_for(client.disconnect(wait=1.0), 5)
        except Exception:  # noqa: BLE001 - leaving anyway
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--debug", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("pair")
    for name in ("jid1", "pass1", "jid2", "pass2"):
        p.add_argument(name)
    p = commands.add_parser("bounce")
    for name in ("jid", "password", "to", "condition"):
        p.add_argument(name)
    p.add_argument("--timeout", type=float, default=30)
    p = commands.add_parser("send")
    for name in ("jid", "password", "to"):
        p.add_argument(name)
    p.add_argument("bodies", nargs="+")
    p = commands.add_parser("receive")
    for name in ("jid", "password", "sender"):
        p.add_argument(name)
    p.add_argument("bodies", nargs="+")
    p.add_argument("--timeout", type=float, default=30)
    options = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if options.debug else logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    command = {"pair": pair, "bounce": bounce, "send": send, "receive": receive}[options.command]
    try:
        loop.run_until_complete(asyncio.wait_for(command(options), 120))
        return 0
    except Exception as error:  # noqa: BLE001 - any failure is the test's answer
        print("FAIL %s: %s: %s" % (options.command, type(error).__name__, error), flush=True)
        return 1
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))


if __name__ == "__main__":
    sys.exit(main())
