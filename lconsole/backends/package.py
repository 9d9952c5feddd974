"""Deployment packages made from a directory, byte-for-byte reproducible."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same tree gives the same CodeSha256
_SKIP_DIRS = frozenset({"__pycache__"})


def zip_directory(root: Path) -> bytes:
    """A deployment package of everything under `root`, as Lambda expects it.

    File modes are kept (so `bootstrap` stays executable), `__pycache__` is left out, entries are
    sorted and timestamps fixed so an unchanged tree always yields the same CodeSha256. Symlinks
    to files are stored as the file they point at; symlinked directories are not followed.
    """
    root = Path(root)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for current, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            base = Path(current)
            for filename in sorted(files):
                path = base / filename
                st = path.stat()  # follows file symlinks
                if not stat.S_ISREG(st.st_mode):
                    continue
                info = zipfile.ZipInfo(path.relative_to(root).as_posix(), _ZIP_EPOCH)
                info.external_attr = (stat.S_IFREG | stat.S_IMODE(st.st_mode)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, so the mode bits are honoured on extraction
                zf.writestr(info, path.read_bytes())
    return buf.getvalue()
