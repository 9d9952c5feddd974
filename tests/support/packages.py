"""Build deployment packages in memory for tests."""

from __future__ import annotations

import io
import sys
import zipfile
from typing import Any


def zip_files(files: dict[str, str | bytes], modes: dict[str, int] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644) | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return buf.getvalue()


ECHO_PY = "def handler(event, context):\n    return event\n"


def echo_zip() -> bytes:
    return zip_files({"app.py": ECHO_PY})


ROLE = "arn:aws:iam::000000000000:role/lambda-role"
PY = f"python{sys.version_info.major}.{sys.version_info.minor}"


def create_python(lam, name: str, source: str, **kw: Any) -> dict:  # type: ignore[no-untyped-def]
    """CreateFunction of one `app.py` with handler `app.handler` on the engine's Python."""
    return lam.create_function(  # type: ignore[no-any-return]
        FunctionName=name,
        Runtime=PY,
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zip_files({"app.py": source})},
        **kw,
    )
