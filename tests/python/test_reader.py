"""Tests of the slablog Python package: streams, payloads of all three encodings, filters,
to_pandas, damaged and foreign input, and the lifetime of zero-copy payload views.

Run by CTest (tests/python/CMakeLists.txt) with PYTHONPATH at the built package and SLABLOG_BIN
naming the slablog program, which writes the logs read here."""

import datetime
import gc
import json
import os
import random
import shutil
import struct
import subprocess
import tempfile
import unittest
import warnings

import slablog

SLABLOG = os.environ.get("SLABLOG_BIN", "slablog")

# Records of the json streams (imu, gps, odom): t from the "t" field, in ns.
T0 = 1_764_000_000_000_000_000
JSON_RECORDS = []
for i in range(300):
    topic = ("imu", "gps", "odom")[i % 3]
    rec = {"topic": topic, "t": T0 + i * 1_000_000, "seq": i, "pose": {"x": i * 0.5, "y": -i},
           "ok": i % 2 == 0}
    JSON_RECORDS.append(rec)
TEXT_LINES = [f"line {i} é" for i in range(50)]
# Binary records, one larger than a slab (64 KiB) so that it is written in fragments.
BINARY_RECORDS = [bytes([i]) * (i + 1) for i in range(40)] + [bytes(range(256)) * 400]


def run_slablog(*args, stdin=None):
    subprocess.run([SLABLOG, *args], input=stdin, check=True, stdout=subprocess.DEVNULL)


def write_mixed_log(base):
    """A log of small slabs and sections: three json streams, a text one, a binary one."""
    ndjson = "".join(json.dumps(r) + "\n" for r in JSON_RECORDS).encode()
    sizes = ["--slab-size", "64K", "--section-size", "4K"]
    run_slablog("write", base, "--stream-field", "topic", "--time-field", "t", *sizes, stdin=ndjson)
    run_slablog("write", "-a", "-f", "lines", "-s", "notes", base,
                stdin="".join(line + "\n" for line in TEXT_LINES).encode())
    raw = b"".join(struct.pack("<I", len(r)) + r for r in BINARY_RECORDS)
    run_slablog("write", "-a", "-f", "raw", "-s", "blob", base, stdin=raw)


class LogTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="slablog-py-")
        cls.mixed = os.path.join(cls.dir, "mixed.slog")
        write_mixed_log(cls.mixed)
        cls.compressed = os.path.join(cls.dir, "z.slog")
        run_slablog("compress", cls.mixed, cls.compressed)
        cls.joined = os.path.join(cls.dir, "joined.slog")
        with open(cls.joined, "wb") as out:
            for f in slablog.open(cls.mixed).files:
                with open(f, "rb") as part:
                    out.write(part.read())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def damaged_copy(self):
        """A copy of the mixed log with one byte of imu record 7's payload changed."""
        target = self.path("damaged.slog")
        files = slablog.open(self.mixed).files
        for f in files:
            shutil.copy(f, os.path.join(self.dir, os.path.basename(f).replace("mixed", "damaged")))
        needle = json.dumps(JSON_RECORDS[21]).encode()  # imu's 8th record (index 7)
        for f in slablog.open(target).files:
            with open(f, "r+b") as fh:
                data = fh.read()
                at = data.find(needle)
                if at >= 0:
                    fh.seek(at + len(needle) - 2)
                    fh.write(b"#")
                    return target, f, at
        self.fail("record not found in the log's files")


