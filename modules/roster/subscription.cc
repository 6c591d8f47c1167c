// The presence subscription state machine of RFC 6121 §3 and Appendix A.
#include "subscription.h"

namespace parley::modules::roster {
namespace {

// Adds or removes the "to" half (the user receives the contact's presence).
Subscription withTo(Subscription s, bool to) {
  bool from = isSubscriber(s);
  if (to) return from ? Subscription::Both : Subscription::To;
  return from ? Subscription::From : Subscription::None;
}

// Adds or removes the "from" half (the contact receives the user's presence).
Subscription withFrom(Subscription s, bool from) {
  bool to = isSubscribedTo(s);
  if (from) return to ? Subscription::Both : Subscription::From;
  return to ? Subscription::To : Subscription::None;
}

}  // namespace

std::string_view subscriptionName(Subscription subscription) {
  switch (subscription) {
    case Subscription::None:
      return "none";
    case Subscription::To:
      return "to";
    case Subscription::From:
      return "from";
    case Subscription::Both:
      return "both";
  }
  return "none";
}

std::optional<Subscription> parseSubscription(std::string_view name) {
  if (name == "none") return Subscription::None;
  if (name == "to") return Subscription::To;
  if (name == "from") return Subscription::From;
  if (name == "both") return Subscription::Both;
  return std::nullopt;
}

std::optional<SubscriptionType> parseSubscriptionType(std::string_view type) {
  if (type == "subscribe") return SubscriptionType::Subscribe;
  if (type == "subscribed") return SubscriptionType::Subscribed;
  if (type == "unsubscribe") return SubscriptionType::Unsubscribe;
  if (type == "unsubscribed") return SubscriptionType::Unsubscribed;
  return std::nullopt;
}

SubscriptionOutcome outbound(SubscriptionState state, SubscriptionType type) {
  SubscriptionOutcome out{state};
  auto& next = out.state;
  switch (type) {
    case SubscriptionType::Subscribe:
      // A.2.1: None -> None + Pending Out, From -> From + Pending Out; already 'to' or
      // 'both': no change. Routed in every case: the contact's server answers for itself.
      if (!isSubscribedTo(state.subscription)) next.pending_out = true;
      out.forward = true;
      break;
    case SubscriptionType::Unsubscribe:
      // A.2.2: the "to" half and Pending Out go away.
      next.pending_out = false;
      next.subscription = withTo(state.subscription, false);
      out.forward = true;
      break;
    case SubscriptionType::Subscribed:
      if (state.pending_in) {
        // A.2.3: approving a request: Pending In becomes "from".
        next.pending_in = false;
        next.approved = false;
        next.subscription = withFrom(state.subscription, true);
        out.forward = true;
        out.send_presence = true;
      } else if (!isSubscriber(state.subscription)) {
        // §3.4: no request yet: a pre-approval, kept and never routed.
        next.approved = true;
      }
      break;
    case SubscriptionType::Unsubscribed:
      // A.2.4: denies Pending In, cancels "from" and any pre-approval. Routed in every case
      // so a contact whose state drifted from ours is brought back in line.
      next.pending_in = false;
      next.approved = false;
      next.subscription = withFrom(state.subscription, false);
      out.send_unavailable = isSubscriber(state.subscription);
      out.forward = true;
      break;
  }
  return out;
}

SubscriptionOutcome inbound(SubscriptionState state, SubscriptionType type) {
  SubscriptionOutcome out{state};
  auto& next = out.state;
  switch (type) {
    case SubscriptionType::Subscribe:
      if (isSubscriber(state.subscription)) {
        // §3.1.3: already subscribed: answer for the user, no state change.
        out.auto_reply_subscribed = true;
      } else if (state.approved) {
        // §3.4: pre-approved: the subscription is granted at once.
        next.approved = false;
        next.pending_in = false;
        next.subscription = withFrom(state.subscription, true);
        out.auto_reply_subscribed = true;
        out.send_presence = true;
      } else {
        // A.3.1: -> Pending In; the request goes to the user (again, if it was pending).
        next.pending_in = true;
        out.forward = true;
      }
      break;
    case SubscriptionType::Unsubscribe:
      // A.3.2: the contact no longer wants our presence: Pending In and "from" end.
      next.pending_in = false;
      next.subscription = withFrom(state.subscription, false);
      out.forward = next != state;
      break;
    case SubscriptionType::Subscribed:
      // A.3.3: only an answer to our own pending request counts.
      if (state.pending_out) {
        next.pending_out = false;
        next.subscription = withTo(state.subscription, true);
        out.forward = true;
      }
      break;
    case SubscriptionType::Unsubscribed:
      // A.3.4: our request was denied, or our subscription cancelled.
      next.pending_out = false;
      next.subscription = withTo(state.subscription, false);
      out.forward = next != state;
      break;
  }
  return out;
}

}  // namespace parley::modules::roster
