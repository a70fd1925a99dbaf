from leads.crm.services import connection_save, crm_push
from tests.browser.conftest import sign_in
from tests.factories import LeadFactory
from tests.leads.crm.fake_hubspot import FakeHubSpot


def test_crm_sync_page_shows_a_refused_record_and_the_next_batch(page, marketer, live_server, tmp_path):
    fake = FakeHubSpot().start()
    try:
        connection = connection_save(kind="hubspot", secret=fake.token, base_url=fake.url)
        for n in range(3):
            LeadFactory(email=f"rep{n}@example.com", score=20 + n)
        fake.refuse_always.add("rep1@example.com")
        crm_push(connection=connection)
        LeadFactory(email="new@example.com", score=40)
        sign_in(page, "marketer")

        page.goto(f"{live_server.url}/leads/crm/hubspot/")

        page.screenshot(path=str(tmp_path / "crm_sync.png"), full_page=True)
        assert page.get_by_text("rep1@example.com: Refused by the CRM").is_visible()
        assert page.get_by_role("cell", name="new@example.com").first.is_visible()
        assert page.get_by_text("Some records refused", exact=True).is_visible()
    finally:
        fake.stop()


def test_crm_sync_push_now_shows_the_push_queued(page, marketer, live_server, tmp_path, rq_redis):
    fake = FakeHubSpot().start()
    try:
        connection_save(kind="hubspot", secret=fake.token, base_url=fake.url)
        LeadFactory(email="queued@example.com", score=12)
        sign_in(page, "marketer")
        page.goto(f"{live_server.url}/leads/crm/hubspot/")

        page.get_by_role("button", name="Push now").click()

        page.screenshot(path=str(tmp_path / "crm_push_queued.png"), full_page=True)
        assert page.get_by_text("Push to HubSpot queued; it starts when a worker is free.").is_visible()
        assert page.get_by_text("Queued", exact=True).is_visible()
        assert page.get_by_role("button", name="Push now").is_disabled()
        assert fake.received == []
    finally:
        fake.stop()
