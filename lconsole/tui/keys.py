"""Key bindings are data: ids, defaults, and the user's keymap file at the XDG path.

`~/.config/lconsole/keymap.toml` (or `$XDG_CONFIG_HOME/lconsole/keymap.toml`) remaps any
binding by id:

    [keys]
    "functions.invoke" = "ctrl+i"
    "traffic.up10" = "shift+up,K"

Ids are listed by `?` in every view. Actions that change something are named in `MUTATING`,
so `--read-only` can hide them everywhere from one list.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding

from lconsole.config import config_dir

KEYMAP_FILE = "keymap.toml"

# Action names that change something: hidden and refused under --read-only.
MUTATING = frozenset(
    {
        "invoke",
        "publish",
        "traffic",
        "edit_config",
        "apply",
        "promote",
        "rollback",
        "shift",
        "target",
        "set_weight",
        "send",
    }
)


@dataclass(frozen=True)
class Keymap:
    keys: dict[str, str]
    problem: str = ""  # why the file was not (fully) used, shown once at start


def keymap_path() -> Path:
    return config_dir() / KEYMAP_FILE


def load_keymap(path: Path | None = None) -> Keymap:
    """The user's remappings; a broken file is reported, never fatal."""
    path = path or keymap_path()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return Keymap({})
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return Keymap({}, f"{path}: {exc}")
    table = data.get("keys", {})
    if not isinstance(table, dict):
        return Keymap({}, f'{path}: [keys] must be a table of binding id = "key"')
    keys = {str(k): v for k, v in table.items() if isinstance(v, str) and v.strip()}
    bad = sorted(set(table) - set(keys))
    problem = f"{path}: ignored {', '.join(bad)} (values must be key strings)" if bad else ""
    return Keymap(keys, problem)


def key(keys: str, action: str, description: str, id: str, **kw: object) -> Binding:
    """A binding with an id and a tooltip, as every binding in the console has."""
    tooltip = str(kw.pop("tooltip", description))
    return Binding(keys, action, description, id=id, tooltip=tooltip, **kw)  # type: ignore[arg-type]
