#include "engine/router.h"

#include <gtest/gtest.h>

namespace hie {
namespace {

TEST(MessageTypeMatchesTest, WildcardsAndComponents) {
  EXPECT_TRUE(MessageTypeMatches("ADT^A04", "ADT^A04"));
  EXPECT_TRUE(MessageTypeMatches("ADT^A04", "ADT^A04^ADT_A01"));
  EXPECT_TRUE(MessageTypeMatches("ADT^*", "ADT^A08"));
  EXPECT_TRUE(MessageTypeMatches("*", "ORU^R01"));
  EXPECT_TRUE(MessageTypeMatches("ADT", "ADT^A01"));
  EXPECT_TRUE(MessageTypeMatches("*^R01", "ORU^R01"));
  EXPECT_TRUE(MessageTypeMatches("ADT^A0*", "ADT^A04"));
  EXPECT_FALSE(MessageTypeMatches("ADT^A0*", "ADT^A40"));
  EXPECT_FALSE(MessageTypeMatches("ADT^A04", "ADT^A08"));
  EXPECT_FALSE(MessageTypeMatches("ADT^*", "ORU^R01"));
  EXPECT_FALSE(MessageTypeMatches("ORU^R01", "ORU"));
}

Config TwoRoutes() {
  Config c;
  RouteConfig labs;
  labs.id = "labs";
  labs.when.message_types = {"ORU^R01"};
  labs.to = {"county", "archive"};
  RouteConfig villages;
  villages.id = "village-adt";
  villages.when.message_types = {"ADT^*"};
  villages.when.facility_kinds = {FacilityKind::kVillage};
  villages.to = {"county"};
  RouteConfig one;
  one.id = "one-facility";
  one.when.facilities = {"XQRMYY"};
  one.to = {"archive"};
  c.routes = {labs, villages, one};
  return c;
}

TEST(RouterTest, UnionOfMatchingRoutesWithoutRepeats) {
  Router r(TwoRoutes());
  RouteInput in{"ORU^R01", "XQRMYY", FacilityKind::kCounty, ""};
  auto d = r.Route(in);
  EXPECT_EQ(d.route_ids, (std::vector<std::string>{"labs", "one-facility"}));
  EXPECT_EQ(d.destination_ids, (std::vector<std::string>{"county", "archive"}));
}

TEST(RouterTest, FacilityKindMustMatch) {
  Router r(TwoRoutes());
  EXPECT_EQ(r.Route({"ADT^A04", "CWS001", FacilityKind::kVillage, ""}).destination_ids,
            std::vector<std::string>{"county"});
  EXPECT_TRUE(r.Route({"ADT^A04", "WSY01", FacilityKind::kTownship, ""}).destination_ids.empty());
}

TEST(RouterTest, NoMatchIsEmpty) {
  Router r(TwoRoutes());
  EXPECT_TRUE(r.Route({"DFT^P03", "CWS001", FacilityKind::kVillage, ""}).route_ids.empty());
}

}  // namespace
}  // namespace hie
