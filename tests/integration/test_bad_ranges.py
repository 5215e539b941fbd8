"""Hostile numbers in query strings and bodies (issue #16): ranges whose span
overflows int64, times at the ends of int64, sequence numbers near 2^63 and
sizes past their bounds. Each must answer 400 naming the field at fault, and
the daemon must keep answering /health and keep recording afterwards: before
the fix, GET .../recordings?start=-9000000000000000&end=9000000000000000
overflowed end - start, slipped under the 92-day limit and aborted the
daemon on a 6.7 GB allocation.

One daemon recording horus-camsim is shared by the module's tests (a new one
replaces it when a test leaves it dead or unresponsive)."""
import json
import re

import pytest

from conftest import Camsim, Horus, recording_rows, sanitizer_reports, wait_until

REC = "/api/v1/cameras/cam/recordings"
M3U8 = "/api/v1/cameras/cam/playback.m3u8"
I64_MAX = 9223372036854775807
I64_MIN = -9223372036854775808


class Daemon:
    """One daemon recording horus-camsim, restarted for the next test when a test left it
    dead or unresponsive (so that, without the fixes, each case fails on its own)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.sim = Camsim(self.tmp / "camsim")
        self.h = None
        self.all = []

    def get(self):
        if self.h and (self.h.proc.popen.poll() is not None or not responds(self.h)):
            self.h.stop(timeout=5)
            self.h = None
        if not self.h:
            d = self.tmp / f"horus{len(self.all)}"
            d.mkdir()
            self.h = Horus(d, f"cameras:\n  - id: cam\n    url: \"{self.sim.url(1)}\"\n"
                           f"    record:\n      segment_seconds: 2\n")
            self.all.append(self.h)
            wait_until(lambda: len(recording_rows(self.h, camera="cam")) >= 1, 30,
                       "a first segment")
        return self.h


def responds(h):
    try:
        return h.request("GET", "/health")[0] == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def daemons(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad_ranges")
    (tmp / "camsim").mkdir()
    ds = Daemon(tmp)
    try:
        yield ds
    finally:
        for h in ds.all:
            h.stop()
        ds.sim.stop()
        reports = sanitizer_reports(ds.all + [ds.sim])
        if reports:
            pytest.fail("sanitizer report:\n" + "\n".join(reports), pytrace=False)


@pytest.fixture
def daemon(daemons):
    return daemons.get()


def assert_alive(h):
    assert h.proc.popen.poll() is None, "horus exited:\n" + h.proc.output()[-4000:]
    assert responds(h), "horus no longer answers /health"


def assert_refused(h, method, path, field, body=None):
    try:
        status, _, raw = h.request(method, path, body)
    except OSError as e:
        assert_alive(h)
        pytest.fail(f"{method} {path} {body}: no answer ({e})")
    assert_alive(h)
    assert status == 400, (path, body, status, raw)
    msg = json.loads(raw)["error"]["message"]
    assert re.match(re.escape(field) + r": ", msg), (path, body, msg)
    return msg


@pytest.mark.parametrize("query,field", [
    # The request of issue #16.
    ("start=-9000000000000000&end=9000000000000000", "end"),
    ("start=-9223372036854775&end=9223372036854775", "end"),
    (f"start={I64_MIN}&end={I64_MAX}", "end"),
    (f"start={I64_MIN}", "start"),
    (f"start={I64_MAX}", "start"),
    (f"end={I64_MIN}", "end"),
    ("end=9223372036854775&tz=%2B14:00", "end"),
    ("start=-62135596800001&end=0", "start"),
    ("start=0&end=253402300800000", "end"),
    ("start=1000&end=999", "end"),
    ("start=0&end=7948800001", "end"),
    ("tz=%2B99:99", "tz"),
    ("start=99999999999999999999", "start"),
])
def test_timeline_ranges_that_overflow_or_exceed_their_limit_are_400(daemon, query, field):
    msg = assert_refused(daemon, "GET", f"{REC}?{query}", field)
    if query.startswith("start=-9000000000000000"):
        assert "92-day limit" in msg or "between" in msg, msg


@pytest.mark.parametrize("query,field", [
    ("start=-9000000000000000&end=9000000000000000", "end"),
    ("start=-9223372036854775&end=9223372036854775", "end"),
    ("start=-9223372036854775", "start"),
    ("start=-9000000000000000", "start"),
    (f"start={I64_MIN}&end={I64_MAX}", "end"),
    ("start=0&end=86400001", "end"),
    ("start=1000&end=999", "end"),
])
def test_playlist_ranges_that_overflow_or_exceed_their_limit_are_400(daemon, query, field):
    assert_refused(daemon, "GET", f"{M3U8}?{query}", field)


@pytest.mark.parametrize("name", [f"{I64_MAX + 1}.mp4", "99999999999999999999.mp4", "-1.mp4"])
def test_recorded_file_names_past_int64_are_400(daemon, name):
    assert_refused(daemon, "GET", f"{REC}/main/{name}", "file")


@pytest.mark.parametrize("query,field", [
    (f"ts={I64_MAX}", "ts"),
    (f"ts={I64_MIN}", "ts"),
    ("ts=9223372036854776", "ts"),
    ("ts=253402300800000", "ts"),
    ("width=99999999999999999999", "width"),
    ("width=-9223372036854775808", "width"),
])
def test_snapshot_times_and_widths_past_their_bounds_are_400(daemon, query, field):
    assert_refused(daemon, "GET", f"/api/v1/cameras/cam/snapshot.jpg?{query}", field)


@pytest.mark.parametrize("query,field", [
    (f"_HLS_msn={I64_MAX}", "_HLS_msn"),
    (f"_HLS_msn={I64_MAX + 1}", "_HLS_msn"),
    ("_HLS_msn=9007199254740993", "_HLS_msn"),
    (f"_HLS_msn=1&_HLS_part={2**64}", "_HLS_part"),
    (f"_HLS_msn=1&_HLS_part={I64_MIN}", "_HLS_part"),
])
def test_live_sequence_numbers_near_2_63_are_400(daemon, query, field):
    assert_refused(daemon, "GET", f"/api/v1/cameras/cam/live/index.m3u8?{query}", field)


def test_the_largest_live_sequence_number_accepted_is_answered_without_waiting(daemon):
    status, _, _ = daemon.request("GET", "/api/v1/cameras/cam/live/index.m3u8?"
                                  "_HLS_msn=9007199254740992&_HLS_part=9007199254740992",
                                  timeout=2)
    assert_alive(daemon)
    assert status in (400, 404, 503), status


@pytest.mark.parametrize("start,end,field", [
    ("-9000000000000000", "9000000000000000", "start"),
    ("0", str(I64_MAX), "end"),
    (str(I64_MIN), "0", "start"),
    ("9223372036854775", "9223372036854776", "start"),
    (-9000000000000000, 9000000000000000, "start"),
    (0, I64_MAX, "end"),
])
def test_exports_with_extreme_ranges_are_400(daemon, start, end, field):
    body = {"camera": "cam", "start": start, "end": end}
    assert_refused(daemon, "POST", "/api/v1/exports", field, body)


@pytest.mark.parametrize("query", ["limit=99999999999999999999", f"limit={I64_MIN}",
                                   "limit=-1", "limit=501"])
def test_export_page_limits_past_their_bounds_are_400(daemon, query):
    assert_refused(daemon, "GET", f"/api/v1/exports?{query}", "limit")


def test_recording_goes_on_after_every_bad_request(daemons):
    daemon = daemons.get()
    assert len(daemons.all) == 1, "a bad request left a daemon dead or unresponsive"
    before = len(recording_rows(daemon, camera="cam"))
    wait_until(lambda: len(recording_rows(daemon, camera="cam")) >= before + 2, 30,
               "two more segments after the bad requests")
    assert_alive(daemon)
    # A good range still works.
    status, _, raw = daemon.request("GET", REC)
    assert status == 200 and json.loads(raw)["spans"], raw
