// The presence subscription state machine of RFC 6121 §3 and Appendix A, as pure functions.
#pragma once

#include <optional>
#include <string_view>

namespace parley::modules::roster {

// The 'subscription' attribute of a roster item (RFC 6121 §2.1.2.5).
enum class Subscription { None, To, From, Both };

std::string_view subscriptionName(Subscription subscription);
std::optional<Subscription> parseSubscription(std::string_view name);

// One side's view of its relation with one contact (RFC 6121 Appendix A.1): the
// subscription, "Pending Out" (ask='subscribe'), "Pending In" (a request from the contact
// not yet answered) and a pre-approval (approved='true', §3.4).
struct SubscriptionState {
  Subscription subscription = Subscription::None;
  bool pending_out = false;
  bool pending_in = false;
  bool approved = false;
  bool operator==(const SubscriptionState&) const = default;
};

// The four subscription-related presence types (RFC 6121 §3).
enum class SubscriptionType { Subscribe, Subscribed, Unsubscribe, Unsubscribed };
std::optional<SubscriptionType> parseSubscriptionType(std::string_view type);

// What the server does after one subscription stanza, besides storing `state`.
struct SubscriptionOutcome {
  SubscriptionState state;  // the state afterwards
  // Outbound: route the stanza to the contact. Inbound: deliver it to the user's
  // available resources.
  bool forward = false;
  // Inbound subscribe while the contact is already subscribed or pre-approved: answer
  // 'subscribed' on the user's behalf (RFC 6121 §3.1.3, §3.4).
  bool auto_reply_subscribed = false;
  // The contact just got a subscription to the user: send it the user's current presence
  // (RFC 6121 §3.1.5).
  bool send_presence = false;
  // The contact just lost its subscription to the user: send it unavailable presence from
  // the user's available resources (RFC 6121 §3.2.2).
  bool send_unavailable = false;
};

// A stanza the user sends to the contact (Appendix A.2: the user's server, outbound).
SubscriptionOutcome outbound(SubscriptionState state, SubscriptionType type);
// A stanza the contact sends to the user (Appendix A.3: the user's server, inbound).
SubscriptionOutcome inbound(SubscriptionState state, SubscriptionType type);

// Whether the contact receives the user's presence broadcasts ('from' or 'both').
inline bool isSubscriber(Subscription s) {
  return s == Subscription::From || s == Subscription::Both;
}
// Whether the user receives the contact's presence ('to' or 'both').
inline bool isSubscribedTo(Subscription s) {
  return s == Subscription::To || s == Subscription::Both;
}

}  // namespace parley::modules::roster
