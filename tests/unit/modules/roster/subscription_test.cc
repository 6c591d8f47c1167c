// The subscription state machine against the state tables of RFC 6121 Appendix A.
#include "roster/subscription.h"

#include <catch2/catch.hpp>

namespace parley::modules::roster {
namespace {

// A state written as in Appendix A: "None", "None + Pending Out", "To + Pending In", ...
SubscriptionState state(Subscription s, bool out = false, bool in = false, bool approved = false) {
  return {s, out, in, approved};
}

constexpr auto None = Subscription::None;
constexpr auto To = Subscription::To;
constexpr auto From = Subscription::From;
constexpr auto Both = Subscription::Both;

struct Row {
  SubscriptionState before;
  SubscriptionState after;
  bool forward;
};

void checkTable(SubscriptionType type, bool is_outbound, const std::vector<Row>& rows) {
  for (const auto& row : rows) {
    auto out = is_outbound ? outbound(row.before, type) : inbound(row.before, type);
    INFO("before: sub=" << subscriptionName(row.before.subscription)
                        << " out=" << row.before.pending_out << " in=" << row.before.pending_in);
    CHECK(out.state == row.after);
    CHECK(out.forward == row.forward);
  }
}

TEST_CASE("outbound subscribe follows Appendix A.2.1", "[roster][subscription]") {
  checkTable(SubscriptionType::Subscribe, true,
             {
                 {state(None), state(None, true), true},
                 {state(None, true), state(None, true), true},
                 {state(None, false, true), state(None, true, true), true},
                 {state(None, true, true), state(None, true, true), true},
                 {state(To), state(To), true},
                 {state(To, false, true), state(To, false, true), true},
                 {state(From), state(From, true), true},
                 {state(From, true), state(From, true), true},
                 {state(Both), state(Both), true},
             });
}

TEST_CASE("outbound unsubscribe follows Appendix A.2.2", "[roster][subscription]") {
  checkTable(SubscriptionType::Unsubscribe, true,
             {
                 {state(None), state(None), true},
                 {state(None, true), state(None), true},
                 {state(None, false, true), state(None, false, true), true},
                 {state(None, true, true), state(None, false, true), true},
                 {state(To), state(None), true},
                 {state(To, false, true), state(None, false, true), true},
                 {state(From), state(From), true},
                 {state(From, true), state(From), true},
                 {state(Both), state(From), true},
             });
}

TEST_CASE("outbound subscribed follows Appendix A.2.3 and pre-approves otherwise",
          "[roster][subscription]") {
  checkTable(SubscriptionType::Subscribed, true,
             {
                 // Approving a pending request.
                 {state(None, false, true), state(From), true},
                 {state(None, true, true), state(From, true), true},
                 {state(To, false, true), state(Both), true},
                 // §3.4: no request: a pre-approval, never routed.
                 {state(None), state(None, false, false, true), false},
                 {state(None, true), state(None, true, false, true), false},
                 {state(To), state(To, false, false, true), false},
                 // Already a subscriber: nothing to do.
                 {state(From), state(From), false},
                 {state(From, true), state(From, true), false},
                 {state(Both), state(Both), false},
             });
  auto approve = outbound(state(None, false, true), SubscriptionType::Subscribed);
  CHECK(approve.send_presence);
}

TEST_CASE("outbound unsubscribed follows Appendix A.2.4", "[roster][subscription]") {
  checkTable(SubscriptionType::Unsubscribed, true,
             {
                 {state(None), state(None), true},
                 {state(None, true), state(None, true), true},
                 {state(None, false, true), state(None), true},
                 {state(None, true, true), state(None, true), true},
                 {state(To), state(To), true},
                 {state(To, false, true), state(To), true},
                 {state(From), state(None), true},
                 {state(From, true), state(None, true), true},
                 {state(Both), state(To), true},
                 // Cancels a pre-approval (§3.4).
                 {state(None, false, false, true), state(None), true},
             });
  CHECK(outbound(state(Both), SubscriptionType::Unsubscribed).send_unavailable);
  CHECK_FALSE(outbound(state(To), SubscriptionType::Unsubscribed).send_unavailable);
}

TEST_CASE("inbound subscribe follows Appendix A.3.1", "[roster][subscription]") {
  checkTable(SubscriptionType::Subscribe, false,
             {
                 {state(None), state(None, false, true), true},
                 {state(None, true), state(None, true, true), true},
                 {state(None, false, true), state(None, false, true), true},
                 {state(To), state(To, false, true), true},
                 {state(From), state(From), false},
                 {state(From, true), state(From, true), false},
                 {state(Both), state(Both), false},
             });
  CHECK(inbound(state(Both), SubscriptionType::Subscribe).auto_reply_subscribed);
  CHECK_FALSE(inbound(state(None), SubscriptionType::Subscribe).auto_reply_subscribed);
}

TEST_CASE("inbound subscribe to a pre-approved contact is granted at once",
          "[roster][subscription]") {
  auto none = inbound(state(None, false, false, true), SubscriptionType::Subscribe);
  CHECK(none.state == state(From));
  CHECK(none.auto_reply_subscribed);
  CHECK(none.send_presence);
  CHECK_FALSE(none.forward);
  auto to = inbound(state(To, false, false, true), SubscriptionType::Subscribe);
  CHECK(to.state == state(Both));
}

TEST_CASE("inbound unsubscribe follows Appendix A.3.2", "[roster][subscription]") {
  checkTable(SubscriptionType::Unsubscribe, false,
             {
                 {state(None), state(None), false},
                 {state(None, true), state(None, true), false},
                 {state(None, false, true), state(None), true},
                 {state(None, true, true), state(None, true), true},
                 {state(To), state(To), false},
                 {state(To, false, true), state(To), true},
                 {state(From), state(None), true},
                 {state(From, true), state(None, true), true},
                 {state(Both), state(To), true},
             });
}

TEST_CASE("inbound subscribed follows Appendix A.3.3", "[roster][subscription]") {
  checkTable(SubscriptionType::Subscribed, false,
             {
                 {state(None), state(None), false},
                 {state(None, true), state(To), true},
                 {state(None, false, true), state(None, false, true), false},
                 {state(None, true, true), state(To, false, true), true},
                 {state(To), state(To), false},
                 {state(From), state(From), false},
                 {state(From, true), state(Both), true},
                 {state(Both), state(Both), false},
             });
}

TEST_CASE("inbound unsubscribed follows Appendix A.3.4", "[roster][subscription]") {
  checkTable(SubscriptionType::Unsubscribed, false,
             {
                 {state(None), state(None), false},
                 {state(None, true), state(None), true},
                 {state(None, false, true), state(None, false, true), false},
                 {state(None, true, true), state(None, false, true), true},
                 {state(To), state(None), true},
                 {state(To, false, true), state(None, false, true), true},
                 {state(From), state(From), false},
                 {state(From, true), state(From), true},
                 {state(Both), state(From), true},
             });
}

TEST_CASE("subscription names round-trip", "[roster][subscription]") {
  for (auto s : {None, To, From, Both}) CHECK(parseSubscription(subscriptionName(s)) == s);
  CHECK_FALSE(parseSubscription("remove").has_value());
  CHECK(parseSubscriptionType("subscribe") == SubscriptionType::Subscribe);
  CHECK_FALSE(parseSubscriptionType("probe").has_value());
  CHECK_FALSE(parseSubscriptionType("").has_value());
}

}  // namespace
}  // namespace parley::modules::roster
