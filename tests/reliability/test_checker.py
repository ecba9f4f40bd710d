"""tests/reliability/test_checker.py - the checker judged on records written
by hand: a campaign whose checker could not tell a miss from a cover would
prove nothing, so run.sh runs this first.

  /usr/bin/python3 tests/reliability/test_checker.py
"""

import json
import os
import shutil
import tempfile
import unittest

from checker import Checker, Run

# Channel 0 gets messages 1..6, written and sent at t = 10, 11, ... 15.
MESSAGES = [(seq, 9.0 + seq) for seq in range(1, 7)]


class Tab:
    """Records of one tab (id 0, client process 0) following channel 0."""

    def __init__(self):
        self.lines = ["A 0 ws 0"]
        self.pl = 0
        self.conn = 0

    def render(self, t, val):
        self.pl += 1
        self.lines.append(f"R 0 {self.pl} {t} {val} {t + 1000.0} {t + 1000.0} api")
        return self

    def connect(self, t, subscribed=None):
        self.conn += 1
        self.lines.append(f"C 0 {self.pl} {self.conn} {t}")
        if subscribed is not None:
            self.lines.append(f"S 0 {self.pl} {self.conn} {subscribed}")
        return self

    def lost(self, t):
        self.lines.append(f"X 0 {self.pl} {self.conn} {t} 0 reset")
        return self

    def unload(self, t):
        self.lines.append(f"X 0 {self.pl} {self.conn} {t} 1000 reload")
        return self

    def get(self, *seqs):
        """Direct deliveries, each 0.05 s after its message was sent."""
        for seq in seqs:
            self.lines.append(f"D 0 {self.conn} 0 {seq} {9.05 + seq}")
        return self

    def get_at(self, t, *seqs):
        """Direct deliveries read at t (a tab behind on its socket)."""
        for seq in seqs:
            self.lines.append(f"D 0 {self.conn} 0 {seq} {t}")
        return self

    def refetch(self, label, t, val):
        self.lines.append(f"F 0 {self.conn} {label} 0 {t} {val}")
        return self

    def status(self, t, state):
        self.lines.append(f"T 0 {self.conn} {t} {state}")
        return self

    def end(self, t, ok=True):
        self.lines.append(f"E 0 {t} {1 if ok else 0}")
        return self


def judge(tab, faults=(), results=None):
    """The checker's figures for one tab; results: {seq: what Redis
    answered} where it is not 1 (T: timed out, E: failed)."""
    out = tempfile.mkdtemp(prefix="checker-test-")
    try:
        with open(os.path.join(out, "run.json"), "w") as f:
            json.dump({"names": ["c0"], "fault_kinds": ["client_stall", "redis_kill"],
                       "render_slack_ms": 1000}, f)
        with open(os.path.join(out, "publisher.log"), "w") as f:
            for seq, t in MESSAGES:
                result = (results or {}).get(seq, 1)
                done = t + (1.0 if result == "T" else 0.001)
                f.write(f"P 0 {seq} {t} {t} {done} {result}\n")
        with open(os.path.join(out, "faults.log"), "w") as f:
            for kind, t0, t1, detail in faults:
                f.write(f"F {kind} {t0} {t1} {detail}\n")
        with open(os.path.join(out, "tabs-0.log"), "w") as f:
            f.write("\n".join(tab.lines) + "\n")
        return Checker(Run(out)).figures()
    finally:
        shutil.rmtree(out)


def covered(fig):
    c = fig["coverage"]
    return {k: v for k, v in c.items() if v and k != "checked"}


