"""Strip the debug information from the compiled extensions of the wheels in a directory.

    python3 deploy/strip-wheels.py STRIP DIR

Some wheels ship their extensions with DWARF debug information that nobody reads in a
container: uvloop's loop is 13.3 MB with it and 1.9 MB without, PyYAML's and regex's
lose 2 MB each. ``STRIP`` is a ``strip`` that reads the wheels' architecture
(``llvm-strip`` reads every one); ``--strip-debug`` keeps every symbol, so tracebacks
and ``perf`` still name the functions. Each changed wheel is written again with its
RECORD (the file's hash and size) updated, as the wheel format requires; a wheel with
nothing to strip is left untouched.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

_WORTH = 64 * 1024  # bytes: below it, a stripped wheel keeps its original file


def is_extension(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.endswith(".so") or ".so." in base


def record_row(name: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [name, f"sha256={digest}", str(len(data))]


def stripped(strip: str, data: bytes, scratch: Path) -> bytes:
    path = scratch / "extension.so"
    path.write_bytes(data)
    # The strip is the one build-wheels.sh chose (or its caller's STRIP): no untrusted input.
    subprocess.run([strip, "--strip-debug", str(path)], check=True)  # noqa: S603
    return path.read_bytes()


def strip_wheel(strip: str, wheel: Path, scratch: Path) -> int:
    """Bytes saved in ``wheel``'s extensions (0: the wheel is left as it was)."""
    with zipfile.ZipFile(wheel) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    changed: dict[str, bytes] = {}
    for info, data in entries:
        if is_extension(info.filename):
            smaller = stripped(strip, data, scratch)
            if len(data) - len(smaller) >= _WORTH:
                changed[info.filename] = smaller
    if not changed:
        return 0
    saved = 0
    partial = wheel.with_name(wheel.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename in changed:
                saved += len(data) - len(changed[info.filename])
                data = changed[info.filename]
            elif info.filename.endswith(".dist-info/RECORD"):
                data = _updated_record(data.decode(), changed).encode()
            target.writestr(info, data)
    partial.replace(wheel)
    return saved


def _updated_record(record: str, changed: dict[str, bytes]) -> str:
    # RECORD is CSV: a name with a comma is quoted.
    written = io.StringIO()
    writer = csv.writer(written, lineterminator="\n")
    for row in csv.reader(io.StringIO(record)):
        writer.writerow(record_row(row[0], changed[row[0]]) if row[0] in changed else row)
    return written.getvalue()


def main(strip: str, directory: Path) -> None:
    total = 0
    with tempfile.TemporaryDirectory() as scratch:
        for wheel in sorted(directory.glob("*.whl")):
            saved = strip_wheel(strip, wheel, Path(scratch))
            if saved:
                print(f"strip-wheels: {wheel.name}: {saved / 1e6:.1f} MB of debug information")
            total += saved
    print(f"strip-wheels: {total / 1e6:.1f} MB less in the image")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
