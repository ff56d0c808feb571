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

TEST(RouterTest, DocumentTypeMatchesOnlyDocumentsOfThatType) {
  Config c;
  RouteConfig lab_docs;
  lab_docs.id = "lab-docs";
  lab_docs.when.document_types = {"C0007"};
  lab_docs.to = {"county"};
  RouteConfig labs;
  labs.id = "labs";
  labs.when.message_types = {"ORU^R01"};
  labs.to = {"archive"};
  RouteConfig both;
  both.id = "township-lab-docs";
  both.when.document_types = {"C0007", "C0006"};
  both.when.facility_kinds = {FacilityKind::kTownship};
  both.to = {"township"};
  c.routes = {lab_docs, labs, both};
  Router r(c);
  // A CDA lab report matches by document type and by its v2 type.
  EXPECT_EQ(r.Route({"ORU^R01", "WSY01", FacilityKind::kTownship, "C0007"}).route_ids,
            (std::vector<std::string>{"lab-docs", "labs", "township-lab-docs"}));
  // An HL7 v2 ORU^R01 has no document type: only the message-type route.
  EXPECT_EQ(r.Route({"ORU^R01", "WSY01", FacilityKind::kTownship, ""}).route_ids,
            std::vector<std::string>{"labs"});
  // Another document type; and every key of a route must match.
  EXPECT_TRUE(r.Route({"ADT^A04", "WSY01", FacilityKind::kTownship, "C0002"}).route_ids.empty());
  EXPECT_EQ(r.Route({"ORU^R01", "CWS001", FacilityKind::kVillage, "C0006"}).route_ids,
            std::vector<std::string>{"labs"});
}

}  // namespace
}  // namespace hie
