"""Functions (with versions) and layer versions, persisted as JSON documents."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable

import sqlite_utils

from lconsole.model.function import FunctionConfig
from lconsole.model.record import FunctionRecord
from lconsole.model.settings import LayerVersion
from lconsole.store.codec import dump, load
from lconsole.store.db import transaction


def _doc(record: FunctionRecord) -> str:
    data = dump(record)
    data.pop("versions")
    return json.dumps(data, separators=(",", ":"))


class Catalog:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def load_functions(self) -> list[FunctionRecord]:
        versions: dict[str, dict[str, FunctionConfig]] = {}
        for fn, version, config in self.db.execute(
            "SELECT function, version, config FROM versions"
        ):
            versions.setdefault(fn, {})[version] = load(FunctionConfig, json.loads(config))
        out = []
        for name, doc in self.db.execute("SELECT name, doc FROM functions ORDER BY name"):
            data = json.loads(doc)
            data["versions"] = {}
            record = load(FunctionRecord, data)
            vs = versions.get(name, {})
            ordered = dict(sorted(vs.items(), key=lambda kv: int(kv[0])))
            out.append(dataclasses.replace(record, versions=ordered))
        return out

    def save_function(
        self,
        record: FunctionRecord,
        new_versions: Iterable[FunctionConfig] = (),
        deleted_versions: Iterable[str] = (),
    ) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT OR REPLACE INTO functions(name, doc) VALUES (?, ?)",
                [record.name, _doc(record)],
            )
            for config in new_versions:
                self.db.execute(
                    "INSERT OR REPLACE INTO versions(function, version, config) VALUES (?,?,?)",
                    [record.name, config.version, json.dumps(dump(config))],
                )
            for version in deleted_versions:
                self.db.execute(
                    "DELETE FROM versions WHERE function=? AND version=?", [record.name, version]
                )

    def delete_function(self, name: str) -> None:
        with transaction(self.db):
            self.db.execute("DELETE FROM versions WHERE function=?", [name])
            self.db.execute("DELETE FROM functions WHERE name=?", [name])

    # Layers -----------------------------------------------------------------------------

    def load_layers(self) -> tuple[list[LayerVersion], dict[str, int]]:
        versions = [
            load(LayerVersion, json.loads(doc))
            for (doc,) in self.db.execute("SELECT doc FROM layer_versions ORDER BY name, version")
        ]
        counters = dict(self.db.execute("SELECT name, next_version FROM layers").fetchall())
        return versions, counters

    def save_layer_version(self, layer: LayerVersion, next_version: int) -> None:
        with transaction(self.db):
            self.db.execute(
                "INSERT OR REPLACE INTO layers(name, next_version) VALUES (?, ?)",
                [layer.name, next_version],
            )
            self.db.execute(
                "INSERT OR REPLACE INTO layer_versions(name, version, doc) VALUES (?, ?, ?)",
                [layer.name, layer.version, json.dumps(dump(layer))],
            )

    def delete_layer_version(self, name: str, version: int) -> None:
        with transaction(self.db):
            self.db.execute(
                "DELETE FROM layer_versions WHERE name=? AND version=?", [name, version]
            )
