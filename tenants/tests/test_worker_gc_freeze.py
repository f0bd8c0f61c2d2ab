"""TenantWorker freezes what is loaded before it starts taking jobs (JOBS_GC_FREEZE=0: not), so that each job's
forked horse leaves those objects to the parent (benchmarks/results/2026-12-01-profiles.md)."""

import gc

import pytest
from rq.worker import Worker

from tenants.jobs import get_queue
from tenants.worker import TenantWorker


@pytest.fixture
def worker(monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setattr(Worker, "bootstrap", lambda self, *args, **kwargs: None)  # no registration in Redis
    yield TenantWorker([get_queue()], connection=get_queue().connection)
    gc.unfreeze()


def test_starting_to_work_freezes_the_loaded_objects(worker, settings):  # noqa: ANN001
    settings.JOBS_GC_FREEZE = True  # the default
    gc.unfreeze()
    worker.bootstrap()
    assert gc.get_freeze_count() > 10_000  # Django, DRF and the project


def test_jobs_gc_freeze_0_leaves_the_collector_as_it_is(worker, settings):  # noqa: ANN001
    settings.JOBS_GC_FREEZE = False
    gc.unfreeze()
    worker.bootstrap()
    assert gc.get_freeze_count() == 0
