// Extra disco#info content for a host: XEP-0128 extended data forms other modules add
// (contact addresses, XEP-0157), appended to the server's disco#info answer.
#pragma once

#include <string_view>
#include <vector>

#include "xml/element.h"

namespace parley::modules::disco {

// Thread-safe. Registered at load() on the main thread, read by handlers on any worker.
// OWNER identifies who registered (the module object), so unloading removes exactly its forms.
void addInfoExtension(std::string_view domain, const void* owner, xml::Element form);
void removeInfoExtensions(const void* owner);
// The forms registered for a host, in registration order (copies).
std::vector<xml::Element> infoExtensions(std::string_view domain);

}  // namespace parley::modules::disco
