#!/usr/bin/python3
"""Parley interop scenario driven by slixmpp (Debian python3-slixmpp 1.8.3).

Usage: slixmpp_scenario.py C2S_PORT PARLEYCTL CONFIG

Against a running parleyd (localhost, STARTTLS on C2S_PORT, `registration = true`):
in-band registration of two accounts, login, mutual subscription, presence, a message
delivered from offline storage with a XEP-0203 delay stamp, blocking and unblocking
(XEP-0191), a vCard round trip (XEP-0054), account removal (XEP-0077) and a check that
nothing of the removed account remains. Prints PASS and exits 0, or exits 1 with a reason.
"""

import asyncio
import logging
import os
import ssl
import subprocess
import sys
import time

import slixmpp

DOMAIN = "localhost"
TIMEOUT = 5.0


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


async def until(predicate, what, timeout=TIMEOUT):
    """Waits until predicate() is true; Failure naming WHAT on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise Failure("timed out waiting for " + what)
        await asyncio.sleep(0.02)


async def bounded(awaitable, what, timeout=TIMEOUT):
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise Failure("timed out: " + what) from None
    except slixmpp.exceptions.IqError as error:
        raise Failure("%s: iq error %s" % (what, error.iq)) from None
    except slixmpp.exceptions.IqTimeout:
        raise Failure("timed out (iq): " + what) from None


class Client(slixmpp.ClientXMPP):
    """One account's connection; records what it receives for the scenario to check."""

    def __init__(self, user, password, register=False):
        super().__init__("%s@%s/py" % (user, DOMAIN), password)
        for plugin in ("xep_0030", "xep_0054", "xep_0077", "xep_0191", "xep_0199", "xep_0203"):
            self.register_plugin(plugin)
        # The test certificate is self-signed.
        self.ssl_context.check_hostname = False
        self.ssl_context.verify_mode = ssl.CERT_NONE
        self.user = user
        self.outcome = asyncio.get_event_loop().create_future()
        self.messages = []
        self.available = set()  # bare JIDs seen available
        self.unavailable = set()  # bare JIDs seen going unavailable
        self.registered = False
        self.closed = asyncio.get_event_loop().create_future()
        if register:
            self.add_event_handler("register", self._register)
            # slixmpp 1.8.3 holds back every stanza but bind/session until the session has
            # started ("NOT SENT" in its debug log), which includes the jabber:iq:register
            # iqs its own xep_0077 plugin sends on the unauthenticated stream. Let them out.
            self._always_send_everything = True
        self.add_event_handler("session_start", self._session_start)
        self.add_event_handler("failed_all_auth", self._failed)
        self.add_event_handler("connection_failed", self._failed)
        self.add_event_handler("disconnected", self._disconnected)
        self.add_event_handler("message", self.messages.append)
        self.add_event_handler("presence_available",
                               lambda p: self.available.add(p["from"].bare))
        self.add_event_handler("presence_unavailable",
                               lambda p: self.unavailable.add(p["from"].bare))

    async def _register(self, form):
        iq = self.Iq()
        iq["type"] = "set"
        iq["register"]["username"] = self.boundjid.user
        iq["register"]["password"] = self.password
        try:
            await iq.send(timeout=TIMEOUT)
            self.registered = True
        except (slixmpp.exceptions.IqError, slixmpp.exceptions.IqTimeout) as error:
            self._settle("registration failed: %s" % getattr(error, "iq", error))
            self.disconnect()

    async def _session_start(self, _event):
        self._always_send_everything = False
        try:
            await self.get_roster(timeout=TIMEOUT)
        except (slixmpp.exceptions.IqError, slixmpp.exceptions.IqTimeout) as error:
            self._settle("roster get failed: %s" % getattr(error, "iq", error))
            return
        self.send_presence()
        self._settle(None)

    def _failed(self, event):
        self._settle("login failed (%s)" % type(event).__name__)

    def _disconnected(self, _event):
        self._settle("disconnected before the session started")
        if not self.closed.done():
            self.closed.set_result(True)

    def _settle(self, error):
        if not self.outcome.done():
            self.outcome.set_result(error)

    def bare(self):
        return "%s@%s" % (self.user, DOMAIN)

    def bodies(self):
        return [m["body"] for m in self.messages if m["type"] != "error"]


async def login(port, user, password, register=False):
    client = Client(user, password, register)
    client.connect(address=("127.0.0.1", port))
    error = await bounded(client.outcome, "%s logging in" % user)
    if error is not None:
        raise Failure("%s: %s" % (user, error))
    return client


async def login_fails(port, user, password):
    client = Client(user, password)
    client.connect(address=("127.0.0.1", port))
    error = await bounded(client.outcome, "%s's refused login" % user)
    check(error is not None, "%s could still log in after the account was removed" % user)
    client.disconnect()
    await bounded(client.closed, "%s's refused stream to close" % user)


async def logout(client):
    client.disconnect()
    await bounded(client.closed, "%s to disconnect" % client.user)


def listed_users(parleyctl, config):
    run = subprocess.run([parleyctl, "--config", config, "users", DOMAIN],
                         capture_output=True, text=True, timeout=10)
    check(run.returncode == 0, "parleyctl users failed: %s%s" % (run.stdout, run.stderr))
    return set(run.stdout.split())


