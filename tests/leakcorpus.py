"""A tree with a fresh key planted in every place keys leak, built at test time.

Each plant records where a scan must report it: the path (``outer!member`` for archives),
the line (``None`` in binary content) and the encoding. Nothing here is ever committed:
the keys are random and the files live in a temporary directory.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import marshal
import sqlite3
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.keygen import BASE64URL, make_key, underscored_key


@dataclass(frozen=True)
class Plant:
    path: str
    line: int | None
    key: str = field(repr=False)
    encoding: str | None = None


@dataclass
class Corpus:
    root: Path
    plants: list[Plant] = field(default_factory=list)

    def key(self, path: str, line: int | None, encoding: str | None = None, **how: int) -> str:
        key = make_key(how.get("length", 48))
        self.plants.append(Plant(path, line, key, encoding))
        return key

    def write(self, path: str, content: str | bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)


def _lines(before: int, line: str, after: int = 2) -> str:
    filler = [f"line {n} of ordinary text" for n in range(before)]
    return "\n".join([*filler, line, *(["ok"] * after)]) + "\n"


def zip_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive holding ``members`` (name -> content), built in memory."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def tar_bytes(members: dict[str, bytes], mode: str = "w") -> bytes:
    """A tar archive (``mode`` as for :func:`tarfile.open`: ``w``, ``w:gz``, …) in memory."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _sqlite(path: Path, key: str) -> None:
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("create table settings (id integer primary key, value text)")
        connection.execute("insert into settings (value) values (?)", (key,))
    connection.close()


def _pyc(key: str) -> bytes:
    code = compile(f'API_KEY = "{key}"\nTIMEOUT = None\n', "settings.py", "exec")
    return b"\x00" * 16 + marshal.dumps(code)  # header, then the code object


