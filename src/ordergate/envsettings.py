"""Settings from ``<PREFIX><FIELD>`` environment variables over a file, on plain pydantic.

What ordergate used of pydantic-settings, and only that: importing pydantic-settings
costs ~25 ms of every start (asyncio, argparse and dotenv come with it), a tenth of a
one-shot ``ordergate submit`` (issue 21). A subclass of :class:`EnvSettings` names its
prefix in ``model_config`` (``EnvConfigDict(env_prefix="ORDERGATE_")``; pydantic-settings'
``SettingsConfigDict`` is the same dict and works too) and may supply
:meth:`EnvSettings.file_values`. Its values, lowest first:

1. the field defaults;
2. :meth:`~EnvSettings.file_values` (the settings file's mapping);
3. the environment: ``<prefix><field name>``, matched without regard to case; a field
   whose type is a list, set, tuple, mapping or model reads its variable as JSON
   (pydantic-settings' rule), every other field gets the text for pydantic's own parsing
   (``"true"``, ``"5"``, ``"0.25"``, ``"09:30"``);
4. keyword arguments.

A mapping given at several levels is merged key by key, the higher level winning.
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from ordergate.domain.errors import ConfigError

_COMPLEX = (BaseModel, Mapping, list, set, frozenset, tuple, dict)


class EnvConfigDict(ConfigDict, total=False):
    #: the variables' common prefix (``ORDERGATE_``)
    env_prefix: str


class EnvSettings(BaseModel):
    """A settings model that reads the environment and a file; see the module doc."""

    model_config = EnvConfigDict(extra="forbid", frozen=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**gather(type(self), values))

    @classmethod
    def file_values(cls) -> dict[str, Any]:
        """The settings file's values for this model (none by default)."""
        return {}


def gather(cls: type[EnvSettings], given: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``cls``: the file, then the environment, then ``given``."""
    prefix = str(cls.model_config.get("env_prefix", "")).lower()
    environ = {name.lower(): value for name, value in os.environ.items()}
    from_env: dict[str, Any] = {}
    for name, field in cls.model_fields.items():
        raw = environ.get(prefix + name)
        if raw is not None:
            from_env[name] = _decode(field.annotation, raw, (prefix + name).upper())
    merged = _merge(cls.file_values(), from_env)
    return _merge(merged, dict(given))


def _decode(annotation: Any, raw: str, variable: str) -> Any:
    complex_, simple = _kinds(annotation)
    if not complex_:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        if simple:  # ``list[str] | str``: the text is a value too
            return raw
        raise ConfigError(f"{variable} must be JSON (a list, set or mapping): {raw!r}") from None


def _kinds(annotation: Any) -> tuple[bool, bool]:
    """(whether ``annotation`` takes a JSON value, whether it also takes plain text)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _kinds(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        kinds = [_kinds(arg) for arg in get_args(annotation) if arg is not type(None)]
        return any(c for c, _ in kinds), any(s for _, s in kinds)
    target = origin or annotation
    is_complex = isinstance(target, type) and issubclass(target, _COMPLEX)
    return is_complex, not is_complex


def _merge(low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    merged = dict(low)
    for key, value in high.items():
        below = merged.get(key)
        if isinstance(value, dict) and isinstance(below, dict):
            merged[key] = _merge(below, value)
        else:
            merged[key] = value
    return merged
