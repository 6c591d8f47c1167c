// One host's upload service: its ledger and file store, and the HTTP side of XEP-0363 (PUT of
// a slot, GET/HEAD of a stored file, CORS preflight) under /upload/DOMAIN/.
#pragma once

#include <functional>
#include <string>

#include "core/http_route.h"
#include "file_store.h"
#include "upload_ledger.h"

namespace parley::modules::http_upload {

// Shared by every worker (handlers and the expiry timer) through a shared_ptr; the ledger
// synchronizes itself, the rest is immutable after construction.
struct UploadService {
  UploadService(std::string host_domain, Limits limits, std::filesystem::path root,
                std::function<SystemTime()> clock)
      : domain(std::move(host_domain)),
        ledger(limits),
        files(std::move(root)),
        now(std::move(clock)) {}

  std::string domain;
  UploadLedger ledger;
  FileStore files;
  std::function<SystemTime()> now;

  // Deletes expired files (at most LIMIT), from the ledger and the disk; returns how many.
  size_t expire(size_t limit);
  // Deletes every file of USER (the account was deleted); returns how many.
  size_t forgetUser(std::string_view user);
};

// Whether a browser would run or render content of this type as a page of our origin
// (HTML, SVG, XML, JavaScript): such files are served as attachments under a CSP.
bool isActiveContent(std::string_view content_type);

// Answers one request whose path is under /upload/DOMAIN/. Runs on the request's worker;
// a PUT writes the file there (bounded by max_file_size).
core::HttpResponse handleHttp(UploadService& service, const core::HttpRequest& request);
// Before a PUT's body is read: the refusal its headers already earn (no such slot, wrong
// Authorization, a Content-Length other than the slot's size), or nullopt.
std::optional<core::HttpResponse> checkHead(UploadService& service, const core::HttpRequest& head);

}  // namespace parley::modules::http_upload
