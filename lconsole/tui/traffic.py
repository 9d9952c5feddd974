"""Alias traffic shifting as values: the pending split and the UpdateAlias it becomes (pure)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from lconsole.backends.base import AliasInfo


class ShiftError(ValueError):
    """A shift that cannot be applied; the message is shown inline."""


@dataclass(frozen=True)
class Shift:
    """`weight` percent of the alias's traffic goes to `target`, the rest to `primary`."""

    primary: str
    target: str | None
    weight: int  # 0..100

    @classmethod
    def of(cls, alias: AliasInfo, versions: list[str]) -> Shift:
        if alias.weights:
            target, share = next(iter(alias.weights.items()))
            return cls(alias.function_version, target, round(share * 100))
        others = [v for v in versions if v != alias.function_version]
        newest = max(others, key=_order) if others else None
        return cls(alias.function_version, newest, 0)

    def by(self, points: int) -> Shift:
        return replace(self, weight=max(0, min(100, self.weight + points)))

    def to(self, weight: int) -> Shift:
        if not 0 <= weight <= 100:
            raise ShiftError(f"weight must be between 0 and 100 percent, got {weight}")
        return replace(self, weight=weight)

    def next_target(self, versions: list[str]) -> Shift:
        others = sorted((v for v in versions if v != self.primary), key=_order)
        if not others:
            raise ShiftError("publish another version first: nothing to shift traffic to")
        i = others.index(self.target) + 1 if self.target in others else 0
        return replace(self, target=others[i % len(others)])

    def split(self) -> list[tuple[str, float]]:
        if self.target is None or self.weight == 0:
            return [(self.primary, 1.0)]
        if self.weight == 100:
            return [(self.target, 1.0)]
        return [(self.primary, 1 - self.weight / 100), (self.target, self.weight / 100)]

    def update(self) -> tuple[str, dict[str, float]]:
        """(FunctionVersion, AdditionalVersionWeights) for UpdateAlias.

        100% makes the target the alias's version (a promotion) and 0% drops the routing config
        (a roll back), so the alias never carries a weight that routes nothing.
        """
        if self.target is None:
            raise ShiftError("no target version: press v to choose one")
        if self.weight == 100:
            return self.target, {}
        if self.weight == 0:
            return self.primary, {}
        return self.primary, {self.target: round(self.weight / 100, 2)}

    def promote(self) -> Shift:
        return replace(self, weight=100)

    def rollback(self) -> Shift:
        return replace(self, weight=0)


def _order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 30, version)
