// XEP-0115 §5.1: the verification string of an entity's disco#info (identities, features,
// extended forms), hashed with SHA-1 and base64-encoded.
#pragma once

#include <string>
#include <vector>

#include "xml/element.h"

namespace parley::modules::caps {

struct CapsIdentity {
  std::string category;
  std::string type;
  std::string lang;  // xml:lang, may be empty
  std::string name;
};

// The string S of §5.1 steps 1-8, before hashing. Features are taken once each (disco#info
// lists each once). FORMS are jabber:x:data elements; a form without a FORM_TYPE field is
// ignored (§5.4 item 3.6: such forms are not part of the hash).
std::string verificationString(std::vector<CapsIdentity> identities,
                               std::vector<std::string> features,
                               const std::vector<xml::Element>& forms);

// base64(SHA-1(verificationString(...))): the 'ver' attribute with hash='sha-1'.
std::string verification(std::vector<CapsIdentity> identities, std::vector<std::string> features,
                         const std::vector<xml::Element>& forms);

}  // namespace parley::modules::caps
