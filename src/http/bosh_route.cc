// The BOSH endpoint: HTTP methods and CORS, session creation, and the hand-over of each
// request to the worker of its session.
#include "http/bosh_route.h"

#include <memory>

#include "http/websocket_transport.h"  // isLoopbackIp
#include "util/log.h"
#include "xmpp/jid.h"

namespace parley::http {
namespace {

using bosh::Condition;
using core::HttpResponse;

constexpr std::string_view kPage =
    "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Parley BOSH</title></head>"
    "<body><p>This is the BOSH endpoint (XEP-0124, XEP-0206) of this XMPP server. Point a BOSH "
    "client at this URL; it takes POST requests.</p></body></html>\n";

struct Context {
  c2s::C2sShared& shared;
  BoshSettings settings;
  std::shared_ptr<BoshSessionTable> table;
  size_t max_body_bytes;
  size_t max_depth;
};

// A request on its way to the worker of its session.
struct Job {
  bosh::Request request;
  BoshResponder responder;
};

void respondWithCors(const std::shared_ptr<Exchange>& exchange, HttpResponse response) {
  bosh::addCorsHeaders(response);
  exchange->respond(std::move(response));
}

// When the client drops the connection of a request, its session stops counting it as held.
void forwardAbort(const Context& context, const std::shared_ptr<Exchange>& exchange,
                  core::Worker& session_worker, const std::string& sid, uint64_t rid) {
  exchange->onAbort([table = context.table, &session_worker, sid, rid] {
    session_worker.loop().post([table, sid, rid, index = session_worker.index()] {
      if (auto* transport = table->find(sid, index)) transport->abandon(rid);
    });
  });
}

void createSession(const Context& context, const std::shared_ptr<Exchange>& exchange,
                   bosh::Request request) {
  bool legacy = request.ver.empty();
  std::string_view content_type = bosh::isUsableContentType(request.content)
                                      ? std::string_view(request.content)
                                      : bosh::kContentType;
  auto refuse = [&](Condition condition, std::string_view why) {
    log::debug("bosh ", exchange->request().peer_ip, ": no session: ", why);
    exchange->respond(bosh::terminalResponse(condition, legacy, content_type));
  };
  if (!request.content.empty() && !bosh::isUsableContentType(request.content))
    return refuse(Condition::BadRequest, "unusable 'content'");
  // XEP-0124 §17.2: we serve several domains, so the client must say which.
  if (request.to.empty()) return refuse(Condition::ImproperAddressing, "no 'to'");
  auto domain = xmpp::nameprep(request.to);
  if (!domain || !context.shared.server.host(*domain))
    return refuse(Condition::HostUnknown, "unknown host");

  const auto& http = exchange->request();
  // As for WebSocket: HTTPS, or a browser on this machine.
  bool secure = http.tls || isLoopbackIp(http.peer_ip);
  auto& worker = exchange->worker();
  uint64_t rid = request.rid;
  auto transport = std::make_unique<BoshTransport>(context.table, worker, context.settings, request,
                                                   BoshResponder(exchange), secure, http.peer_ip);
  forwardAbort(context, exchange, worker, transport->sid(), rid);
  c2s::startClientSession(context.shared, worker, std::move(transport));
}

void continueSession(const Context& context, const std::shared_ptr<Exchange>& exchange,
                     bosh::Request request) {
  auto found = context.table->lookup(request.sid);
  if (found.last_body) {
    // The session ended with this to say while no request was there to carry it.
    exchange->respond(bosh::xmlResponse(std::move(*found.last_body)));
    return;
  }
  if (!found.worker) {
    log::debug("bosh ", exchange->request().peer_ip, ": unknown sid");
    exchange->respond(bosh::terminalResponse(Condition::ItemNotFound, false));
    return;
  }
  auto& target = context.shared.server.worker(*found.worker);
  forwardAbort(context, exchange, target, request.sid, request.rid);
  auto job = std::make_shared<Job>(Job{std::move(request), BoshResponder(exchange)});
  auto run = [table = context.table, job, index = target.index()] {
    auto* transport = table->find(job->request.sid, index);
    if (!transport) {
      // The session ended while this request was on its way: what it left to say (a stream
      // error such as <conflict/>) still goes out.
      auto gone = table->lookup(job->request.sid);
      job->responder.respond(gone.last_body
                                 ? bosh::xmlResponse(std::move(*gone.last_body))
                                 : bosh::terminalResponse(Condition::ItemNotFound, false));
      return;
    }
    transport->handle(std::move(job->request), std::move(job->responder));
  };
  if (&target == &exchange->worker()) {
    run();
  } else {
    log::debug("bosh ", job->request.sid.substr(0, 8), ": rid ", job->request.rid,
               " handed to worker ", target.index());
    target.loop().post(std::move(run));
  }
}

void handleRequest(const Context& context, const std::shared_ptr<Exchange>& exchange) {
  const auto& http = exchange->request();
  if (http.method == "OPTIONS") return respondWithCors(exchange, HttpResponse::text(200, ""));
  if (http.method == "GET" || http.method == "HEAD") {
    return respondWithCors(exchange,
                           HttpResponse::text(200, std::string(kPage), "text/html; charset=utf-8"));
  }
  if (http.method != "POST") {
    auto response = HttpResponse::text(405, "BOSH takes POST requests\n");
    response.set("Allow", "GET, HEAD, POST, OPTIONS");
    return respondWithCors(exchange, std::move(response));
  }
  auto request = bosh::parseRequest(http.body, context.max_body_bytes, context.max_depth);
  if (!request) {
    // XEP-0124 §17.1: a body we cannot read belongs to no session we could trust with it.
    log::debug("bosh ", http.peer_ip, ": bad request: ", request.error().message);
    return respondWithCors(
        exchange, HttpResponse::text(400, "Bad BOSH request: " + request.error().message + "\n"));
  }
  if (request->sid.empty()) return createSession(context, exchange, std::move(*request));
  continueSession(context, exchange, std::move(*request));
}

}  // namespace

Route boshRoute(c2s::C2sShared& shared, BoshSettings settings) {
  const auto& c2s = shared.server.config().c2s;
  auto context = std::make_shared<Context>(
      Context{shared, settings, std::make_shared<BoshSessionTable>(settings.inactivity),
              c2s.max_stanza_bytes * 2, c2s.max_depth + 1});
  // Output no client fetches is bounded: a few of the largest stanzas, and never under 1 MiB.
  context->settings.max_queued_bytes =
      std::max(context->settings.max_queued_bytes, c2s.max_stanza_bytes * 4);
  return Route{
      kBoshPath, context->max_body_bytes,
      [context](const std::shared_ptr<Exchange>& exchange) { handleRequest(*context, exchange); }};
}

}  // namespace parley::http
