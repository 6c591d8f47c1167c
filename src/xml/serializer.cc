// Serializer: escaping and writing elements, with namespace declarations only where needed.
#include "xml/serializer.h"

#include <array>

#include "xml/namespaces.h"

namespace parley::xml {
namespace {

// The replacement for each byte that needs one, per context; nullptr = copy as is.
struct EscapeTable {
  std::array<const char*, 256> replacement{};
};

constexpr EscapeTable makeTable(bool attribute) {
  EscapeTable table;
  table.replacement['&'] = "&amp;";
  table.replacement['<'] = "&lt;";
  table.replacement['>'] = "&gt;";
  table.replacement['\r'] = "&#13;";
  if (attribute) {
    table.replacement['"'] = "&quot;";
    table.replacement['\''] = "&apos;";
    table.replacement['\t'] = "&#9;";
    table.replacement['\n'] = "&#10;";
  }
  return table;
}

constexpr EscapeTable kAttrTable = makeTable(true);
constexpr EscapeTable kTextTable = makeTable(false);

void appendEscaped(std::string& out, std::string_view in, const EscapeTable& table) {
  size_t run_start = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const char* replacement = table.replacement[static_cast<unsigned char>(in[i])];
    if (replacement == nullptr) continue;
    out.append(in.data() + run_start, i - run_start);
    out.append(replacement);
    run_start = i + 1;
  }
  out.append(in.data() + run_start, in.size() - run_start);
}

void appendAttribute(std::string& out, const Attribute& attr, int& next_prefix) {
  std::string_view name = attr.name;
  if (name == "xmlns" || name.starts_with("xmlns:")) return;
  if (name.starts_with('{')) {  // "{uri}local": a namespaced attribute needs a prefix
    // The URI may contain '}'; the local name (an NCName) cannot.
    size_t close = name.rfind('}');
    if (close == std::string_view::npos) return;
    std::string prefix = "ns" + std::to_string(next_prefix++);
    out.append(" xmlns:").append(prefix).append("='");
    appendEscapedAttr(out, name.substr(1, close - 1));
    out.append("' ").append(prefix).append(":").append(name.substr(close + 1));
  } else {
    out.append(" ").append(name);
  }
  out.append("='");
  appendEscapedAttr(out, attr.value);
  out.append("'");
}

}  // namespace

void appendEscapedAttr(std::string& out, std::string_view value) {
  appendEscaped(out, value, kAttrTable);
}

void appendEscapedText(std::string& out, std::string_view text) {
  appendEscaped(out, text, kTextTable);
}

std::string escapeAttr(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  appendEscapedAttr(out, value);
  return out;
}

std::string escapeText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  appendEscapedText(out, text);
  return out;
}

namespace {

struct Rename {
  std::string_view from, to;
};

void serializeElement(const Element& e, std::string& out, std::string_view parent_xmlns,
                      const Rename& rename) {
  std::string_view xmlns = e.xmlns();
  if (!rename.from.empty() && xmlns == rename.from) xmlns = rename.to;
  // The xml namespace cannot be the default one; such an element keeps the "xml" prefix
  // and leaves the default namespace in scope to its children.
  const bool is_xml_prefixed = xmlns == ns::kXml;
  std::string_view scope = is_xml_prefixed ? parent_xmlns : xmlns;
  out.append(is_xml_prefixed ? "<xml:" : "<").append(e.name());
  if (!is_xml_prefixed && xmlns != parent_xmlns) {
    out.append(" xmlns='");
    appendEscapedAttr(out, xmlns);
    out.append("'");
  }
  int next_prefix = 0;
  for (const Attribute& attr : e.attrs()) appendAttribute(out, attr, next_prefix);
  if (e.children().empty()) {
    out.append("/>");
    return;
  }
  out.append(">");
  for (const Node& node : e.children()) {
    if (node.element) {
      serializeElement(*node.element, out, scope, rename);
    } else {
      appendEscapedText(out, node.text);
    }
  }
  out.append(is_xml_prefixed ? "</xml:" : "</").append(e.name()).append(">");
}

}  // namespace

void serialize(const Element& e, std::string& out, std::string_view parent_xmlns) {
  serializeElement(e, out, parent_xmlns, Rename{});
}

void serializeRenamed(const Element& e, std::string& out, std::string_view parent_xmlns,
                      std::string_view from, std::string_view to) {
  serializeElement(e, out, parent_xmlns, Rename{from, to});
}

std::string toString(const Element& e, std::string_view parent_xmlns) {
  std::string out;
  serialize(e, out, parent_xmlns);
  return out;
}

}  // namespace parley::xml
