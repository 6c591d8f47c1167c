// XEP-0156 host-meta documents (XRD per RFC 6415, and its JSON form).
#include "http/host_meta.h"

#include "xml/serializer.h"

namespace parley::http {
namespace {

constexpr std::string_view kWebSocketRel = "urn:xmpp:alt-connections:websocket";
constexpr std::string_view kBoshRel = "urn:xmpp:alt-connections:xbosh";

std::string jsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Browsers on other origins (a web client hosted elsewhere) read these documents too.
void allowAnyOrigin(core::HttpResponse& response) {
  response.set("Access-Control-Allow-Origin", "*");
}

Handler documentHandler(std::string body, std::string content_type) {
  return [body = std::move(body),
          content_type = std::move(content_type)](const std::shared_ptr<Exchange>& exchange) {
    const std::string& method = exchange->request().method;
    core::HttpResponse response;
    if (method == "GET" || method == "HEAD") {
      response = core::HttpResponse::text(200, body, content_type);
    } else if (method == "OPTIONS") {
      response.status = 204;
      response.set("Allow", "GET, HEAD, OPTIONS");
      response.set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
      response.set("Access-Control-Max-Age", "86400");
    } else {
      response = core::HttpResponse::text(405, "Method Not Allowed\n");
      response.set("Allow", "GET, HEAD, OPTIONS");
    }
    allowAnyOrigin(response);
    exchange->respond(std::move(response));
  };
}

}  // namespace

std::string webSocketUrl(std::string_view public_url) {
  std::string url(public_url);
  if (url.rfind("https://", 0) == 0) {
    url.replace(0, 5, "wss");
  } else if (url.rfind("http://", 0) == 0) {
    url.replace(0, 4, "ws");
  }
  if (url.empty() || url.back() != '/') url += '/';
  return url + "xmpp-websocket";
}

std::string boshUrl(std::string_view public_url) {
  std::string url(public_url);
  if (url.empty() || url.back() != '/') url += '/';
  return url + "http-bind";
}

std::string hostMetaXml(std::string_view public_url) {
  std::string xml =
      "<?xml version='1.0' encoding='utf-8'?>\n"
      "<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n";
  auto link = [&](std::string_view rel, const std::string& href) {
    xml.append("  <Link rel='").append(rel).append("' href='");
    xml.append(xml::escapeAttr(href)).append("'/>\n");
  };
  link(kBoshRel, boshUrl(public_url));
  link(kWebSocketRel, webSocketUrl(public_url));
  xml.append("</XRD>\n");
  return xml;
}

std::string hostMetaJson(std::string_view public_url) {
  std::string json = "{\"links\":[";
  json.append("{\"rel\":").append(jsonString(kBoshRel));
  json.append(",\"href\":").append(jsonString(boshUrl(public_url))).append("},");
  json.append("{\"rel\":").append(jsonString(kWebSocketRel));
  json.append(",\"href\":").append(jsonString(webSocketUrl(public_url))).append("}");
  json.append("]}\n");
  return json;
}

std::vector<Route> hostMetaRoutes(const std::string& public_url) {
  // The documents take no request body.
  std::vector<Route> routes;
  routes.push_back(Route{"/.well-known/host-meta", 0,
                         documentHandler(hostMetaXml(public_url), "application/xrd+xml")});
  routes.push_back(Route{"/.well-known/host-meta.json", 0,
                         documentHandler(hostMetaJson(public_url), "application/json")});
  return routes;
}

}  // namespace parley::http
