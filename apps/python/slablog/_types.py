"""slablog's exceptions, warnings and small record types (raised and made by slablog._native too)."""

import collections


class Error(Exception):
    """A log that cannot be read. ``path`` is the file concerned and ``offset`` the byte offset
    in it (0 when none applies); the message says both."""

    path = None
    offset = None


class NotFoundError(Error, FileNotFoundError):
    """The log, or one of its slab files, does not exist."""


class LogIOError(Error, OSError):
    """The log's files could not be read (a directory, a permission, a failing disk)."""


class CorruptLogError(Error):
    """The log is not a slablog log, or is damaged where it cannot be read past (a bad first
    header); with ``problems="raise"``, also the first damaged region met while reading."""


class UnsupportedError(Error):
    """A log written by another version of slablog, with features this one cannot read."""


class DecodeError(Error, ValueError):
    """A json stream's record that is not valid JSON (``decode=True``)."""


class DamageWarning(UserWarning):
    """Damaged bytes were skipped while reading; ``Log.problems`` lists each region."""


Problem = collections.namedtuple(
    "Problem", "file slab offset bytes_dropped stream kind detail")
Problem.__doc__ = """A damaged region that was skipped: the file and byte offset where it starts,
the bytes lost, the stream (None when not one stream's), the kind (``checksum``, ``torn-tail``,
...) and a detail message. Records in it are never returned."""

Stream = collections.namedtuple("Stream", "name id encoding type records")
Stream.__doc__ = """A stream of the log: its name, id, encoding (``binary``, ``text`` or
``json``), application-defined type number and record count (from the close blocks of closed
sections, which the writer wrote; records of open sections are counted by reading them)."""


# Shown as slablog.Error (where they are meant to be used from), not slablog._types.Error.
for _cls in (Error, NotFoundError, LogIOError, CorruptLogError, UnsupportedError, DecodeError,
             DamageWarning, Problem, Stream):
    _cls.__module__ = "slablog"
