"""Engine: the one facade the APIs call; it opens the store and starts and stops the parts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from lconsole.config import EngineSettings
from lconsole.engine.aliases import Aliases
from lconsole.engine.concurrency import Concurrency
from lconsole.engine.functions import Functions
from lconsole.engine.invoke_configs import InvokeConfigs
from lconsole.engine.layers import Layers
from lconsole.engine.permissions import Permissions
from lconsole.engine.registry import Registry
from lconsole.engine.tags import Tags
from lconsole.model.settings import AccountLimits
from lconsole.store import db as store_db
from lconsole.store.catalog import Catalog
from lconsole.store.code import CodeStore

log = logging.getLogger("lconsole.engine")


class Engine:
    def __init__(self, settings: EngineSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        paths = settings.paths
        paths.root.mkdir(parents=True, exist_ok=True)
        self.db = store_db.connect(paths.database)
        self.code = CodeStore(paths.code)
        self.limits = AccountLimits(concurrent_executions=settings.account_concurrency)
        self.registry = Registry(Catalog(self.db), settings.region, settings.account)
        self.functions = Functions(self.registry, self.code, self.limits, clock)
        self.aliases = Aliases(self.registry)
        self.concurrency = Concurrency(self.registry, self.limits, clock)
        self.invoke_configs = InvokeConfigs(self.registry, clock)
        self.permissions = Permissions(self.registry)
        self.tags = Tags(self.registry)
        self.layers = Layers(self.registry, self.code, self.limits, clock)

    @property
    def region(self) -> str:
        return self.settings.region

    @property
    def account(self) -> str:
        return self.settings.account

    async def start(self) -> None:
        removed = self.code.collect(self.registry.code_ids())
        if removed:
            log.info("removed %d unreferenced code packages", removed)

    async def stop(self) -> None:
        self.db.conn.close()

    def account_settings(self) -> dict[str, dict[str, int]]:
        return {
            "AccountLimit": {
                "TotalCodeSize": self.limits.total_code_size,
                "CodeSizeUnzipped": self.limits.code_size_unzipped,
                "CodeSizeZipped": self.limits.code_size_zipped,
                "ConcurrentExecutions": self.limits.concurrent_executions,
                "UnreservedConcurrentExecutions": self.concurrency.unreserved(),
            },
            "AccountUsage": {
                "TotalCodeSize": self.registry.total_code_size(),
                "FunctionCount": len(self.registry.functions),
            },
        }