class CoverageRule(unittest.TestCase):
    def test_every_message_delivered(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2, 3, 4, 5, 6).end(20))
        self.assertEqual(covered(fig), {"direct": 6})

    def test_a_skipped_message_is_a_silent_miss_even_if_later_ones_came(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2, 4, 5, 6).end(20))
        self.assertEqual(covered(fig), {"direct": 5, "silent_unexplained": 1})
        self.assertEqual(fig["miss_samples"][0]["seq"], 3)

    def test_messages_before_the_first_render_are_not_the_tabs(self):
        fig = judge(Tab().render(12.5, 3).connect(12.6, 12.7).get(4, 5, 6).end(20))
        self.assertEqual(covered(fig), {"direct": 3})

    def test_resync_covers_what_was_written_before_its_refetch(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).status(12.2, "down")
                    .status(13.4, "up").refetch("resync", 13.5, 4).get(5, 6).end(20))
        self.assertEqual(covered(fig), {"direct": 4, "resync": 2})
        self.assertEqual(fig["refetches"]["resync"], {"total": 1, "justified": 1, "extra": 0})

    def test_a_refetch_before_the_message_does_not_cover_it(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).status(11.2, "down")
                    .refetch("resync", 11.5, 2).get(4, 5, 6).end(20))
        self.assertEqual(covered(fig), {"direct": 5, "silent_unexplained": 1})
        self.assertEqual(fig["refetches"]["resync"]["extra"], 1)

    def test_a_resync_after_an_outage_that_began_long_after_the_message_does_not_cover_it(self):
        # 3 was lost on a live link at 12; an unrelated outage at 18 must not hide it
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).status(18, "down")
                    .status(18.5, "up").refetch("resync", 18.6, 6).end(25))
        self.assertEqual(covered(fig), {"direct": 2, "silent_unexplained": 1, "resync": 3})

    def test_a_publish_that_waited_in_a_hung_redis_counts_from_its_resumption(self):
        # 3 is sent at 12 into a Redis hung from 11.9 to 19; livegate notices
        # the hang late (17.5) and resyncs after it: Redis ran 3 at 19 at best.
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).status(17.5, "down")
                    .status(19.2, "up").refetch("resync", 19.3, 6).end(25),
                    faults=[("redis_hang", 11.9, 19.0, "hang=7.1s")], results={3: "T"})
        self.assertEqual(covered(fig), {"direct": 2, "resync": 4})

    def test_an_acknowledged_publish_long_before_the_outage_is_not_covered_by_it(self):
        # 3 was acknowledged at 12.001, more than 5 s before the hang began
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).status(17.5, "down")
                    .status(19.2, "up").refetch("resync", 19.3, 6).end(25),
                    faults=[("redis_hang", 17.2, 19.0, "hang=1.8s")])
        self.assertEqual(covered(fig), {"direct": 2, "silent_unexplained": 1, "resync": 3})

    def test_an_outage_a_busy_tab_learnt_of_late_began_with_its_fault(self):
        # Redis killed at 11.8; the tab's process, behind on its socket,
        # reads "down" at 18.5: 3 and 4 failed after the kill, the resync
        # answers that outage.
        tab = (Tab().render(5, 0).connect(5.5, 6).get(1, 2).status(18.5, "down")
               .status(19.5, "up").refetch("resync", 19.6, 6).end(25))
        failed = {3: "E", 4: "E", 5: "E", 6: "E"}
        fig = judge(tab, faults=[("redis_kill", 11.8, 19.0, "down=7.2s")], results=failed)
        self.assertEqual(covered(fig), {"direct": 2, "resync": 4})
        # with no fault under way when it learnt of it, the outage is dated
        # by the tab's reading, and 3 and 4 came long before it
        fig = judge(tab, faults=[("redis_kill", 1.0, 2.0, "down=1s")], results=failed)
        self.assertEqual(covered(fig), {"direct": 2, "silent_unexplained": 2, "resync": 2})

    def test_a_loss_a_busy_tab_learnt_of_late_happened_with_its_fault(self):
        tab = (Tab().render(5, 0).connect(5.5, 6).get(1, 2).lost(19.0)
               .connect(19.4, 19.5).refetch("reconnect", 19.5, 6).end(25))
        fig = judge(tab, faults=[("worker_kill", 14.5, 14.5, "pid=1")])
        self.assertEqual(covered(fig), {"direct": 2, "reconnect": 4})
        fig = judge(tab, faults=[("worker_kill", 2.0, 2.0, "pid=1")])
        self.assertEqual(covered(fig), {"direct": 2, "silent_unexplained": 2, "reconnect": 2})

    def test_a_loss_found_on_waking_from_a_stall_may_have_happened_during_it(self):
        # stopped 11.5-19.0, the tab finds its connection gone at 19.1
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).lost(19.1)
                    .connect(19.4, 19.5).refetch("reconnect", 19.5, 6).end(25),
                    faults=[("client_stall", 11.5, 19.0, "proc=0 stall=7.5s burst=no")])
        self.assertEqual(covered(fig), {"direct": 2, "reconnect": 4})

    def test_a_resync_without_an_outage_told_covers_nothing(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).refetch("resync", 13.5, 4)
                    .get(5, 6).end(20))
        self.assertEqual(covered(fig), {"direct": 4, "silent_unexplained": 2})

    def test_a_reconnect_long_after_the_loss_of_a_message_does_not_cover_it(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2, 4, 5).lost(19.5)
                    .connect(19.8, 20).refetch("reconnect", 20, 6).end(25))
        self.assertEqual(covered(fig), {"direct": 4, "silent_unexplained": 1, "reconnect": 1})

    def test_a_missed_on_a_later_connection_does_not_cover_the_first_gap(self):
        fig = judge(Tab().render(9.5, 0).connect(10.2, 10.5).get(2, 3, 4, 5).lost(16.5)
                    .connect(17.9, 18).refetch("missed", 18, 6).end(25))
        self.assertEqual(covered(fig), {"direct": 4, "silent_gap": 1, "missed": 1})

    def test_a_coalesced_long_after_the_message_does_not_cover_it(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).refetch("coalesced", 18.5, 6)
                    .end(25))
        self.assertEqual(covered(fig), {"direct": 2, "silent_unexplained": 2, "coalesced": 2})

    def test_a_coalesced_read_late_in_a_stream_behind_covers_what_it_replaced(self):
        # the tab reads its socket 9 s behind: 1 at 19.0, the coalesced
        # (livegate wrote it right behind 1) at 19.01, then 6
        tab = Tab().render(5, 0).connect(5.5, 6).get_at(19.0, 1).refetch("coalesced", 19.01, 5)
        fig = judge(tab.get_at(19.02, 6).end(25))
        self.assertEqual(covered(fig), {"direct": 2, "coalesced": 4})
        # with nothing read just before it, its arrival dates it
        tab = Tab().render(5, 0).connect(5.5, 6).get_at(17.0, 1).refetch("coalesced", 19.01, 5)
        fig = judge(tab.get_at(19.02, 6).end(25))
        self.assertEqual(covered(fig), {"direct": 2, "silent_unexplained": 4})

    def test_a_coalesced_after_a_stall_covers_what_the_stall_held_back(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).refetch("coalesced", 18.5, 6)
                    .end(25), faults=[("client_stall", 11.9, 18.4, "proc=0 stall=6.5s burst=yes")])
        self.assertEqual(covered(fig), {"direct": 2, "coalesced": 4})

    def test_a_message_sent_before_subscribed_is_a_gap_miss(self):
        fig = judge(Tab().render(9.5, 0).connect(10.2, 10.5).get(2, 3, 4, 5, 6).end(20))
        self.assertEqual(covered(fig), {"direct": 5, "silent_gap": 1})
        self.assertEqual(fig["gap_pageloads"], 1)

    def test_missed_covers_the_gap(self):
        fig = judge(Tab().render(9.5, 0).connect(10.2, 10.5).refetch("missed", 10.6, 1)
                    .get(2, 3, 4, 5, 6).end(20))
        self.assertEqual(covered(fig), {"direct": 5, "missed": 1})
        self.assertEqual(fig["refetches"]["missed"], {"total": 1, "justified": 1, "extra": 0,
                                                      "no_publish": 0})

    def test_a_missed_without_any_publish_since_iat_less_the_slack_is_counted(self):
        fig = judge(Tab().render(16.5, 6).connect(16.6, 16.7).refetch("missed", 16.8, 6).end(20))
        self.assertEqual(fig["refetches"]["missed"], {"total": 1, "justified": 0, "extra": 1,
                                                      "no_publish": 1})

    def test_a_missed_after_a_publish_within_the_slack_is_not(self):
        fig = judge(Tab().render(15.5, 6).connect(15.6, 15.7).refetch("missed", 15.8, 6).end(20))
        self.assertEqual(fig["refetches"]["missed"], {"total": 1, "justified": 0, "extra": 1,
                                                      "no_publish": 0})

    def test_reconnect_refetch_covers_what_the_lost_connection_missed(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).lost(11.5)
                    .connect(13.4, 13.5).refetch("reconnect", 13.5, 4).get(5, 6).end(20))
        self.assertEqual(covered(fig), {"direct": 4, "reconnect": 2})

    def test_a_message_in_flight_at_unload_is_the_next_pages(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2, 3, 4, 5).unload(15.1)
                    .render(15.1, 6).connect(16, 16.1).end(20))
        self.assertEqual(covered(fig), {"direct": 5, "reload": 1})

    def test_a_page_that_stayed_long_enough_must_have_got_it(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).unload(21)
                    .render(21, 6).connect(21.5, 21.6).end(25))
        self.assertEqual(covered(fig), {"direct": 2, "silent_unexplained": 4})

    def test_time_the_tabs_process_was_stopped_does_not_count(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).unload(21)
                    .render(21, 6).connect(21.5, 21.6).end(25),
                    faults=[("client_stall", 11.8, 20.9, "proc=0 stall=9.1s burst=no")])
        self.assertEqual(covered(fig), {"direct": 2, "reload": 4})

    def test_a_page_told_redis_is_down_is_not_silently_stale(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).status(12.5, "down").unload(21)
                    .render(21, 6).connect(21.5, 21.6).end(25))
        self.assertEqual(covered(fig), {"direct": 2, "reload": 4})

    def test_a_page_told_late_of_an_outage_that_began_with_its_fault_is_not_silently_stale(self):
        tab = (Tab().render(5, 0).connect(5.5, 6).get(1, 2).status(18.5, "down").unload(18.8)
               .render(18.8, 6).connect(19.5, 19.6).end(25))
        failed = {3: "E", 4: "E", 5: "E", 6: "E"}
        fig = judge(tab, faults=[("redis_kill", 11.8, 19.0, "down=7.2s")], results=failed)
        self.assertEqual(covered(fig), {"direct": 2, "reload": 4})
        fig = judge(tab, faults=[("redis_kill", 1.0, 2.0, "down=1s")], results=failed)
        self.assertEqual(covered(fig), {"direct": 2, "silent_unexplained": 2, "reload": 2})

    def test_a_later_message_proves_the_earlier_one_was_skipped(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2, 4).unload(13.5)
                    .render(13.5, 4).connect(14, 14.1).get(5, 6).end(20))
        self.assertEqual(covered(fig), {"direct": 5, "silent_unexplained": 1})

    def test_a_tab_never_back_is_unconverged(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).lost(11.5).end(20, ok=False))
        self.assertEqual(covered(fig), {"direct": 2, "silent_unconverged": 4})

    def test_duplicates_are_counted(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2, 2, 3, 4, 5, 6).end(20))
        self.assertEqual(fig["duplicates"], 1)


class Convergence(unittest.TestCase):
    def test_time_from_the_faults_end_to_the_latest_message(self):
        # At the fault's end (12.5) the latest is 3 (sent at 12); the tab
        # learns of it by a resync at 13.0.
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2).status(11.6, "down")
                    .status(12.9, "up").refetch("resync", 13.0, 4).get(5, 6).end(20),
                    faults=[("redis_kill", 11.5, 12.5, "down=1s")])
        self.assertAlmostEqual(fig["faults"]["redis_kill"]["converge_p50_s"], 0.5, places=6)

    def test_a_tab_that_already_knew_took_no_time(self):
        fig = judge(Tab().render(5, 0).connect(5.5, 6).get(1, 2, 3, 4, 5, 6).end(20),
                    faults=[("redis_kill", 12.5, 12.5, "down=0s")])
        self.assertEqual(fig["faults"]["redis_kill"]["converge_p50_s"], 0.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
