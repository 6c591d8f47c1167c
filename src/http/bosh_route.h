// /http-bind: BOSH (XEP-0124, XEP-0206) for browsers and other HTTP-only clients; each BOSH
// session is the transport of an ordinary c2s session.
#pragma once

#include "c2s/client_session.h"
#include "http/bosh_session.h"
#include "http/exchange.h"

namespace parley::http {

inline constexpr const char* kBoshPath = "/http-bind";

// POST carries <body/> wrappers: a request without 'sid' creates a session on the worker it
// arrived on; a later one is handed to that session's worker, and its answer comes back to the
// worker of its HTTP connection. OPTIONS answers CORS preflights; GET says what this is; other
// methods get 405. Every response carries Access-Control-Allow-Origin: *. A body that cannot be
// read gets 400; protocol errors are terminate bodies with the XEP-0124 §17.2 condition.
// Bodies are limited to twice c2s.max_stanza_bytes. `shared` must outlive the route.
Route boshRoute(c2s::C2sShared& shared, BoshSettings settings = {});

}  // namespace parley::http