def build(root: Path) -> Corpus:
    """Plant keys in every kind of place; return the corpus and what must be found."""
    c = Corpus(root)
    # Source, config and pages.
    c.write("src/llm.py", _lines(2, f'CLIENT = Client(api_key="{c.key("src/llm.py", 3)}")'))
    c.write(".env", _lines(0, f"CROSSMODEL_API_KEY={c.key('.env', 1)}"))
    page = (
        f"<script>fetch(u, {{headers: {{Authorization: 'Bearer {c.key('web/index.html', 4)}'}}}})"
    )
    c.write("web/index.html", _lines(3, page + "</script>"))
    # A minified bundle: one line of 2 MB, the key about half way along.
    pad = "var a=1;" * 125_000
    bundle_key = c.key("web/dist/assets/app.min.js", 1)
    c.write("web/dist/assets/app.min.js", f'{pad}const k="{bundle_key}";{pad}')
    # A source map whose sourcesContent holds a key at line 12 of the original.
    mapped = c.key("web/dist/assets/app.min.js.map", 1)
    c.plants.append(Plant("web/dist/assets/app.min.js.map!webpack://app/src/llm.ts", 12, mapped))
    original = "import { x } from './x';\n" * 11 + f'export const KEY = "{mapped}";\n'
    source_map = {"version": 3, "sources": ["webpack://app/src/llm.ts"], "mappings": "AAAA"}
    c.write(
        "web/dist/assets/app.min.js.map", json.dumps({**source_map, "sourcesContent": [original]})
    )
    # Escapes and encodings.
    escaped = c.key("web/dist/data.json", 2, "json-escape")
    c.write("web/dist/data.json", '{\n"k": "cm\\u002d' + escaped[3:] + '"\n}\n')
    percent = c.key("logs/proxy.log", 2, "percent-encoding")
    c.write("logs/proxy.log", _lines(1, f"GET /v1/models?key=cm%2D{percent[3:]} 200"))
    secret = c.key("k8s/secret.yaml", 6, "base64")
    manifest = (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: llm\ndata:\n  KEY: {_b64(secret)}\n"
    )
    c.write("k8s/secret.yaml", manifest)
    basic = c.key("logs/auth.log", 5, "base64")
    c.write("logs/auth.log", _lines(4, f"Authorization: Basic {_b64('svc:' + basic)}"))
    le = c.key("win/profile.ps1", 2, "utf-16-le")
    c.write("win/profile.ps1", ("\ufeff" + _lines(1, f"$env:KEY = '{le}'")).encode("utf-16-le"))
    be = c.key("win/notes.txt", 3, "utf-16-be")
    c.write("win/notes.txt", _lines(2, f"key {be}").encode("utf-16-be"))
    # Rotated and compressed logs.
    compressors: dict[str, Callable[[bytes], bytes]] = {
        "gz": gzip.compress,
        "bz2": bz2.compress,
        "xz": lzma.compress,
    }
    for number, (suffix, compress) in enumerate(compressors.items(), start=1):
        name = f"logs/access.log.{number}.{suffix}"
        line = _lines(40, f'10.0.0.9 "GET /?k={c.key(name, 41)} HTTP/1.1" 200', after=40)
        c.write(name, compress(line.encode()))
    # Archives and packages: the zip family, tar in every compression, nesting.
    for name, member in [
        ("release/app.apk", "assets/config.json"),
        ("release/app.aab", "base/assets/llm.json"),
        ("release/App.ipa", "Payload/App.app/Config.plist"),
        ("dist/tool-1.0-py3-none-any.whl", "tool/settings.py"),
        ("dist/addon.xpi", "background.js"),
        ("libs/client.jar", "com/app/llm.properties"),
    ]:
        key = c.key(f"{name}!{member}", 2)
        members = {"README": b"nothing\n", member: _lines(1, f"key={key}").encode()}
        if name.endswith(".apk"):  # a dex string: a length byte, the bytes, a NUL
            dex_key = c.key(f"{name}!classes.dex", None)
            members["classes.dex"] = (
                b"dex\n035\x00" + b"\x00" * 64 + bytes([len(dex_key)]) + dex_key.encode() + b"\x00"
            )
        c.write(name, zip_bytes(members))
    for suffix, mode in [
        ("tar", "w"),
        ("tar.gz", "w:gz"),
        ("tar.bz2", "w:bz2"),
        ("tar.xz", "w:xz"),
    ]:
        name = f"backups/etc.{suffix}"
        key = c.key(f"{name}!etc/app.env", 3)
        c.write(name, tar_bytes({"etc/app.env": _lines(2, f"KEY={key}").encode()}, mode))
    deep = c.key("bundle.zip!inner.tar.gz!deep/nested.txt", 1)
    inner = tar_bytes({"deep/nested.txt": f"{deep}\n".encode()}, "w:gz")
    jar_key = c.key("bundle.zip!libs/sdk.jar!sdk.properties", 2)
    jar = zip_bytes({"sdk.properties": _lines(1, f"key={jar_key}").encode()})
    c.write("bundle.zip", zip_bytes({"inner.tar.gz": inner, "libs/sdk.jar": jar}))
    utf16_member = c.key("win.zip!transcript.txt", 2, "utf-16-le")
    transcript = ("\ufeff" + _lines(1, f"PS> $k = '{utf16_member}'")).encode("utf-16-le")
    c.write("win.zip", zip_bytes({"transcript.txt": transcript}))
    # Binary containers, scanned as bytes: SQLite and a compiled Python module.
    (root / "data").mkdir(exist_ok=True)
    _sqlite(root / "data/app.sqlite", c.key("data/app.sqlite", None))
    pyc_key = c.key("src/__pycache__/settings.cpython-311.pyc", None)
    c.write("src/__pycache__/settings.cpython-311.pyc", _pyc(pyc_key))
    # Alphabets and shapes from SPEC: hex, lowercase, base64url with "_".
    shapes = [make_key(32, "0123456789abcdef"), make_key(40, BASE64URL), underscored_key()]
    for number, key in enumerate(shapes, start=2):
        c.plants.append(Plant("src/keys.ts", number, key))
    c.write("src/keys.ts", "// keys\n" + "".join(f"k({json.dumps(k)});\n" for k in shapes))
    return c
