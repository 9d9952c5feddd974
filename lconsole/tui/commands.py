"""The `:` command line: what can be typed, how it is completed and parsed (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

THEMES = ("dark", "light")


@dataclass(frozen=True)
class Verb:
    name: str
    help: str
    arg: str | None = None  # "function" | "theme" | None
    aliases: tuple[str, ...] = ()


VERBS: tuple[Verb, ...] = (
    Verb("functions", "list every function", aliases=("fn", "f")),
    Verb("function", "open one function", "function", ("open",)),
    Verb("invocations", "a function's live invocations", "function", ("inv",)),
    Verb("versions", "a function's versions", "function"),
    Verb("aliases", "a function's aliases and their traffic split", "function"),
    Verb("config", "a function's configuration", "function"),
    Verb("envs", "a function's execution environments", "function", ("environments",)),
    Verb("logs", "a function's logs", "function", ("log",)),
    Verb("traces", "a function's traces", "function", ("trace",)),
    Verb("metrics", "a function's metrics", "function"),
    Verb("invoke", "invoke a function", "function"),
    Verb("pulses", "sparklines of every function"),
    Verb("theme", "switch between dark and light", "theme"),
    Verb("help", "keys of the current view"),
    Verb("quit", "leave the console", aliases=("q", "exit")),
)
_BY_NAME = {n: v for v in VERBS for n in (v.name, *v.aliases)}


class CommandError(ValueError):
    """What was typed cannot run; the message is shown inline."""


@dataclass(frozen=True)
class Command:
    verb: str
    function: str | None = None
    qualifier: str | None = None
    value: str | None = None


def parse(text: str, functions: Sequence[str]) -> Command:
    words = text.strip().removeprefix(":").split()
    if not words:
        raise CommandError("type a command, e.g. :functions or :logs NAME (tab completes)")
    verb = _BY_NAME.get(words[0].lower())
    if verb is None:
        raise CommandError(f"unknown command {words[0]!r}; try :help")
    rest = words[1:]
    if verb.arg is None:
        if rest:
            raise CommandError(f":{verb.name} takes no argument")
        return Command(verb.name)
    if not rest:
        raise CommandError(f":{verb.name} needs a {verb.arg} name")
    if len(rest) > 1:
        raise CommandError(f":{verb.name} takes one {verb.arg}, got {' '.join(rest)!r}")
    if verb.arg == "theme":
        if rest[0] not in THEMES:
            raise CommandError(f"unknown theme {rest[0]!r}; choose {' or '.join(THEMES)}")
        return Command(verb.name, value=rest[0])
    name, _, qualifier = rest[0].partition("@")
    if name not in functions:
        raise CommandError(f"no function named {name!r}")
    return Command(verb.name, function=name, qualifier=qualifier or None)


def complete(text: str, functions: Sequence[str]) -> list[str]:
    """Whole-line completions for what has been typed so far, best first."""
    typed = text.lstrip().removeprefix(":")
    head, space, tail = typed.partition(" ")
    if not space:
        return [v.name for v in VERBS if v.name.startswith(head.lower())]
    verb = _BY_NAME.get(head.lower())
    if verb is None or verb.arg is None:
        return []
    choices = THEMES if verb.arg == "theme" else functions
    tail = tail.strip()
    return [f"{head} {c}" for c in choices if c.startswith(tail)]
