// XEP-0004 data forms, just what ad-hoc commands need: build a form, read a submitted one.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "xml/element.h"

namespace parley::modules::adhoc {

inline constexpr std::string_view kDataFormsNs = "jabber:x:data";

struct FormField {
  std::string var;
  std::string type;  // XEP-0004 §3.3: "hidden", "jid-single", "text-private", ...
  std::string label;
  bool required = false;
  std::vector<std::string> values;
};

// Submitted values by field name; a field given more than once keeps all its values.
using FormValues = std::map<std::string, std::vector<std::string>, std::less<>>;

// <x xmlns='jabber:x:data' type=TYPE> with an optional title and instructions.
xml::Element makeForm(std::string_view type, std::string_view title, std::string_view instructions,
                      const std::vector<FormField>& fields);

// The first <x xmlns='jabber:x:data'/> child of PARENT, or nullptr.
const xml::Element* findForm(const xml::Element& parent);

// The values of every field of a form (XEP-0004 §3.2), by 'var'.
FormValues formValues(const xml::Element& form);

// The first value of VAR, or "" when absent.
std::string firstValue(const FormValues& values, std::string_view var);

}  // namespace parley::modules::adhoc
