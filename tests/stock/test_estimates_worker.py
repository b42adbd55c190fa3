"""With a real Celery worker on the configured broker (Redis in CI, the filesystem transport
on a laptop) and committed data: estimates follow the records without anyone calling a
task, and the sweeper repairs what a broker outage at commit time left stale."""

import time

import pytest

from stock.estimates import Range
from stock.models import StaleEstimate, StockEstimate
from tests.factories import WeaponSystemFactory, state
from transfers import services

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _on_hand(holder, system):
    estimate = StockEstimate.objects.filter(
        holder=state(holder), system=system, scope="system"
    ).first()
    return estimate.on_hand if estimate else None


@pytest.fixture
def broker_down():
    """Point the producer side of the Celery app at a port where no broker listens (the
    worker keeps consuming from the real one), then restore it."""
    from config.celery import app

    saved = app.conf.broker_write_url

    def restore():
        from core.enqueue import breaker_reset

        app.conf.broker_write_url = saved
        app.amqp._producer_pool = None
        breaker_reset()  # the broker is back: do not wait for the breaker to close

    app.conf.broker_write_url = "redis://127.0.0.1:9/0"
    app.amqp._producer_pool = None
    try:
        yield restore
    finally:
        restore()


def test_a_record_saved_through_a_service_updates_its_estimates(celery_worker):
    system = WeaponSystemFactory()
    transfer = services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=system, quantity_text="4"
    )
    assert _wait_for(lambda: _on_hand("UA", system) == Range(4, None))
    assert _wait_for(lambda: not StaleEstimate.objects.exists())
    services.record_update(record=transfer, quantity_text="6")
    assert _wait_for(lambda: _on_hand("UA", system) == Range(6, None))


def test_with_the_broker_down_at_commit_the_sweeper_brings_estimates_up_to_date(
    celery_worker, broker_down
):
    from stock.tasks import estimates_sweep

    system = WeaponSystemFactory()
    # The write succeeds although no refresh could be enqueued; the pairs stay marked.
    services.transfer_create(
        donor=state("US"), recipient=state("PL"), system=system, quantity_text="12"
    )
    assert StaleEstimate.objects.count() == 2
    time.sleep(1.5)
    assert _on_hand("PL", system) is None
    broker_down()  # the broker is back
    estimates_sweep.apply_async(kwargs={"older_than_seconds": 0})  # what beat sends
    assert _wait_for(lambda: _on_hand("PL", system) == Range(12, None))
    assert not StaleEstimate.objects.exists()
