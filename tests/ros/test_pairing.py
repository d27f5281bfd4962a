"""Stamp pairing, the latest-frame slot, throttling and counters (pure Python)."""

from __future__ import annotations

import threading

import pytest

pytestmark = pytest.mark.ros

from rigidpose_ros.health import Health, Throttle
from rigidpose_ros.pairing import LatestSlot, StampPairer

MS = 1_000_000


def test_pairs_image_then_depth_within_tolerance():
    p = StampPairer(tolerance_ns=10 * MS)
    assert p.add_image(100 * MS, "img") is None
    pair = p.add_depth(105 * MS, "dep")
    assert (pair.stamp_ns, pair.image, pair.depth, pair.depth_stamp_ns) == (100 * MS, "img", "dep", 105 * MS)


def test_pairs_depth_then_image_and_keeps_image_stamp():
    p = StampPairer(tolerance_ns=10 * MS)
    assert p.add_depth(200 * MS, "d") is None
    pair = p.add_image(195 * MS, "i")
    assert (pair.stamp_ns, pair.image, pair.depth) == (195 * MS, "i", "d")


def test_out_of_tolerance_never_pairs():
    p = StampPairer(tolerance_ns=10 * MS)
    assert p.add_image(0, "i") is None
    assert p.add_depth(11 * MS, "d") is None
    assert p.add_depth(-11 * MS, "d2") is None


def test_picks_the_closest_partner_and_drops_older_ones_as_stale():
    p = StampPairer(tolerance_ns=30 * MS)
    for t in (0, 33, 66):
        assert p.add_depth(t * MS, f"d{t}") is None
    pair = p.add_image(60 * MS, "i60")
    assert pair.depth == "d66"
    assert p.unpaired == 2  # d0 and d33 can no longer pair with anything newer
    assert p.add_image(61 * MS, "late") is None  # d66 was consumed


def test_newer_pair_discards_older_waiting_images():
    p = StampPairer(tolerance_ns=5 * MS)
    p.add_image(0, "old")
    p.add_image(100 * MS, "new")
    assert p.add_depth(101 * MS, "d").image == "new"
    assert p.unpaired == 1
    assert p.add_depth(1 * MS, "d_old") is None  # "old" was discarded


def test_buffer_is_bounded():
    p = StampPairer(tolerance_ns=0, max_buffer=3)
    for i in range(10):
        p.add_image(i * 100 * MS, i)
    assert p.unpaired == 7
    assert p.add_depth(900 * MS, "d").image == 9


def test_without_depth_images_pass_straight_through():
    p = StampPairer(tolerance_ns=0, use_depth=False)
    pair = p.add_image(5, "i")
    assert (pair.stamp_ns, pair.image, pair.depth) == (5, "i", None)
    assert p.add_depth(5, "d") is None


def test_pairer_rejects_bad_arguments():
    with pytest.raises(ValueError):
        StampPairer(tolerance_ns=-1)
    with pytest.raises(ValueError):
        StampPairer(tolerance_ns=0, max_buffer=0)


def test_latest_slot_keeps_only_the_newest_and_counts_drops():
    slot: LatestSlot[int] = LatestSlot()
    for i in range(5):
        slot.put(i)
    assert slot.take(timeout=0) == 4
    assert slot.dropped == 4
    assert slot.take(timeout=0.01) is None


def test_latest_slot_wakes_a_waiting_worker_and_closes():
    slot: LatestSlot[str] = LatestSlot()
    got = []
    t = threading.Thread(target=lambda: got.append(slot.take(timeout=5)))
    t.start()
    slot.put("frame")
    t.join(2)
    assert got == ["frame"]
    t2 = threading.Thread(target=lambda: got.append(slot.take(timeout=5)))
    t2.start()
    slot.close()
    t2.join(2)
    assert not t2.is_alive() and got[-1] is None and slot.closed


def test_throttle_allows_one_per_period_per_key_and_counts_suppressed():
    now = [0.0]
    th = Throttle(5.0, clock=lambda: now[0])
    assert th.allow("a") == (True, 0)
    assert th.allow("a") == (False, 0)
    assert th.allow("b") == (True, 0)  # other kinds are not throttled by "a"
    assert th.allow("a") == (False, 0)
    now[0] = 5.0
    assert th.allow("a") == (True, 2)


def test_health_snapshot_counts():
    h = Health()
    h.got("image")
    h.got("image")
    h.reject("image", "encoding", "bad encoding 'x'")
    h.count("processed")
    s = h.snapshot(extra=1)
    assert s["received"] == {"image": 2}
    assert s["rejected"] == {"image:encoding": 1} and s["rejected_total"] == 1
    assert s["frames"] == {"processed": 1} and s["extra"] == 1
    assert s["last_error"] == "image: bad encoding 'x'"


def test_stamp_gate_passes_each_instant_once_and_never_back_in_time():
    from rigidpose_ros.stamps import NEW, OLD, REPEAT, RESET, StampGate

    S = 1_000_000_000
    g = StampGate(reset_after_s=1.0)
    assert g.check(5 * S) == NEW  # the first frame
    assert g.check(5 * S) == NEW  # not estimated yet (e.g. its boxes never came): it may come again
    g.done(5 * S)
    assert g.check(5 * S) == REPEAT
    assert g.check(5 * S - 300 * MS) == OLD
    assert g.check(5 * S - 1 * S) == OLD  # exactly reset_after_s back: still out of order
    assert g.check(5 * S - 1 * S - 1) == RESET  # further back: the clock jumped (a bag replayed)
    assert g.check(5 * S + 1) == NEW
    g.done(2 * S)  # after a reset the node starts over from the new stamp
    assert g.check(3 * S) == NEW and g.check(2 * S) == REPEAT
    with pytest.raises(ValueError, match="reset_after_s"):
        StampGate(reset_after_s=float("nan"))
