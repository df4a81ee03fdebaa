#!/usr/bin/python3
"""Reads a CSV export back with pandas and checks every cell against the NDJSON export of the
same records (slablog export --format csv LOG, and slablog export LOG).

usage: read_back.py EXPORT.csv EXPORT.ndjson

Two readings: every cell as text (dtype=str), which must equal the value as written in the JSON,
and pandas' own typing, whose values must equal the JSON's. Exit 0 when all match, 1 otherwise.
"""
import json
import sys

import numpy as np
import pandas as pd


class Number(str):
    """A JSON number, kept as written."""


class EmptyObject:
    """An empty object: one cell of "{}"."""


def load(line):
    return json.loads(line, parse_int=Number, parse_float=Number)


def flatten(obj):
    """The export object's columns, as pandas.json_normalize would name them."""
    out = {"stream": obj["stream"], "t": Number(obj["t"]), "seq": Number(obj["seq"])}

    def walk(path, value):
        if isinstance(value, dict):
            if not value:
                out[path] = EmptyObject()
            for key, inner in value.items():
                walk(path + "." + key, inner)
        else:
            out[path] = value

    walk("data", obj["data"])
    return out


def as_text(value):
    """The cell text slablog writes for a JSON value."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, EmptyObject):
        return "{}"
    if isinstance(value, (Number, str)):
        return str(value)
    return None  # an array: compared parsed


def same_array(cell, value):
    return isinstance(cell, str) and json.loads(cell, parse_int=Number, parse_float=Number) == value


def text_matches(cell, value):
    want = as_text(value)
    return same_array(cell, value) if want is None else cell == want


def typed_matches(cell, value):
    """pandas' typed value against the JSON's: ints exact where pandas keeps them as ints."""
    if value is None or (isinstance(value, str) and not isinstance(value, Number) and value == ""):
        # pandas keeps "" where a column of integers past int64 falls back to strings.
        return (isinstance(cell, str) and cell == "") or pd.isna(cell)
    if isinstance(cell, str):
        return text_matches(cell, value)
    if value is True or value is False:
        return isinstance(cell, (bool, np.bool_)) and bool(cell) == value
    if isinstance(value, Number):
        if isinstance(cell, (float, np.floating)):  # pandas' floats: as close as a double gets
            return float(value) == float(cell)
        if isinstance(cell, (int, np.integer)) and not isinstance(cell, (bool, np.bool_)):
            return "." not in value and "e" not in value.lower() and int(cell) == int(value)
    return False


def main():
    csv_path, ndjson_path = sys.argv[1], sys.argv[2]
    with open(ndjson_path, encoding="utf-8") as f:
        rows = [flatten(load(line)) for line in f if line.strip()]
    columns = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    as_str = pd.read_csv(csv_path, dtype=str, keep_default_na=False, na_filter=False)
    typed = pd.read_csv(csv_path, keep_default_na=False, na_values=[""])
    problems = []
    if list(as_str.columns) != columns:
        problems.append(f"columns {list(as_str.columns)} != {columns}")
    if len(as_str) != len(rows):
        problems.append(f"{len(as_str)} rows != {len(rows)} records")
    cells = 0
    for i, row in enumerate(rows[: len(as_str)]):
        for column in columns:
            if column not in as_str.columns:
                continue
            value = row.get(column)
            cells += 1
            if not text_matches(as_str.at[i, column], value):
                problems.append(f"row {i} {column}: text {as_str.at[i, column]!r} != {value!r}")
            if not typed_matches(typed.at[i, column], value):
                problems.append(f"row {i} {column}: pandas {typed.at[i, column]!r} != {value!r}")
    for p in problems[:20]:
        print(p)
    if problems:
        print(f"{len(problems)} mismatches")
        return 1
    print(f"ok: {len(rows)} rows, {cells} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
