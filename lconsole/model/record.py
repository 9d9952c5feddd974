"""The whole of one function: $LATEST, its versions, aliases and side settings.

Records are replaced, never mutated: the control plane builds a new record, the store commits
it in one transaction, and only then does the engine swap it in, so a failed write leaves
nothing half-changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lconsole.model.alias import Alias
from lconsole.model.function import FunctionConfig
from lconsole.model.settings import EventInvokeConfig, Policy, ProvisionedConcurrency


@dataclass(frozen=True)
class FunctionRecord:
    name: str
    created: str
    latest: FunctionConfig
    next_version: int = 1
    versions: dict[str, FunctionConfig] = field(default_factory=dict)
    aliases: dict[str, Alias] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    provisioned: dict[str, ProvisionedConcurrency] = field(default_factory=dict)
    invoke_configs: dict[str, EventInvokeConfig] = field(default_factory=dict)
    policies: dict[str, Policy] = field(default_factory=dict)  # "" = unqualified
    published_fingerprint: str | None = None

    def config(self, version: str) -> FunctionConfig | None:
        if version == self.latest.version:
            return self.latest
        return self.versions.get(version)

    def latest_published(self) -> FunctionConfig | None:
        if not self.versions:
            return None
        return self.versions[max(self.versions, key=int)]
