// The registry of extended disco#info forms (XEP-0128), keyed by host domain.
#include "disco_extensions.h"

#include <algorithm>
#include <mutex>
#include <string>

namespace parley::modules::disco {
namespace {

struct Extension {
  std::string domain;
  const void* owner;
  xml::Element form;
};

struct Registry {
  std::mutex mutex;
  std::vector<Extension> extensions;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

void addInfoExtension(std::string_view domain, const void* owner, xml::Element form) {
  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  reg.extensions.push_back(Extension{std::string(domain), owner, std::move(form)});
}

void removeInfoExtensions(const void* owner) {
  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  std::erase_if(reg.extensions, [owner](const Extension& e) { return e.owner == owner; });
}

std::vector<xml::Element> infoExtensions(std::string_view domain) {
  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  std::vector<xml::Element> forms;
  for (const auto& extension : reg.extensions) {
    if (extension.domain == domain) forms.push_back(extension.form);
  }
  return forms;
}

}  // namespace parley::modules::disco
