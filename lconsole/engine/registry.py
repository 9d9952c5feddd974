"""The in-memory catalog of functions and layers, written through to the store.

Reads (the invoke hot path included) never touch SQLite; every change is committed first and
swapped in after, so memory never holds something the store does not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from lconsole.model import arn as arns
from lconsole.model import errors
from lconsole.model.function import FunctionConfig
from lconsole.model.record import FunctionRecord
from lconsole.model.settings import LayerVersion
from lconsole.store.catalog import Catalog

ChangeListener = Callable[[str, FunctionRecord | None, FunctionRecord | None], None]


class Registry:
    def __init__(self, catalog: Catalog, region: str, account: str) -> None:
        self.catalog = catalog
        self.region = region
        self.account = account
        self.functions: dict[str, FunctionRecord] = {r.name: r for r in catalog.load_functions()}
        layer_versions, self.layer_counters = catalog.load_layers()
        self.layers: dict[str, dict[int, LayerVersion]] = {}
        for lv in layer_versions:
            self.layers.setdefault(lv.name, {})[lv.version] = lv
        self._listeners: list[ChangeListener] = []

    # ARNs ---------------------------------------------------------------------------------

    def arn(self, name: str, qualifier: str | None = None) -> str:
        return arns.function_arn(self.region, self.account, name, qualifier)

    def layer_arn(self, name: str, version: int | None = None) -> str:
        return arns.layer_arn(self.region, self.account, name, version)

    # Lookup -------------------------------------------------------------------------------

    def find(self, name: str) -> FunctionRecord | None:
        return self.functions.get(name)

    def require(self, name: str, qualifier: str | None = None) -> FunctionRecord:
        record = self.functions.get(name)
        if record is None:
            raise errors.not_found(f"Function not found: {self.arn(name, qualifier)}")
        return record

    def resolve_version(self, record: FunctionRecord, qualifier: str | None) -> FunctionConfig:
        """Qualifier (None, $LATEST, version or alias) to the config it names."""
        if qualifier is None or qualifier == arns.LATEST:
            return record.latest
        config = record.versions.get(qualifier)
        if config is None and qualifier in record.aliases:
            config = record.versions.get(record.aliases[qualifier].function_version)
            if config is None and record.aliases[qualifier].function_version == arns.LATEST:
                config = record.latest
        if config is None:
            raise errors.not_found(f"Function not found: {self.arn(record.name, qualifier)}")
        return config

    # Changes ------------------------------------------------------------------------------

    def on_change(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def commit(
        self,
        record: FunctionRecord,
        new_versions: Iterable[FunctionConfig] = (),
        deleted_versions: Iterable[str] = (),
    ) -> FunctionRecord:
        new_versions = list(new_versions)
        deleted_versions = list(deleted_versions)
        self.catalog.save_function(record, new_versions, deleted_versions)
        before = self.functions.get(record.name)
        self.functions[record.name] = record
        self._notify(record.name, before, record)
        return record

    def remove(self, name: str) -> None:
        self.catalog.delete_function(name)
        before = self.functions.pop(name, None)
        self._notify(name, before, None)

    def _notify(
        self, name: str, before: FunctionRecord | None, after: FunctionRecord | None
    ) -> None:
        for listener in self._listeners:
            listener(name, before, after)

    # Layers -------------------------------------------------------------------------------

    def add_layer_version(self, layer: LayerVersion) -> None:
        next_version = layer.version + 1
        self.catalog.save_layer_version(layer, next_version)
        self.layer_counters[layer.name] = next_version
        self.layers.setdefault(layer.name, {})[layer.version] = layer

    def replace_layer_version(self, layer: LayerVersion) -> None:
        self.catalog.save_layer_version(layer, self.layer_counters.get(layer.name, 1))
        self.layers[layer.name][layer.version] = layer

    def remove_layer_version(self, name: str, version: int) -> None:
        self.catalog.delete_layer_version(name, version)
        versions = self.layers.get(name, {})
        versions.pop(version, None)
        if not versions:
            self.layers.pop(name, None)

    def code_ids(self) -> set[str]:
        """Every package still referenced, for collecting orphans."""
        ids: set[str] = set()
        for record in self.functions.values():
            ids.add(record.latest.code_id)
            ids.update(c.code_id for c in record.versions.values())
        for versions in self.layers.values():
            ids.update(lv.code_id for lv in versions.values())
        return ids

    def total_code_size(self) -> int:
        total = 0
        for record in self.functions.values():
            total += record.latest.code_size
            total += sum(c.code_size for c in record.versions.values())
        for versions in self.layers.values():
            total += sum(lv.code_size for lv in versions.values())
        return total