async def scenario(port, parleyctl, config):
    # 1. In-band registration (XEP-0077) doubles as the first login.
    alice = await login(port, "alice", "alice-pass", register=True)
    bob = await login(port, "bob", "bob-pass", register=True)
    check(alice.registered and bob.registered, "the register event did not run")
    check({"alice@localhost", "bob@localhost"} <= listed_users(parleyctl, config),
          "parleyctl users does not list the new accounts")
    print("registered and logged in: alice, bob")

    # 2. Mutual subscription: alice asks; bob's slixmpp authorizes and asks back
    #    (auto_authorize / auto_subscribe), alice's authorizes that.
    alice.send_presence(pto=bob.bare(), ptype="subscribe")
    for me, other in ((alice, bob), (bob, alice)):
        await until(lambda: me.client_roster[other.bare()]["subscription"] == "both",
                    "%s's roster to show %s with subscription both" % (me.user, other.user))
    # 3. Each sees the other available.
    await until(lambda: bob.bare() in alice.available, "alice to see bob available")
    await until(lambda: alice.bare() in bob.available, "bob to see alice available")
    print("subscribed both ways and saw each other's presence")

    # 4. A message to bob while he is offline comes at his next login with a delay stamp.
    await logout(bob)
    await until(lambda: bob.bare() in alice.unavailable, "alice to see bob go offline")
    alice.send_message(mto=bob.bare(), mbody="while you were out", mtype="chat")
    await bounded(alice["xep_0199"].ping(DOMAIN, timeout=TIMEOUT), "ping after the message")
    bob = await login(port, "bob", "bob-pass")
    await until(lambda: "while you were out" in bob.bodies(), "bob to get the offline message")
    stored = [m for m in bob.messages if m["body"] == "while you were out"][0]
    check(stored.xml.find("{urn:xmpp:delay}delay") is not None,
          "the offline message has no XEP-0203 delay: %s" % stored)
    check(stored["delay"]["stamp"] is not None, "the delay has no stamp: %s" % stored)
    check(stored["from"].bare == alice.bare(), "offline message from %s" % stored["from"])
    print("offline message delivered, delayed since", stored["delay"]["stamp"])

    # 5. Blocking (XEP-0191): alice blocks bob; his message bounces; she unblocks him.
    await bounded(alice["xep_0191"].block(bob.bare(), timeout=TIMEOUT), "alice blocking bob")
    blocked = await bounded(alice["xep_0191"].get_blocked(timeout=TIMEOUT), "blocklist get")
    check({str(j) for j in blocked["blocklist"]["items"]} == {bob.bare()},
          "blocklist is %s" % blocked["blocklist"]["items"])
    bob.send_message(mto=alice.bare(), mbody="blocked?", mtype="chat")
    await until(lambda: any(m["type"] == "error" and m["from"].bare == alice.bare()
                            for m in bob.messages),
                "bob's message to alice to bounce while blocked")
    check("blocked?" not in alice.bodies(), "alice got a message from bob while blocking him")
    await bounded(alice["xep_0191"].unblock(bob.bare(), timeout=TIMEOUT), "alice unblocking")
    blocked = await bounded(alice["xep_0191"].get_blocked(timeout=TIMEOUT), "blocklist get")
    check(not blocked["blocklist"]["items"],
          "blocklist after unblock is %s" % blocked["blocklist"]["items"])
    bob.send_message(mto=alice.bare(), mbody="unblocked", mtype="chat")
    await until(lambda: "unblocked" in alice.bodies(), "alice to get bob's message again")
    print("blocked and unblocked")

    # 6. vCard round trip (XEP-0054), read back by alice and by bob.
    vcard = alice["xep_0054"].make_vcard()
    vcard["FN"] = "Alice Liddell"
    vcard["NICKNAME"] = "alice"
    await bounded(alice["xep_0054"].publish_vcard(vcard, timeout=TIMEOUT), "publishing a vCard")
    for reader in (alice, bob):
        got = await bounded(reader["xep_0054"].get_vcard(alice.bare(), timeout=TIMEOUT),
                            "%s reading alice's vCard" % reader.user)
        check(got["vcard_temp"]["FN"] == "Alice Liddell",
              "%s read alice's vCard as %s" % (reader.user, got))
    print("vCard round trip")

    # 7. Account removal (XEP-0077 §3.2) and nothing of it left.
    try:
        await bounded(alice["xep_0077"].cancel_registration(timeout=TIMEOUT), "account removal")
    except Failure as error:
        # The server may close the stream right after the result; only a real error counts.
        if "iq error" in str(error):
            raise
    await bounded(alice.closed, "the server to close the removed account's stream")
    await login_fails(port, "alice", "alice-pass")
    check("alice@localhost" not in listed_users(parleyctl, config),
          "parleyctl users still lists alice@localhost")
    again = await login(port, "alice", "new-pass", register=True)
    check(again.registered, "re-registration did not run")
    check(len(again.client_roster) == 0,
          "the new alice has a roster: %s" % list(again.client_roster))
    card = await bounded(again["xep_0054"].get_vcard(again.bare(), timeout=TIMEOUT),
                         "reading the new alice's vCard")
    check(len(card["vcard_temp"].xml) == 0, "the new alice has a vCard: %s" % card)
    blocked = await bounded(again["xep_0191"].get_blocked(timeout=TIMEOUT), "blocklist get")
    check(not blocked["blocklist"]["items"], "the new alice has a blocklist")
    print("account removed; re-registered alice starts empty")

    await logout(again)
    await logout(bob)


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    level = logging.DEBUG if os.environ.get("PARLEY_PY_DEBUG") else logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    port, parleyctl, config = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    try:
        asyncio.run(asyncio.wait_for(scenario(port, parleyctl, config), 30))
    except Failure as error:
        print("FAIL:", error, file=sys.stderr)
        return 1
    except asyncio.TimeoutError:
        print("FAIL: the whole scenario took longer than 30 s", file=sys.stderr)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
