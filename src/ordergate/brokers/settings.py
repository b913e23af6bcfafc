"""An adapter's own settings block: ``ORDERGATE_<NAME>_*`` variables over a YAML block.

Each adapter subclasses :class:`AdapterSettings`, names its block and its prefix::

    class IbkrSettings(AdapterSettings):
        model_config = SettingsConfigDict(env_prefix="ORDERGATE_IBKR_")
        block: ClassVar[str] = "ibkr"

        host: str = "127.0.0.1"
        password: SecretStr | None = None

and reads, lowest first: the defaults, the ``ibkr:`` mapping of the settings file
(the one :class:`ordergate.config.Settings` reads, which leaves the block alone), the
``ORDERGATE_IBKR_*`` environment, then keyword arguments. Unknown keys are refused;
credentials are :class:`~pydantic.SecretStr`, so they print as ``**********`` and
:meth:`AdapterSettings.secret_values` hands them to the log redactor.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ordergate.config import adapter_block
from ordergate.domain.errors import ConfigError


class AdapterSettings(BaseSettings):
    """Base of every adapter's settings block."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True, case_sensitive=False)

    #: the top-level mapping of the settings file this block reads (``paper``, ``ibkr`` …)
    block: ClassVar[str] = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _BlockSource(settings_cls, cls.block))

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Build the block, turning a bad value into :class:`ConfigError`."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            prefix = str(cls.model_config.get("env_prefix", ""))
            raise ConfigError(
                f"bad {cls.block or cls.__name__} settings ({cls.block}: block, {prefix}*): "
                f"{problems}"
            ) from None

    def secret_values(self) -> list[str]:
        """Every credential of the block, for the log redactor."""
        return [
            value.get_secret_value()
            for value in (getattr(self, name) for name in type(self).model_fields)
            if isinstance(value, SecretStr) and value.get_secret_value()
        ]


class _BlockSource(PydanticBaseSettingsSource):
    """The adapter's mapping of the settings file."""

    def __init__(self, settings_cls: type[BaseSettings], block: str) -> None:
        super().__init__(settings_cls)
        self._block = block

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return adapter_block(self._block) if self._block else {}
