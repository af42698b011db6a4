"""How fast and in how much memory the CSV header reader refuses a decompression bomb, and reads a real header.

    .venv/bin/python benchmarks/header_bomb_benchmark.py [--inflated-mb 256]

Builds, chunk by chunk, a .csv.gz whose first line inflates to `--inflated-mb` MB (256 MB packs into ~260 KB), then
times `exports.reader._split_header` over it through ISA-L's gzip reader (as the ingest reads csv.gz), with
tracemalloc's peak; then a normal 115-column header followed by 50 MB of rows. Not a test: timings drift on shared
machines. The limit is MAX_HEADER_BYTES (docs/security.md, "Export integrity").
"""

from __future__ import annotations

import argparse
import io
import time
import tracemalloc
import zlib

from isal import igzip

from cloudmonitor_pipelines.exports.read_errors import ExportReadError
from cloudmonitor_pipelines.exports.reader import MAX_HEADER_BYTES, _split_header


def bomb(inflated_mb: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    line = b"A" * (1 << 20)
    return b"".join([*(packer.compress(line) for _ in range(inflated_mb)), packer.flush()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inflated-mb", type=int, default=256)
    args = parser.parse_args()
    data = bomb(args.inflated_mb)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        _split_header(igzip.IGzipFile(fileobj=io.BytesIO(data), mode="rb"), "bomb.csv.gz")
        outcome = "accepted (unexpected)"
    except ExportReadError:
        outcome = "refused"
    seconds, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"bomb: {len(data):,} bytes gzip -> {args.inflated_mb} MB line; {outcome} in {seconds:.3f} s, "
          f"peak {peak / 1e6:.1f} MB (limit {MAX_HEADER_BYTES:,} bytes)")
    header = b",".join(b"Column%d" % i for i in range(115)) + b"\n"
    body = header + b'"a,b",1,2\n' * 5_000_000
    started = time.perf_counter()
    found, _rest = _split_header(io.BytesIO(body), "ok.csv")
    print(f"real header: {len(found):,} bytes found in {(time.perf_counter() - started) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
