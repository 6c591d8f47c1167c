// What one ad-hoc command (XEP-0050) is to the dispatcher in adhoc.cc: its node, who may
// run it, the form it asks for, and the action that runs once the form is filled.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/module.h"
#include "data_form.h"

namespace parley::modules::adhoc {

inline constexpr std::string_view kCommandsNs = "http://jabber.org/protocol/commands";
inline constexpr std::string_view kAdminFormType = "http://jabber.org/protocol/admin";

// How a command ends: completed with a note and/or result form, or an iq error.
struct Outcome {
  std::optional<xmpp::StanzaError> error;
  std::string note;                  // <note/> text, if any
  std::string note_type = "info";    // XEP-0050 §3.4: info, warn, error
  std::optional<xml::Element> form;  // a form of type 'result'

  static Outcome done(std::string note) {
    Outcome outcome;
    outcome.note = std::move(note);
    return outcome;
  }
  static Outcome failed(xmpp::StanzaError::Condition condition, std::string text = {}) {
    Outcome outcome;
    outcome.error = xmpp::StanzaError::of(condition, std::move(text));
    return outcome;
  }
};

// Called exactly once, on the loop the command was executed on.
using Finish = std::function<void(Outcome)>;

struct Invocation {
  core::Host& host;
  xmpp::Jid requester;
  FormValues values;  // empty for a single-stage command
};

struct Command {
  std::string node;
  std::string name;
  bool admin_only = true;
  // The form of the first stage; empty: single stage, run() is called at once.
  std::function<std::optional<xml::Element>()> form;
  std::function<void(Invocation&, Finish)> run;
};

// XEP-0133 service administration commands, and 'ping' for everyone.
std::vector<Command> serverCommands();

}  // namespace parley::modules::adhoc
