"""Deployment packages on disk: content-addressed zips and their unpacked trees.

A package is checked before anything is written (a bad zip, an entry escaping the root, or an
oversized tree is rejected whole) and unpacked into a temporary directory that is renamed into
place, so no failure leaves a partial tree behind. Trees are immutable once placed, which lets
every environment bind-mount them read-only.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lconsole.model import errors

UNZIP_ERROR = "Could not unzip uploaded file. Please check your file, then try to upload again."
MAX_UNZIPPED = 262144000


@dataclass(frozen=True)
class StoredCode:
    code_id: str  # hex sha256
    sha256: str  # base64 sha256, as AWS reports CodeSha256
    size: int
    unzipped_size: int


def _safe_member(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("\\") or ".." in path.parts:
        return None
    if any(":" in part and len(part) == 2 for part in path.parts[:1]):  # C: style
        return None
    return path


def _check(archive: zipfile.ZipFile) -> int:
    """Total unpacked size; raises when an entry could land outside the package root."""
    total = 0
    for info in archive.infolist():
        rel = _safe_member(info.filename)
        if rel is None:
            raise errors.invalid_parameter(UNZIP_ERROR)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            target = archive.read(info).decode("utf-8", "replace")
            resolved = PurePosixPath(os.path.normpath(str(rel.parent / target)))
            if target.startswith("/") or resolved.parts[:1] == ("..",) or str(resolved) == "..":
                raise errors.invalid_parameter(UNZIP_ERROR)
        total += info.file_size
    return total


def _extract(archive: zipfile.ZipFile, dest: Path) -> None:
    for info in archive.infolist():
        rel = _safe_member(info.filename)
        assert rel is not None
        target = dest / rel
        mode = info.external_attr >> 16
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if stat.S_ISLNK(mode):
            os.symlink(archive.read(info).decode("utf-8"), target)
            continue
        with archive.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        perm = mode & 0o777
        os.chmod(target, perm if perm else 0o644)
    # Directories must stay traversable whatever the archive said.
    for root, dirs, _ in os.walk(dest):
        for d in dirs:
            p = Path(root, d)
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | 0o755)


class CodeStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def zip_path(self, code_id: str) -> Path:
        return self.root / f"{code_id}.zip"

    def tree(self, code_id: str) -> Path:
        return self.root / code_id

    def put_zip(self, data: bytes) -> StoredCode:
        """Check, store and unpack a package; idempotent for identical bytes."""
        digest = hashlib.sha256(data).digest()
        code_id = digest.hex()
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            unzipped = _check(archive)
        except errors.LambdaError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
            raise errors.invalid_parameter(UNZIP_ERROR) from None
        if unzipped >= MAX_UNZIPPED:
            raise errors.invalid_parameter(
                f"Unzipped size must be smaller than {MAX_UNZIPPED} bytes"
            )
        tree = self.tree(code_id)
        if not tree.is_dir():
            staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=self.root))
            try:
                _extract(archive, staging)
                archive.testzip()
                os.rename(staging, tree)
            except OSError as exc:
                shutil.rmtree(staging, ignore_errors=True)
                if not tree.is_dir():
                    raise errors.invalid_parameter(UNZIP_ERROR) from exc
            except Exception:
                shutil.rmtree(staging, ignore_errors=True)
                raise errors.invalid_parameter(UNZIP_ERROR) from None
        zpath = self.zip_path(code_id)
        if not zpath.exists():
            fd, tmp = tempfile.mkstemp(prefix=".zip-", dir=self.root)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, zpath)
        return StoredCode(code_id, base64.b64encode(digest).decode(), len(data), unzipped)

    def collect(self, referenced: set[str]) -> int:
        """Remove packages no function or layer refers to, and any leftover staging dirs."""
        removed = 0
        for entry in self.root.iterdir():
            key = entry.name.removesuffix(".zip")
            if entry.name.startswith(".") or key not in referenced:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed += 1
        return removed
