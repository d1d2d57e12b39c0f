"""Bytecode for the modules the image's runtime imports, and only for those.

    python3 deploy/bytecode.py list [--postgres URL]     (writes deploy/bytecode-modules.txt)
    python3 deploy/bytecode.py compile LIST ROOT [PREFIX] (in the image's build)

A read-only root cannot keep what Python compiles at import, so every module imported
without its ``.pyc`` is compiled again at each start of each process. Compiling every
module of the standard library and of every dependency costs 29 MB of the image, most of it
for modules nothing imports (test suites, redis' cluster client, the standard library's
email, xmlrpc, tkinter...). ``list`` starts ``eventsapi serve`` from this venv with
``PYTHONPROFILEIMPORTTIME`` (each process, granian's worker too, names every module it
imports), sends it the requests of a typical session (the tutorial's walk-through, the
docs page, the web UI, metrics, an account, a calendar feed; on PostgreSQL too with
``--postgres``, and ``db copy``), runs the image's HEALTHCHECK and imports the libraries the
app imports only when first needed (redis, zxcvbn, segno), and writes the names of every
module imported. ``compile`` compiles, under ROOT, the listed modules that it finds there
(``eventsapi.*``: the package and every module in it), with ``unchecked-hash``
invalidation (the files never change on a read-only root). A module left out still imports
(compiled in memory, about 1 ms per 10 kB of source), so a stale list costs time, never
correctness; ``tests/deploy/test_bytecode.py`` checks that the list is current.
"""

from __future__ import annotations

import argparse
import json
import os
import py_compile
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIST = HERE / "bytecode-modules.txt"
WHOLE = ("eventsapi",)
"""Packages compiled whole, whatever the session imported: the app's own modules."""
LAZY = (
    "import redis.asyncio, redis.exceptions; from zxcvbn import zxcvbn; import segno; "
    "import psycopg, psycopg_pool; import httpx, httpcore, h11, jinja2, yaml, regex, pyotp; "
    "import nacl.secret; "
    "from precis_i18n import get_profile; "
    "import argon2, jsonpatch, jsonpointer"
)
"""What the app imports when first needed (shared limits, passwords, two-step login,
webhook deliveries, UI pages, SLO files, usernames, the UI's sealed sign-in step, password
hashes, JSON Patch)."""
HEALTHCHECK = "import os, urllib.request"
"""The Containerfile's HEALTHCHECK imports these (then asks /healthz)."""
EVENT = {"ID": "1", "Title": "Introduction", "Description": "Come and learn"}
SESSION: tuple[tuple[str, str, object], ...] = (
    ("GET", "/", None),
    ("GET", "/healthz", None),
    ("POST", "/event", EVENT),
    ("POST", "/events", {"title": "Second", "start": "2026-12-24T18:00:00Z"}),
    ("GET", "/events", None),
    ("GET", "/events?q=intro&limit=5", None),
    ("GET", "/events/1", None),
    ("PATCH", "/events/1", {"Title": "Introduction to Go"}),
    ("POST", "/event", "not json"),
    ("GET", "/events.ics", None),
    ("GET", "/events/1.ics", None),
    ("GET", "/changes", None),
    ("GET", "/openapi.json", None),
    ("GET", "/docs", None),
    ("GET", "/docs/static/swagger-ui-bundle.js", None),
    ("GET", "/ui/", None),
    ("GET", "/ui/static/ui.css", None),
    ("GET", "/metrics", None),
    ("GET", "/slo", None),
    ("POST", "/users", {"username": "ada", "password": "correct horse battery staple"}),
    ("POST", "/auth/login", {"username": "ada", "password": "correct horse battery staple"}),
    ("GET", "/auth/me", None),
    ("DELETE", "/events/1", None),
    ("GET", "/trash", None),
)
_IMPORT = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|( *)(\S+)\s*$")


def imported(stderr: str) -> set[str]:
    """The modules named in ``-X importtime`` output."""
    return {m.group(2) for line in stderr.splitlines() if (m := _IMPORT.match(line))}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def request(port: int, method: str, path: str, body: object) -> None:
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    sent = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=None if data is None else data.encode(),
        method=method,
        headers={"Content-Type": "application/json", "Accept-Encoding": "br, gzip"},
    )
    try:
        with urllib.request.urlopen(sent, timeout=10):  # noqa: S310 (loopback http)
            pass
    except urllib.error.HTTPError:
        pass  # the module that answered a 4xx was imported all the same


def serve(eventsapi: str, database: str, env: dict[str, str]) -> set[str]:
    port = free_port()
    with tempfile.TemporaryFile("w+") as err:
        server = subprocess.Popen(  # noqa: S603 (this venv's console script)
            [eventsapi, "serve", "--port", str(port), "--database", database],
            env={**env, "PYTHONPROFILEIMPORTTIME": "1", "EVENTSAPI_ANONYMOUS_WRITES": "on"},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    request(port, "GET", "/", None)
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.05)
            for method, path, body in SESSION:
                request(port, method, path, body)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(60)
        err.seek(0)
        return imported(err.read())