class StreamsAndPayloads(LogTestCase):
    def test_the_log_has_several_slab_files(self):
        # The lifetime tests below rely on the Reader moving past (and unmapping) slabs.
        self.assertGreater(len(slablog.open(self.mixed).files), 2)

    def test_streams_list_names_ids_encodings_and_counts(self):
        streams = {s.name: s for s in slablog.open(self.mixed).streams()}
        self.assertEqual(set(streams), {"imu", "gps", "odom", "notes", "blob"})
        self.assertEqual({n: s.encoding for n, s in streams.items()},
                         {"imu": "json", "gps": "json", "odom": "json", "notes": "text", "blob": "binary"})
        self.assertEqual({n: s.records for n, s in streams.items()},
                         {"imu": 100, "gps": 100, "odom": 100, "notes": 50, "blob": 41})
        self.assertEqual(len({s.id for s in streams.values()}), 5)

    def test_every_encoding_round_trips(self):
        for path in (self.mixed, self.compressed, self.joined):
            with self.subTest(path=os.path.basename(path)), slablog.open(path) as log:
                by_stream = {}
                for rec in log.records(copy=True):
                    by_stream.setdefault(rec.stream, []).append(rec)
                self.assertEqual([r.payload for r in by_stream["blob"]], BINARY_RECORDS)
                self.assertEqual([r.payload.decode() for r in by_stream["notes"]], TEXT_LINES)
                json_in_order = [json.loads(r.payload) for s in ("imu", "gps", "odom") for r in by_stream[s]]
                self.assertEqual(sorted(json_in_order, key=lambda r: r["seq"]), JSON_RECORDS)
                self.assertEqual([r.index for r in by_stream["imu"]], list(range(100)))
                self.assertEqual([r.t for r in by_stream["imu"]], [r["t"] for r in JSON_RECORDS[::3]])
                self.assertEqual(log.problems, [])

    def test_decode_gives_objects_str_and_bytes(self):
        decoded = {}
        for rec in slablog.open(self.mixed).records(decode=True):
            decoded.setdefault(rec.stream, []).append(rec.payload)
        self.assertEqual(decoded["imu"], JSON_RECORDS[::3])
        self.assertEqual(decoded["notes"], TEXT_LINES)
        self.assertEqual(decoded["blob"], BINARY_RECORDS)

    def test_views_equal_copies_and_are_read_only(self):
        for path in (self.mixed, self.compressed, self.joined):
            with self.subTest(path=os.path.basename(path)):
                log = slablog.open(path)
                views = list(log.records())
                copies = list(log.records(copy=True))
                self.assertEqual(len(views), 300 + 50 + 41)
                for v, c in zip(views, copies):
                    self.assertIsInstance(v.payload, memoryview)
                    self.assertTrue(v.payload.readonly)
                    self.assertEqual((v.stream, v.t, v.index, bytes(v.payload)), tuple(c))
                with self.assertRaises(TypeError):
                    views[0].payload[0] = 1

    def test_whole_records_are_not_copied(self):
        # In a plain log a one-frame record is viewed in the module's mapping of its file.
        kinds = {type(rec.payload.obj).__name__ for rec in slablog.open(self.mixed).records()}
        self.assertEqual(kinds, {"FileMapping", "bytes"})  # bytes: the fragmented record
        big = [rec for rec in slablog.open(self.mixed).records() if len(rec.payload) > 65536]
        self.assertEqual(len(big), 1)
        self.assertIsInstance(big[0].payload.obj, bytes)

    def test_records_unpack_as_tuples(self):
        stream, t, index, payload = next(iter(slablog.open(self.mixed)))
        self.assertEqual((stream, t, index), ("imu", T0, 0))
        self.assertEqual(json.loads(bytes(payload)), JSON_RECORDS[0])


