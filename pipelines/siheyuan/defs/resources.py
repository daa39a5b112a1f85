"""The warehouse as a Dagster resource: paths, the run lock and the run's working database."""

import logging
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from siheyuan.contracts import load_contracts
from siheyuan.publish import discard_work, recover
from siheyuan.runlock import RunLock
from siheyuan.settings import WarehouseLayout, resolve_landing, resolve_warehouse
from siheyuan.warehouse import initialise, make_working_copy

log = logging.getLogger(__name__)


class WarehouseResource(dg.ConfigurableResource):
    """Where a run reads batches from and writes the warehouse to.

    Setting it up takes the warehouse's run lock for the whole run and repairs what a crashed
    run left behind; each run then writes only its own working copy of the database, and tearing
    it down deletes that copy before the lock goes, whatever the run's outcome.
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
        lock = RunLock(layout.lock_file)
        lock.acquire()  # raises WarehouseBusy: then nothing here is ours to tear down
        self._lock = lock
        for action in recover(layout):
            log.warning("recovery: %s", action)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Delete the run's working copy, then release the lock.

        Teardown comes once, after the run's last step, because every job runs in process
        (``siheyuan_job`` and, through ``Definitions(executor=...)``, the UI's ad-hoc
        materialisations): a multiprocess executor would set up and tear down per step and
        delete the copy between steps. So nothing can need the copy any more: a publish has
        swapped it in as the live database already (or, with nothing to record, deleted it), and
        a run that ended without publishing — a rejected batch, a failed dbt test — throws its
        work away whole.
        Left for the next run, a copy (as large as the warehouse) would sit on disk and be
        reported as the leftover of a crash. A killed run never gets here: ``recover`` cleans up.
        """
        if self._lock is None:
            return
        try:
            discarded = discard_work(self.layout)
            if discarded:
                log.debug("discarded the run's working copy: %s", ", ".join(discarded))
        except OSError as exc:  # the next run's recovery removes it; the lock must go anyway
            log.warning("could not delete the run's working copy: %s", exc)
        finally:
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