def python(code: str, env: dict[str, str]) -> set[str]:
    ran = subprocess.run(  # noqa: S603
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return imported(ran.stderr)


def session(postgres: str | None) -> set[str]:
    """Every module a typical session of the installed eventsapi imports, in any process."""
    eventsapi = str(Path(sys.executable).with_name("eventsapi"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTSAPI_")}
    names = python(HEALTHCHECK, env) | python(LAZY, env)
    with tempfile.TemporaryDirectory() as scratch:
        sqlite = str(Path(scratch) / "events.db")
        names |= serve(eventsapi, sqlite, env)
        if postgres:
            names |= serve(eventsapi, postgres, env)
            copy = [eventsapi, "db", "copy", "--from", sqlite, "--to", postgres]
            ran = subprocess.run(  # noqa: S603
                copy,
                env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
                capture_output=True,
                text=True,
                check=False,
            )
            names |= imported(ran.stderr)
    return names - {"package"}  # importtime's header line


def write_list(names: Iterable[str], path: Path) -> None:
    lines = sorted({*names, *(f"{name}.*" for name in WHOLE)})
    path.write_text(
        "# The modules the image's runtime imports (deploy/bytecode.py list): the image\n"
        "# keeps bytecode for these only. NAME.* is the package NAME and all its modules.\n"
        + "".join(f"{line}\n" for line in lines)
    )


def read_list(path: Path) -> list[str]:
    text = path.read_text().splitlines()
    return [line.strip() for line in text if line.strip() and not line.startswith("#")]


def sources(names: Iterable[str], root: Path) -> Iterator[Path]:
    """The source files under ``root`` of the modules ``names``."""
    for name in names:
        base = root.joinpath(*name.removesuffix(".*").split("."))
        if name.endswith(".*"):
            if base.is_dir():
                yield from sorted(base.rglob("*.py"))
            continue
        for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
            if candidate.is_file():
                yield candidate
                break


def compile_listed(names: list[str], root: Path, prefix: Path | None) -> int:
    """Compile the listed modules found under ``root``; how many."""
    count = 0
    for source in sources(names, root):
        shown = prefix / source.relative_to(root) if prefix else source
        py_compile.compile(
            str(source),
            dfile=str(shown),
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        count += 1
    return count


def pure(entry: Path) -> bool:
    """Whether the top-level ``entry`` of a ``--target`` directory is a pure-Python package
    (or module): nothing in it that ``zipimport`` cannot import."""
    if entry.is_file():
        return entry.suffix == ".py"
    if not (entry / "__init__.py").is_file():
        return False  # a dist-info, a namespace package, the console scripts
    return not any(".so" in path.name for path in entry.rglob("*"))


def pack(
    names: list[str], lib: Path, archive: Path, keep: Iterable[str], only: Iterable[str] = ()
) -> list[str]:
    """Move the pure-Python packages of ``lib`` into the zip ``archive``; their names.

    Each file goes in compressed (sources shrink about 4 times), with the listed modules'
    bytecode beside their source (``mod.pyc``, where ``zipimport`` looks for it), compiled
    with the path it is imported from, so that tracebacks name the file and show its lines
    (``zipimport`` reads the source from the zip). Packages named in ``keep`` stay files;
    with ``only``, only the packages named there move.
    """
    keep, only = set(keep), set(only)
    wanted = {source.resolve() for source in sources(names, lib)}
    moved = [
        entry
        for entry in sorted(lib.iterdir())
        if entry.name not in keep and (not only or entry.name in only) and pure(entry)
    ]
    with (
        tempfile.TemporaryDirectory() as scratch,
        zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zipped,
    ):
        compiled = Path(scratch) / "module.pyc"
        for entry in moved:
            paths = [entry] if entry.is_file() else [entry, *sorted(entry.rglob("*"))]
            for path in paths:
                if "__pycache__" in path.parts:
                    continue
                inside = path.relative_to(lib).as_posix()
                zipped.write(path, inside)
                if path.resolve() in wanted:
                    py_compile.compile(
                        str(path),
                        cfile=str(compiled),
                        dfile=f"{archive}/{inside}",
                        doraise=True,
                        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
                    )
                    zipped.write(compiled, inside.removesuffix(".py") + ".pyc")
    for entry in moved:
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    return [entry.name for entry in moved]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="write the list from a session of this venv")
    listing.add_argument("--postgres", help="a PostgreSQL URL to run the session on as well")
    listing.add_argument("--output", type=Path, default=LIST)
    compiling = commands.add_parser("compile", help="compile the listed modules under ROOT")
    compiling.add_argument("list", type=Path)
    compiling.add_argument("root", type=Path)
    compiling.add_argument("prefix", type=Path, nargs="?", help="the path shown in tracebacks")
    packing = commands.add_parser("pack", help="move LIB's pure-Python packages into ZIP")
    packing.add_argument("list", type=Path)
    packing.add_argument("lib", type=Path)
    packing.add_argument("zip", type=Path)
    packing.add_argument("--keep", default="", help="packages left as files (a,b)")
    packing.add_argument("--only", default="", help="move these packages only (a,b)")
    args = parser.parse_args(argv)
    if args.command == "list":
        if not args.postgres:
            print("bytecode: no --postgres: PostgreSQL's modules are left out", file=sys.stderr)
        write_list(session(args.postgres), args.output)
    elif args.command == "pack":
        listed = read_list(args.list)
        only = [name for name in args.only.split(",") if name]
        moved = pack(listed, args.lib, args.zip, args.keep.split(","), only)
        size = args.zip.stat().st_size / 1e6
        print(f"bytecode: {len(moved)} packages moved into {args.zip} ({size:.1f} MB)")
    else:
        count = compile_listed(read_list(args.list), args.root, args.prefix)
        print(f"bytecode: {count} modules compiled under {args.root}")


if __name__ == "__main__":
    main()