class Filters(LogTestCase):
    def streams_seen(self, **kw):
        return {r.stream for r in slablog.open(self.mixed).records(**kw)}

    def test_stream_globs(self):
        self.assertEqual(self.streams_seen(streams="imu"), {"imu"})
        self.assertEqual(self.streams_seen(streams=["*o*"]), {"odom", "notes", "blob"})
        self.assertEqual(self.streams_seen(streams=["g?s", "n*"]), {"gps", "notes"})
        self.assertEqual(self.streams_seen(streams=["nothing"]), set())
        self.assertEqual(self.streams_seen(streams=[]), {"imu", "gps", "odom", "notes", "blob"})

    def test_time_window_in_nanoseconds(self):
        since, until = T0 + 10_000_000, T0 + 19_000_000
        seqs = [json.loads(bytes(r.payload))["seq"]
                for r in slablog.open(self.mixed).records(streams=["imu", "gps", "odom"], since=since, until=until)]
        self.assertEqual(sorted(seqs), list(range(10, 20)))

    def test_time_window_as_rfc3339_and_datetime(self):
        start = datetime.datetime.fromtimestamp(T0 // 10**9, tz=datetime.timezone.utc)
        self.assertEqual(T0 % 10**9, 0)
        forms = [
            ("2025-11-24T16:00:00.010Z", "2025-11-24T16:00:00.019000000Z"),
            ("2025-11-24T17:00:00.010+01:00", "2025-11-24 16:00:00.019z"),
            (start + datetime.timedelta(milliseconds=10), start + datetime.timedelta(milliseconds=19)),
            (str(T0 + 10_000_000), str(T0 + 19_000_000)),
        ]
        self.assertEqual(slablog.time_ns("2025-11-24T16:00:00Z"), T0)
        for since, until in forms:
            with self.subTest(since=since):
                recs = list(slablog.open(self.mixed).records(streams="imu", since=since, until=until))
                self.assertEqual([r.t for r in recs], [T0 + 12_000_000, T0 + 15_000_000, T0 + 18_000_000])

    def test_bad_times_are_refused(self):
        log = slablog.open(self.mixed)
        for bad in ("yesterday", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z", "2025-11-24T16:00:00"):
            with self.subTest(bad=bad), self.assertRaisesRegex(ValueError, "RFC 3339"):
                log.records(since=bad)
        with self.assertRaises(ValueError):
            log.records(until=datetime.datetime(2025, 1, 1))  # naive
        with self.assertRaises(TypeError):
            log.records(since=1.5)

    def test_time_strings_are_read_as_the_cli_reads_them(self):
        # One parser for both: offsets and days out of range, times outside int64 and :60 other
        # than a leap second are refused; fractions past nine digits round to the nearest.
        for bad in ("2025-11-24T16:00:00+99:99", "2025-11-24T16:00:00+24:00", "9999-12-31T23:59:59Z",
                    "2025-11-24T12:34:60Z", "99999999999999999999"):
            with self.subTest(bad=bad), self.assertRaisesRegex(ValueError, "RFC 3339"):
                slablog.time_ns(bad)
        self.assertEqual(slablog.time_ns("2025-11-24T16:00:00.0000000009Z"), T0 + 1)
        self.assertEqual(slablog.time_ns("1969-12-31T23:59:59.9999999999Z"), 0)
        self.assertEqual(slablog.time_ns("2016-12-31T23:59:60Z"), 1483228800 * 10**9)
        self.assertEqual(slablog.time_ns("-5"), -5)

    def test_huge_times_are_clamped_not_overflowed(self):
        self.assertEqual(len(list(slablog.open(self.mixed).records(since=-(10**30), until=10**30))), 391)


class ToPandas(LogTestCase):
    def test_json_fields_are_flattened(self):
        df = slablog.open(self.mixed).to_pandas()
        self.assertEqual(len(df), 300)
        self.assertEqual(list(df.columns[:3]), ["t", "stream", "seq"])
        self.assertEqual(str(df["t"].dtype), "int64")
        self.assertEqual(set(df["stream"]), {"imu", "gps", "odom"})
        # The payload's own t and seq are kept beside the record's.
        df = df.sort_values("payload.seq").reset_index(drop=True)
        self.assertEqual(df["payload.seq"].tolist(), list(range(300)))
        self.assertEqual(df["t"].tolist(), [r["t"] for r in JSON_RECORDS])
        self.assertEqual(df["pose.x"].tolist(), [r["pose"]["x"] for r in JSON_RECORDS])
        self.assertEqual(df["pose.y"].tolist(), [r["pose"]["y"] for r in JSON_RECORDS])
        self.assertEqual(df["ok"].tolist(), [r["ok"] for r in JSON_RECORDS])
        self.assertEqual(df[df.stream == "gps"]["seq"].tolist(), list(range(100)))

    def test_values_that_are_not_objects_go_in_a_value_column(self):
        path = self.path("values.slog")
        run_slablog("write", "-s", "nums", path, stdin=b'1\n2.5\n"x"\n[1,2]\n{"value":7,"k":1}\n')
        df = slablog.open(path).to_pandas()
        self.assertEqual(df["value"].tolist(), [1, 2.5, "x", [1, 2], 7])
        self.assertEqual(df["k"].fillna(-1).tolist(), [-1, -1, -1, -1, 1])
        self.assertEqual(df["seq"].tolist(), list(range(5)))

    def test_filters_apply(self):
        df = slablog.open(self.mixed).to_pandas(streams="g*", since=T0, until=T0 + 9_000_000)
        self.assertEqual(df["payload.seq"].tolist(), [1, 4, 7])
        empty = slablog.open(self.mixed).to_pandas(streams="notes")
        self.assertEqual((len(empty), list(empty.columns)), (0, ["t", "stream", "seq"]))


class DamagedAndForeignInput(LogTestCase):
    def test_damaged_record_is_reported_and_not_returned(self):
        path, file, at = self.damaged_copy()
        log = slablog.open(path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            recs = list(log.records(streams="imu", copy=True))
        payloads = [json.loads(r.payload) for r in recs]
        self.assertNotIn(JSON_RECORDS[21], payloads)
        self.assertTrue(all(p in JSON_RECORDS for p in payloads))
        self.assertGreaterEqual(len(log.problems), 1)
        p = log.problems[0]
        self.assertEqual((p.file, p.kind, p.stream), (file, "checksum", "imu"))
        self.assertLess(p.offset, at)
        self.assertGreater(p.offset + p.bytes_dropped, at)
        self.assertEqual([w.category for w in caught], [slablog.DamageWarning])
        self.assertIn(file, str(caught[0].message))

    def test_problems_can_raise_or_stay_quiet(self):
        path, file, _ = self.damaged_copy()
        with self.assertRaises(slablog.CorruptLogError) as cm:
            list(slablog.open(path).records(problems="raise"))
        self.assertEqual(cm.exception.path, file)
        self.assertGreater(cm.exception.offset, 0)
        self.assertIn(f"offset {cm.exception.offset}", str(cm.exception))
        log = slablog.open(path)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            n = sum(1 for _ in log.records(problems="quiet"))
        self.assertEqual(n, 390)
        self.assertEqual(len(log.problems), 1)
        with self.assertRaises(ValueError):
            log.records(problems="ignore")

    def test_problems_are_listed_once_however_many_passes(self):
        path, file, _ = self.damaged_copy()
        log = slablog.open(path)
        for _ in range(3):
            sum(1 for _ in log.records(problems="quiet"))
        self.assertEqual(len(log.problems), 1)
        self.assertEqual(log.problems[0].file, file)

    def test_native_log_made_without_init_raises_not_crashes(self):
        from slablog import _native
        log = _native.Log.__new__(_native.Log)
        for use in (lambda: log.path, lambda: log.files, lambda: log.problems, log.streams, log.close,
                    lambda: log._records([], 0, 1, 0, 0)):
            with self.assertRaises(TypeError):
                use()

    def test_missing_file(self):
        with self.assertRaises(slablog.NotFoundError) as cm:
            slablog.open(self.path("nope.slog"))
        self.assertIsInstance(cm.exception, FileNotFoundError)
        self.assertEqual(cm.exception.path, self.path("nope.slog"))
        self.assertIn("nope.slog", str(cm.exception))

    def test_directory(self):
        with self.assertRaisesRegex(slablog.Error, "is a directory") as cm:
            slablog.open(self.dir)
        self.assertEqual(cm.exception.path, self.dir)

    def test_random_bytes_and_empty_file(self):
        rng = random.Random(16)
        for name, data in (("random.slog", bytes(rng.randrange(256) for _ in range(100_000))),
                           ("empty.slog", b"")):
            with self.subTest(name=name):
                with open(self.path(name), "wb") as fh:
                    fh.write(data)
                with self.assertRaises(slablog.Error) as cm:
                    slablog.open(self.path(name))
                self.assertEqual(cm.exception.path, self.path(name))
                self.assertIn(name, str(cm.exception))

    def test_cut_logs_never_return_damaged_records(self):
        # The first slab file cut at many lengths: an exception at open, or records that are all
        # ones that were written, with what was lost listed.
        first = slablog.open(self.mixed).files[0]
        with open(first, "rb") as fh:
            data = fh.read()
        good = ({json.dumps(r).encode() for r in JSON_RECORDS} | {t.encode() for t in TEXT_LINES} |
                set(BINARY_RECORDS))
        cut = self.path("cut.slog")
        for length in list(range(0, 200, 7)) + list(range(200, len(data), 997)):
            with open(cut, "wb") as fh:
                fh.write(data[:length])
            try:
                log = slablog.open(cut, single_file=True)
            except slablog.Error as e:
                self.assertEqual(e.path, cut)
                continue
            recs = list(log.records(copy=True, problems="quiet"))
            self.assertTrue(all(r.payload in good for r in recs), length)
            self.assertTrue(log.problems or len(recs) == 0, length)


class PayloadViewLifetime(LogTestCase):
    """Zero-copy views must outlive the Reader's views: past the next record, the end of the
    pass, the log's closing, and the collection of every slablog object."""

    def check_kept_views(self, path):
        expected = [bytes(r.payload) for r in slablog.open(path).records(copy=True)]
        log = slablog.open(path)
        it = log.records()
        views = []
        for rec in it:
            views.append(rec.payload)
            # The previous record's view, once the Reader has moved on.
            if len(views) > 1:
                self.assertEqual(bytes(views[-2]), expected[len(views) - 2])
        log.close()
        del log, it, rec
        gc.collect()
        # Memory that other allocations may reuse by now: the views must not see it.
        junk = [bytearray(b"\xee" * 65536) for _ in range(64)]
        self.assertEqual([bytes(v) for v in views], expected)
        del junk

    def test_views_outlive_the_pass_and_the_log(self):
        for path in (self.mixed, self.compressed, self.joined):
            with self.subTest(path=os.path.basename(path)):
                self.check_kept_views(path)

    def test_closing_the_log_mid_pass(self):
        log = slablog.open(self.mixed)
        it = log.records()
        first = [next(it).payload for _ in range(5)]
        log.close()
        with self.assertRaisesRegex(ValueError, "closed"):
            next(it)
        with self.assertRaisesRegex(ValueError, "closed"):
            log.records()
        self.assertEqual([json.loads(bytes(v)) for v in first], JSON_RECORDS[0:15:3])

    def test_python_code_run_inside_a_step_cannot_pull_the_reader_away(self):
        # A warning handler runs in the middle of a step (at the first damaged region): one that
        # steps the same iterator again or closes the log must get an error, not a crash.
        path, _, _ = self.damaged_copy()
        log = slablog.open(path)
        it = log.records()
        seen = []

        def handler(*args, **kwargs):
            try:
                next(it)
            except ValueError as e:
                seen.append(str(e))
            log.close()

        old = warnings.showwarning
        warnings.showwarning = handler
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always")
                warnings.showwarning = handler
                views = []
                with self.assertRaisesRegex(ValueError, "closed"):
                    for rec in it:
                        views.append(rec.payload)
        finally:
            warnings.showwarning = old
        self.assertEqual(len(seen), 1)
        self.assertIn("within its own step", seen[0])
        self.assertGreater(len(views), 0)
        self.assertTrue(all(bytes(v) for v in views))

    def test_a_view_released_by_its_user(self):
        log = slablog.open(self.mixed)
        recs = list(log.records())
        recs[0].payload.release()
        with self.assertRaises(ValueError):
            bytes(recs[0].payload)
        self.assertEqual(json.loads(bytes(recs[1].payload)), JSON_RECORDS[3])

    def test_the_native_types_cannot_be_made_from_python(self):
        # Made empty, they would point at nothing.
        rec = next(slablog.open(self.mixed).records())
        for cls in (type(rec.payload.obj), type(slablog.open(self.mixed).records())):
            with self.subTest(cls=cls.__name__), self.assertRaises(TypeError):
                cls()

    def test_iterators_left_unfinished_are_freed(self):
        log = slablog.open(self.mixed)
        for _ in range(200):
            it = log.records()
            next(it)
        del it
        gc.collect()
        self.assertEqual(sum(1 for _ in log.records()), 391)


@unittest.skipUnless(os.environ.get("SLABLOG_BUILD_DIR"), "needs SLABLOG_BUILD_DIR (set by CTest)")
class InstalledPackage(LogTestCase):
    def test_cmake_install_puts_a_working_package_where_python_finds_it(self):
        prefix = self.path("prefix")
        subprocess.run(["cmake", "--install", os.environ["SLABLOG_BUILD_DIR"], "--prefix", prefix],
                       check=True, stdout=subprocess.DEVNULL)
        site = os.path.join(prefix, os.environ["SLABLOG_PYTHON_INSTALL_DIR"])
        self.assertTrue(os.path.isfile(os.path.join(site, "slablog", "__init__.py")))
        out = subprocess.run(
            [os.environ.get("SLABLOG_PYTHON", "/usr/bin/python3"), "-c",
             "import slablog, sys; print(slablog.__file__); "
             "print(sum(1 for _ in slablog.open(sys.argv[1]).records()))", self.mixed],
            env={**os.environ, "PYTHONPATH": site}, check=True, capture_output=True, text=True).stdout.split()
        self.assertEqual(out, [os.path.join(site, "slablog", "__init__.py"), "391"])


if __name__ == "__main__":
    unittest.main()
