"""Records per second through the Python module over one log, best of N passes (wall clock,
after a first pass that brings the log into the page cache). Prints `python key value` lines,
the form tests/bench prints, for scripts/bench:  bench_records.py LOG [PASSES]"""

import sys
import time

import slablog


def best_rate(make_loop, passes):
    best, count = None, 0
    for _ in range(passes):
        t0 = time.perf_counter()
        count = make_loop()
        dt = time.perf_counter() - t0
        best = dt if best is None or dt < best else best
    return count / best, count


def views(log):
    n = 0
    for rec in log.records():
        n += 1
    return n


def unpacked(log):
    n = 0
    for stream, t, index, payload in log.records():
        n += 1
    return n


def copies(log):
    n = 0
    for rec in log.records(copy=True):
        n += 1
    return n


def main():
    log = slablog.open(sys.argv[1])
    passes = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    views(log)
    for name, loop in (("views", views), ("unpacked", unpacked), ("bytes", copies)):
        rate, count = best_rate(lambda: loop(log), passes)
        print(f"python {name}_records_per_s {rate:.0f}")
    print(f"python records {count}")


if __name__ == "__main__":
    main()
