"""The dummy broker: the paper venue behind an adapter that says it is a real broker.

It declares itself not simulated, so ordergate treats it as a real account: it needs
``MODE=LIVE`` and the configured account to be the one it reports (``account``). Its
block (``dummy:`` / ``ORDERGATE_DUMMY_*``) has a credential, kept as a secret.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from ordergate.brokers.base import BrokerAccount
from ordergate.brokers.paper import PAPER_CAPABILITIES, PaperBroker
from ordergate.brokers.registry import BrokerPlugin
from ordergate.brokers.settings import AdapterSettings
from ordergate.clock import Clock
from ordergate.config import Settings
from ordergate.domain.errors import BrokerUnavailable


class DummySettings(AdapterSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERGATE_DUMMY_")
    block: ClassVar[str] = "dummy"

    #: the account this broker reports at connect
    account: str = "DU000001"
    api_token: SecretStr = SecretStr("")
    starting_cash: Decimal = Field(Decimal(50_000), gt=0)


class DummyBroker(PaperBroker):
    adapter_id = "dummy"
    capabilities = replace(PAPER_CAPABILITIES, simulated=False)

    def __init__(self, settings: DummySettings, clock: Clock) -> None:
        super().__init__(clock=clock, starting_cash=settings.starting_cash)
        self._account_id = settings.account
        self._token = settings.api_token.get_secret_value()

    def fetch_account(self) -> BrokerAccount:
        if not self._token:
            raise BrokerUnavailable("the dummy broker needs ORDERGATE_DUMMY_API_TOKEN")
        account = super().fetch_account()
        return replace(account, account_id=self._account_id)


def build(block: DummySettings, settings: Settings, clock: Clock) -> DummyBroker:
    return DummyBroker(block, clock)


PLUGIN = BrokerPlugin(settings=DummySettings, make=build, description="a test adapter")
