"""Which version an alias sends one request to. Pure: the random draw is passed in."""

from __future__ import annotations

from lconsole.model.alias import Alias


def route(alias: Alias, draw: float) -> str:
    """`draw` is uniform in [0, 1); the additional version gets it when below its weight."""
    for version, weight in alias.additional_weights.items():
        if draw < weight:
            return version
    return alias.function_version
