"""The warehouse as a Dagster resource: paths, the run lock and the run's working database."""

import logging
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from siheyuan.contracts import load_contracts
from siheyuan.publish import recover
from siheyuan.runlock import RunLock
from siheyuan.settings import WarehouseLayout, resolve_landing, resolve_warehouse
from siheyuan.warehouse import initialise, make_working_copy

log = logging.getLogger(__name__)


class WarehouseResource(dg.ConfigurableResource):
    """Where a run reads batches from and writes the warehouse to.

    Setting it up takes the warehouse's run lock for the whole run and repairs what a crashed
    run left behind; each run then writes only its own working copy of the database.
    """

    warehouse: str = ""
    landing: str = ""

    _lock: RunLock | None = PrivateAttr(default=None)

    @property
    def layout(self) -> WarehouseLayout:
        return WarehouseLayout(resolve_warehouse(self.warehouse or None))

    @property
    def landing_dir(self) -> Path:
        return resolve_landing(self.landing or None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        layout = self.layout
        layout.root.mkdir(parents=True, exist_ok=True)
        self._lock = RunLock(layout.lock_file)
        self._lock.acquire()
        for action in recover(layout):
            log.warning("recovery: %s", action)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def working_db(self, run_id: str) -> Path:
        """The run's working database, copied from the live one on the run's first use."""
        layout = self.layout
        path = layout.working_database
        marker = layout.working_marker
        current = marker.exists() and marker.read_text(encoding="utf-8") == run_id
        if not (path.exists() and current):
            # never reuse another run's working copy: start again from the live database
            make_working_copy(layout.database, path)
            initialise(path, load_contracts())
            marker.write_text(run_id, encoding="utf-8")
        return path
