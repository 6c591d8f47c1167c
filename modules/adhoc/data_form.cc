// XEP-0004 form building and reading.
#include "data_form.h"

namespace parley::modules::adhoc {

xml::Element makeForm(std::string_view type, std::string_view title, std::string_view instructions,
                      const std::vector<FormField>& fields) {
  const std::string ns(kDataFormsNs);
  xml::Element form("x", ns);
  form.setAttr("type", std::string(type));
  if (!title.empty()) form.addChild("title", ns).addText(title);
  if (!instructions.empty()) form.addChild("instructions", ns).addText(instructions);
  for (const auto& field : fields) {
    auto& element = form.addChild("field", ns);
    element.setAttr("var", field.var);
    if (!field.type.empty()) element.setAttr("type", field.type);
    if (!field.label.empty()) element.setAttr("label", field.label);
    if (field.required) element.addChild("required", ns);
    for (const auto& value : field.values) element.addChild("value", ns).addText(value);
  }
  return form;
}

const xml::Element* findForm(const xml::Element& parent) { return parent.child("x", kDataFormsNs); }

FormValues formValues(const xml::Element& form) {
  FormValues values;
  for (const auto& node : form.children()) {
    if (!node.isElement() || !node.element->is("field", kDataFormsNs)) continue;
    const auto& field = *node.element;
    auto& list = values[std::string(field.attr("var"))];
    for (const auto& child : field.children()) {
      if (child.isElement() && child.element->is("value", kDataFormsNs)) {
        list.push_back(child.element->text());
      }
    }
  }
  return values;
}

std::string firstValue(const FormValues& values, std::string_view var) {
  auto it = values.find(var);
  if (it == values.end() || it->second.empty()) return {};
  return it->second.front();
}

}  // namespace parley::modules::adhoc
