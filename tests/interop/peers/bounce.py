#!/usr/bin/python3
"""Send one chat message to an address that should bounce; print the error.

  bounce.py [--cafile CA | --insecure] [--timeout S] JID PASS TO

Prints "BOUNCE <condition> <type> after <s>s: <text>" and exits 0 when an
error message comes back, "NO-BOUNCE after <s>s" and exits 1 when none came
within --timeout. Used to see what a peer sends for remote-server-not-found,
remote-server-timeout, and untrusted-certificate failures.
"""
import argparse
import asyncio
import ssl
import sys
import time

import slixmpp


async def run(o):
    c = slixmpp.ClientXMPP(o.jid, o.password)
    ctx = ssl.create_default_context(cafile=o.cafile) if o.cafile else ssl.create_default_context()
    if o.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    c.ssl_context = ctx
    loop = asyncio.get_event_loop()
    ready, got = loop.create_future(), loop.create_future()

    async def on_start(_):
        c.send_presence()
        await c.get_roster()
        ready.set_result(True)

    def on_msg(m):
        if m["type"] == "error" and not got.done():
            got.set_result(m)

    c.add_event_handler("session_start", on_start)
    c.add_event_handler("message", on_msg)
    # slixmpp fires "message" only for <message/> with a <body/>; Prosody's
    # bounces have none, ejabberd's carry the original body.
    c.add_event_handler("message_error", on_msg)
    c.connect()
    await asyncio.wait_for(ready, 20)
    t0 = time.monotonic()
    c.send_message(mto=o.to, mbody="bounce me \U0001F4A5", mtype="chat")
    try:
        m = await asyncio.wait_for(got, o.timeout)
        e = m["error"]
        print("BOUNCE %s %s after %.1fs: %s" % (e["condition"], e["type"], time.monotonic() - t0,
                                                e["text"]), flush=True)
        rc = 0
    except asyncio.TimeoutError:
        print("NO-BOUNCE after %.1fs" % (time.monotonic() - t0), flush=True)
        rc = 1
    try:
        await asyncio.wait_for(c.disconnect(wait=1.0), 3)
    except Exception:  # noqa: BLE001
        pass
    return rc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cafile")
    p.add_argument("--insecure", action="store_true")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("jid"); p.add_argument("password"); p.add_argument("to")
    o = p.parse_args()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    rc = loop.run_until_complete(run(o))
    for t in asyncio.all_tasks(loop):
        t.cancel()
    loop.run_until_complete(asyncio.sleep(0))
    sys.exit(rc)


if __name__ == "__main__":
    main()
