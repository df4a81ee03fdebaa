"""Read slablog logs from Python.

    import slablog
    with slablog.open("run.slog") as log:
        for rec in log.records(streams=["imu*"], since="2025-11-24T16:00:00Z"):
            handle(rec.stream, rec.t, rec.index, rec.payload)
        frame = log.to_pandas(streams=["imu"])

Payloads are read-only memoryviews by default, zero-copy where the record lies whole in the
file: each keeps the file's mapping alive, so a view stays valid after the iteration moves on
and after the log is closed. (As with any mapping, a file truncated by another process under a
live view makes touching it fail with SIGBUS, and a view kept from a ring log that its writer
is still reusing may later show the newer bytes written there; ``copy=True`` gives bytes.)
"""

import datetime
import os
import re

from ._types import (CorruptLogError, DamageWarning, DecodeError, Error, LogIOError,
                     NotFoundError, Problem, Stream, UnsupportedError)
from . import _native

__all__ = ["open", "Log", "Record", "Stream", "Problem", "Error", "NotFoundError", "LogIOError",
           "CorruptLogError", "UnsupportedError", "DecodeError", "DamageWarning", "time_ns"]

Record = _native.Record

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
# Payload modes and problem policies, in the order of record_iterator.h's enums.
_PAYLOAD_VIEW, _PAYLOAD_BYTES, _PAYLOAD_DECODE = 0, 1, 2
_PROBLEM_POLICIES = {"warn": 0, "raise": 1, "quiet": 2}


def time_ns(value, what="time"):
    """Nanoseconds since the Unix epoch from an int (taken as nanoseconds), a string of digits,
    an RFC 3339 string (``2025-11-24T16:00:00.5Z``, read by the code ``slablog export --since``
    reads it with, so the same strings are refused and round alike) or an aware ``datetime``.
    None stays None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{what}: expected nanoseconds, an RFC 3339 string or a datetime, not a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueError(f"{what}: a naive datetime is ambiguous; give it a tzinfo")
        delta = value - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        ns = (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
        return ns + getattr(value, "nanosecond", 0)  # pandas.Timestamp carries nanoseconds
    if isinstance(value, str):
        ns = _native._parse_time_ns(value)
        if ns is None:
            raise ValueError(f"{what} takes nanoseconds or an RFC 3339 time such as "
                             f"2025-11-24T16:00:00Z: not {value!r} (or out of range)")
        return ns
    raise TypeError(f"{what}: expected nanoseconds, an RFC 3339 string or a datetime, "
                    f"not {type(value).__name__}")


def _clamp(ns, default):
    if ns is None:
        return default
    return max(_INT64_MIN, min(_INT64_MAX, ns))


class Log(_native.Log):
    """A slablog log opened for reading: a base name (``run.slog``), one of its slab files, or a
    file of slabs joined with cat (``single_file=True`` reads only the named file).

    Raises NotFoundError, LogIOError, CorruptLogError or UnsupportedError (all slablog.Error,
    with ``.path`` and ``.offset``) when the log cannot be opened."""

    def __init__(self, path, single_file=False):
        super().__init__(os.fsdecode(os.fspath(path)), single_file)

    def records(self, streams=None, since=None, until=None, *, copy=False, decode=False,
                problems="warn"):
        """One pass over the records, in log order, as ``Record(stream, t, index, payload)``
        tuples (``t`` in nanoseconds, ``index`` the record's number in its stream).

        streams: shell globs (a string or a list); only streams whose name matches one.
        since, until: only records with since <= t <= until (see time_ns for the forms).
        payload: a read-only memoryview (default); bytes with ``copy=True``; with
            ``decode=True`` json records as their decoded value, text ones as str, binary as bytes.
        problems: damaged regions are skipped and appended to ``Log.problems``; "warn" (the
            default) also issues one DamageWarning per pass, "raise" raises CorruptLogError at
            the first one instead, "quiet" only lists them.
        """
        if isinstance(streams, str):
            streams = [streams]
        if problems not in _PROBLEM_POLICIES:
            raise ValueError(f"problems must be one of {sorted(_PROBLEM_POLICIES)}, not {problems!r}")
        mode = _PAYLOAD_DECODE if decode else (_PAYLOAD_BYTES if copy else _PAYLOAD_VIEW)
        return self._records(list(streams or []), _clamp(time_ns(since, "since"), _INT64_MIN),
                             _clamp(time_ns(until, "until"), _INT64_MAX), mode,
                             _PROBLEM_POLICIES[problems])

    def __iter__(self):
        return self.records()

    def to_pandas(self, streams=None, since=None, until=None, *, problems="warn"):
        """The json streams' records (those matching ``streams``) as a pandas DataFrame: columns
        ``t`` (int64 nanoseconds), ``stream``, ``seq`` (the record's index in its stream), then
        the JSON fields flattened with pandas.json_normalize (``pose.x``). A field named like one
        of the first three is renamed ``payload.<name>``; a record that is not a JSON object
        becomes a ``value`` column. Streams of other encodings are left out."""
        import pandas

        json_streams = [s.name for s in self.streams() if s.encoding == "json"]
        if streams is not None:
            import fnmatch
            globs = [streams] if isinstance(streams, str) else list(streams)
            json_streams = [n for n in json_streams
                            if any(fnmatch.fnmatchcase(n, g) for g in globs)]
        ts, names, seqs, values = [], [], [], []
        if json_streams:
            # Exact names, escaped for fnmatch, so that the pass reads only these streams.
            exact = [re.sub(r"([*?\[\\])", r"\\\1", n) for n in json_streams]
            for rec in self.records(exact, since, until, decode=True, problems=problems):
                ts.append(rec.t)
                names.append(rec.stream)
                seqs.append(rec.index)
                values.append(rec.payload if isinstance(rec.payload, dict) else {"value": rec.payload})
        fields = pandas.json_normalize(values) if values else pandas.DataFrame(index=range(0))
        fields = fields.rename(columns={c: f"payload.{c}" for c in ("t", "stream", "seq")
                                        if c in fields.columns})
        head = pandas.DataFrame({"t": pandas.Series(ts, dtype="int64"),
                                 "stream": pandas.Series(names, dtype="object"),
                                 "seq": pandas.Series(seqs, dtype="uint64")})
        return pandas.concat([head, fields.reset_index(drop=True)], axis=1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return f"<slablog.Log {self.path!r}{' closed' if self.closed else ''}>"


def open(path, single_file=False):  # noqa: A001 (slablog.open, as gzip.open)
    """Opens a log for reading: ``slablog.open("run.slog")``. See Log."""
    return Log(path, single_file)
