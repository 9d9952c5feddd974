"""Aliases and their weighted routing to a second version."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Alias:
    name: str
    function_version: str
    revision_id: str
    description: str = ""
    # At most one entry: additional version -> weight in [0, 1].
    additional_weights: dict[str, float] = field(default_factory=dict)

    def versions(self) -> tuple[str, ...]:
        return (self.function_version, *self.additional_weights)
