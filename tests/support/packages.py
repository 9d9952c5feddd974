"""Build deployment packages in memory for tests."""

from __future__ import annotations

import io
import zipfile


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
