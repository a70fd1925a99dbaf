import pytest

from leads.crm.services import connection_save
from tests.leads.crm.fake_hubspot import FakeHubSpot


@pytest.fixture
def fake_hubspot():
    fake = FakeHubSpot().start()
    yield fake
    fake.stop()


@pytest.fixture
def hubspot(db, fake_hubspot):
    return connection_save(kind="hubspot", secret=fake_hubspot.token, base_url=fake_hubspot.url)
