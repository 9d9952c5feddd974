"""Load the sample functions from `fakes/functions` (first start, or `serve --samples`)."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import zipfile
from pathlib import Path
from typing import Any

from lconsole.engine.functions import Functions
from lconsole.model import errors

log = logging.getLogger("lconsole.engine")

SAMPLES = Path(__file__).resolve().parents[2] / "fakes" / "functions"
ROLE = "arn:aws:iam::000000000000:role/lconsole-sample"


def package(directory: Path) -> bytes:
    """Zip a directory, keeping each file's mode (a `bootstrap` must stay executable)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for root, dirs, files in os.walk(directory):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                path = Path(root, name)
                info = zipfile.ZipInfo(str(path.relative_to(directory)))
                info.external_attr = (path.stat().st_mode & 0o777 | 0o100000) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def manifest(root: Path = SAMPLES) -> list[dict[str, Any]]:
    path = root / "manifest.json"
    if not path.is_file():
        return []
    return json.loads(path.read_text())


async def load(functions: Functions, root: Path = SAMPLES) -> list[str]:
    """Create each sample not already present; returns the names created."""
    created = []
    for sample in manifest(root):
        name = sample["name"]
        if functions.registry.find(name) is not None:
            continue
        body = {
            "FunctionName": name,
            "Runtime": sample["runtime"],
            "Handler": sample["handler"],
            "Role": ROLE,
            "Description": sample.get("description", ""),
            "MemorySize": sample.get("memory", 128),
            "Timeout": sample.get("timeout", 3),
            "TracingConfig": {"Mode": sample.get("tracing", "PassThrough")},
            "Code": {"ZipFile": base64.b64encode(package(root / sample["dir"])).decode()},
        }
        try:
            await functions.create(body)
        except errors.LambdaError as exc:
            log.warning("sample %s not loaded: %s", name, exc)
            continue
        created.append(name)
    if created:
        log.info("loaded sample functions: %s", ", ".join(created))
    return created
