"""Routing (CONTRACT §2): message_type with wildcards, facility, facility_kind;
a message matching no route is FILTERED (and AA'd), never an error."""

import unittest

import hub as H


class RoutingTest(H.HubTestCase):
    @classmethod
    def make_hub(cls):
        cls.a, cls.b, cls.c = H.FakeHttpDestination(), H.FakeHttpDestination(), H.FakeHttpDestination()
        cls.dests += [cls.a, cls.b, cls.c]
        return H.Hub(
            destinations=[H.http_destination("a", cls.a), H.http_destination("b", cls.b),
                          H.http_destination("c", cls.c)],
            routes=[
                H.route("adt-any", ["a"], message_type="ADT^*"),
                H.route("labs-from-villages", ["b"], message_type="ORU^R01", facility_kind="village"),
                H.route("charges-from-wsy01", ["c"], message_type="DFT^P03", facility="WSY01"),
                H.route("a04-also-to-c", ["c"], message_type="ADT^A04", facility="XQRMYY"),
            ])

    def send_ok(self, msg, ctl):
        ack = self.hub.send(msg)
        self.assertEqual((ack.msa_code, ack.control_id), ("AA", ctl), ack)
        return self.hub.message_id(ctl)

    def delivered_to(self, dest, ctl):
        return H.wait_until(lambda: ctl in dest.delivered_ids(), what=f"{ctl} delivered")

    def test_wildcard_message_type(self):
        msg, ctl = H.adt("A08", facility="CWS001", patient=H.Patient(50))
        mid = self.send_ok(msg, ctl)
        self.hub.wait_status(mid, "SENT")
        self.assertIn(ctl, self.a.delivered_ids())
        self.assertNotIn(ctl, self.b.delivered_ids() + self.c.delivered_ids())

    def test_three_component_msh9_matches_two_component_route_and_fans_out(self):
        msg, ctl = H.adt("A04", facility="XQRMYY", patient=H.Patient(51))  # ADT^A04^ADT_A01
        mid = self.send_ok(msg, ctl)
        d = self.hub.wait_status(mid, "SENT")
        self.assertIn(ctl, self.a.delivered_ids())
        self.assertIn(ctl, self.c.delivered_ids())
        self.assertEqual(sorted(H.get(x, "destination", "destination_id") for x in H.deliveries_of(d)), ["a", "c"])

    def test_two_component_msh9(self):
        msg, ctl = H.adt("A28", facility="WSY01", patient=H.Patient(52), structure=False)
        self.hub.wait_status(self.send_ok(msg, ctl), "SENT")
        self.assertIn(ctl, self.a.delivered_ids())

    def test_facility_kind(self):
        village, c1 = H.oru(facility="CWS001", patient=H.Patient(53))
        county, c2 = H.oru(facility="XQRMYY", patient=H.Patient(54))
        m1 = self.send_ok(village, c1)
        m2 = self.send_ok(county, c2)
        self.hub.wait_status(m1, "SENT")
        self.assertIn(c1, self.b.delivered_ids())
        self.hub.wait_status(m2, "FILTERED")
        self.assertNotIn(c2, self.a.delivered_ids() + self.b.delivered_ids() + self.c.delivered_ids())

    def test_facility(self):
        ok, c1 = H.dft(facility="WSY01", patient=H.Patient(55))
        other, c2 = H.dft(facility="CWS001", patient=H.Patient(56))
        self.hub.wait_status(self.send_ok(ok, c1), "SENT")
        self.assertIn(c1, self.c.delivered_ids())
        self.hub.wait_status(self.send_ok(other, c2), "FILTERED")
        self.assertNotIn(c2, self.c.delivered_ids())

    def test_no_route_filtered_not_error_over_http(self):
        msg, ctl = H.oru(facility="WSY01", patient=H.Patient(57))
        r = self.hub.post_hl7(msg, "WSY01")
        self.assertEqual(r.status, 202, r)
        d = self.hub.wait_status(r.json()["id"], "FILTERED")
        self.assertEqual(H.deliveries_of(d), [])
        self.assertIsNone(self.hub.find_error(ctl), "a filtered message is not an error")


if __name__ == "__main__":
    unittest.main()
