"""A believable, seeded, repeatable history for the dashboards (hot leads, cooling ones,
cold ones, job seekers on the careers page), generated through the ingest service so
every score is real. Idempotency keys are deterministic: running it twice adds nothing."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from leads.ingest.assets import normalize_url
from leads.ingest.events import NewEvent, events_ingest
from leads.ingest.imports import csv_upload_create, csv_upload_import
from leads.models import Account, Asset, CsvImport, Lead, ProductLine
from leads.roles import MARKETERS, SALES_REPS
from leads.services import accounts_rollup
from leads.workspace.tags import leads_tag_add

DEMO_PASSWORD = "leadscore-demo"
DEMO_USERS = (
    ("admin", "admin"),
    ("marketer", MARKETERS),
    ("rep1", SALES_REPS),
    ("rep2", SALES_REPS),
    ("rep3", SALES_REPS),
)
SITE = "https://www.leadscore-demo.example"
PRODUCT_LINES = ("Analytics", "Automation", "Data Platform")
CAMPAIGNS = ("spring-webinar", "analytics-launch", "retargeting-q3", "newsletter", "partner-referral", "")
FIRST = (
    "Ana",
    "Jonas",
    "Yuki",
    "Mette",
    "Carlos",
    "Ilze",
    "Sofia",
    "Kenji",
    "Lars",
    "Beatriz",
    "Oskars",
    "Hana",
    "Pedro",
    "Freja",
    "Aiko",
    "Marta",
    "Niels",
    "Rita",
    "Emil",
    "Laura",
)
LAST = (
    "Silva",
    "Ozols",
    "Tanaka",
    "Jensen",
    "Costa",
    "Berzina",
    "Sato",
    "Nielsen",
    "Pereira",
    "Kalnins",
    "Suzuki",
    "Hansen",
    "Santos",
    "Liepa",
    "Mori",
    "Larsen",
)
TITLES = (
    "Marketing Manager",
    "Head of Data",
    "CTO",
    "Analyst",
    "VP Sales",
    "Operations Lead",
    "Student",
    "Software Engineer",
    "CFO",
    "Product Manager",
)
COMPANY_WORDS = (
    "Nordic",
    "Atlas",
    "Blue",
    "Sakura",
    "Baltic",
    "Rio",
    "Fjord",
    "Summit",
    "Harbor",
    "Pixel",
    "Quantum",
    "Amber",
    "Cedar",
    "Lumen",
    "Vertex",
)
COMPANY_SUFFIX = ("Labs", "Systems", "Retail", "Logistics", "Health", "Energy", "Bank", "Media")


@dataclass(frozen=True)
class Persona:
    name: str
    share: float
    active_days: tuple[int, int]  # days ago when activity happens (from, to)
    events: tuple[int, int]
    intent: float  # chance an action is a high-intent one


PERSONAS = (
    Persona("hot", 0.12, (0, 45), (14, 30), 0.55),
    Persona("warm", 0.28, (0, 120), (6, 16), 0.3),
    Persona("cooling", 0.25, (70, 170), (8, 20), 0.35),
    Persona("cold", 0.25, (100, 180), (1, 5), 0.1),
    Persona("job_seeker", 0.06, (0, 90), (3, 8), 0.0),
    Persona("student", 0.04, (0, 150), (3, 10), 0.05),
)


def demo_users() -> list[tuple[str, str]]:
    """Create the demo sign-ins (idempotent); returns (username, role) pairs."""
    User = get_user_model()
    for username, role in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@leadscore-demo.example"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role in ("admin", MARKETERS)
            user.is_superuser = role == "admin"
            user.save()
            if role != "admin":
                user.groups.add(Group.objects.get_or_create(name=role)[0])
    return list(DEMO_USERS)


def _catalogue(rng: random.Random) -> dict[str, list[dict]]:
    lines = {name: ProductLine.objects.get_or_create(name=name)[0] for name in PRODUCT_LINES}
    slug = {"Analytics": "analytics", "Automation": "automation", "Data Platform": "data-platform"}
    pages = [
        dict(kind="page", key=f"{SITE}/pricing", sales_ready=True, name="Pricing"),
        dict(kind="page", key=f"{SITE}/demo", sales_ready=True, name="Book a demo"),
        dict(kind="page", key=f"{SITE}/contact-sales", sales_ready=True, name="Contact sales"),
        dict(kind="page", key=f"{SITE}/customers", sales_ready=False, name="Customer stories"),
        dict(kind="page", key=f"{SITE}/careers", sales_ready=False, name="Careers"),
        dict(kind="page", key=f"{SITE}/careers/engineer", sales_ready=False, name="Job: engineer"),
        dict(kind="page", key=f"{SITE}/careers/marketing", sales_ready=False, name="Job: marketing"),
        dict(kind="page", key=f"{SITE}/", sales_ready=False, name="Home page"),
    ]
    for line in PRODUCT_LINES:
        pages.append(
            dict(
                kind="page",
                key=f"{SITE}/product/{slug[line]}",
                sales_ready=True,
                product_line=line,
                name=f"{line} product page",
            )
        )
        pages.append(
            dict(
                kind="page",
                key=f"{SITE}/product/{slug[line]}/pricing",
                sales_ready=True,
                product_line=line,
                name=f"{line} pricing",
                target_stage=3,
            )
        )
    blog = [
        dict(
            kind="page",
            key=f"{SITE}/blog/post-{i}",
            name=f"Blog post {i}",
            target_stage=2 if i % 3 == 0 else None,
        )
        for i in range(1, 16)
    ]
    videos = [
        dict(
            kind="video",
            key=f"video-{i}",
            name=f"{PRODUCT_LINES[i % 3]} video {i}",
            product_line=PRODUCT_LINES[i % 3],
        )
        for i in range(1, 10)
    ]
    docs = [
        dict(
            kind="document",
            key=f"whitepaper-{i}",
            name=f"{PRODUCT_LINES[i % 3]} whitepaper {i}",
            product_line=PRODUCT_LINES[i % 3],
            target_stage=2 + i % 2,
        )
        for i in range(1, 11)
    ]
    forms = [
        dict(kind="form", key=key, name=key.replace("-", " ").title())
        for key in ("contact-sales", "newsletter", "trial-signup", "event-registration")
    ]
    webinars = [
        dict(kind="webinar", key=f"webinar-{i}", name=f"Webinar {i}", product_line=PRODUCT_LINES[i % 3])
        for i in range(1, 5)
    ]
    emails = [dict(kind="email", key=f"email-{i}", name=f"Nurture email {i}") for i in range(1, 5)]
    catalogue = {
        "page": pages,
        "blog": blog,
        "video": videos,
        "document": docs,
        "form": forms,
        "webinar": webinars,
        "email": emails,
    }
    for group in catalogue.values():
        for item in group:
            key = normalize_url(item["key"]) if item["kind"] == "page" else item["key"]
            item["key"] = key
            Asset.objects.update_or_create(
                kind=item["kind"],
                key=key,
                defaults={
                    "name": item["name"],
                    "sales_ready": item.get("sales_ready", False),
                    "product_line": lines.get(item.get("product_line")),
                    "target_stage": item.get("target_stage"),
                },
            )
    return catalogue


def _accounts(rng: random.Random, count: int, reps) -> list[Account]:
    accounts = []
    for i in range(count):
        word = COMPANY_WORDS[i % len(COMPANY_WORDS)]
        suffix = COMPANY_SUFFIX[(i // len(COMPANY_WORDS)) % len(COMPANY_SUFFIX)]
        name = f"{word} {suffix}"
        domain = f"{name.lower().replace(' ', '-')}-{i}.example"
        account, _ = Account.objects.get_or_create(
            domain=domain, defaults={"name": name, "owner": reps[i % len(reps)] if i % 4 else None}
        )
        accounts.append(account)
    return accounts


def _action(rng: random.Random, persona: Persona, catalogue) -> tuple[str, dict]:
    if persona.name == "job_seeker":
        page = rng.choice([p for p in catalogue["page"] if "careers" in p["key"]] + catalogue["blog"][:2])
        return "page_view", {"url": page["key"]}
    if rng.random() < persona.intent:
        kind = rng.choices(["pricing", "video", "form", "webinar", "trial"], weights=[5, 3, 2, 1, 1])[0]
    else:
        kind = rng.choices(["blog", "page", "document", "email", "video"], weights=[5, 2, 2, 3, 1])[0]
    if kind == "pricing":
        return "page_view", {"url": rng.choice([p for p in catalogue["page"] if p.get("sales_ready")])["key"]}
    if kind in ("blog", "page"):
        return "page_view", {
            "url": rng.choice(catalogue["blog"] + catalogue["page"][3:4] + catalogue["page"][7:8])["key"]
        }
    if kind == "video":
        return "video_play", {
            "asset_key": rng.choice(catalogue["video"])["key"],
            "percent": rng.choice([10, 25, 50, 75, 100]),
        }
    if kind == "document":
        return "download", {"asset_key": rng.choice(catalogue["document"])["key"]}
    if kind == "form":
        form = rng.choice(catalogue["form"][:3]) if persona.name != "student" else catalogue["form"][1]
        return "form_submit", {"asset_key": form["key"]}
    if kind == "webinar":
        return "webinar_attend", {"asset_key": rng.choice(catalogue["webinar"])["key"]}
    if kind == "trial":
        return "custom", {"name": "Trial Started"}
    return "email_click", {"asset_key": rng.choice(catalogue["email"])["key"]}


def _lead_events(
    rng: random.Random, lead: Lead, index: int, persona: Persona, catalogue, now: datetime
) -> list[NewEvent]:
    count = rng.randint(*persona.events)
    newest, oldest = persona.active_days
    events = []
    for j in range(count):
        days_ago = rng.uniform(newest, oldest)
        at = (now - timedelta(days=days_ago)).replace(microsecond=0)
        event_type, detail = _action(rng, persona, catalogue)
        properties = {"percent": detail["percent"]} if "percent" in detail else {}
        campaign = rng.choice(CAMPAIGNS)
        events.append(
            NewEvent(
                type=event_type,
                occurred_at=at,
                lead_id=lead.pk,
                idempotency_key=f"demo-{index}-{j}",
                name=detail.get("name", ""),
                url=detail.get("url", ""),
                asset_key=detail.get("asset_key", ""),
                campaign=campaign,
                properties=properties,
                source="demo",
            )
        )
    return sorted(events, key=lambda e: e.occurred_at)


def load_demo_data(
    *,
    leads: int = 2000,
    accounts: int = 120,
    seed: int = 42,
    now: datetime | None = None,
    progress=lambda message: None,
) -> dict:
    rng = random.Random(seed)
    now = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    demo_users()
    User = get_user_model()
    reps = list(User.objects.filter(groups__name=SALES_REPS).order_by("username"))
    with transaction.atomic():
        catalogue = _catalogue(rng)
        account_rows = _accounts(rng, accounts, reps)
    progress(f"{Asset.objects.count()} assets, {len(account_rows)} accounts")
    weights = [p.share for p in PERSONAS]
    batch: list[NewEvent] = []
    stored = 0
    personas: dict[int, str] = {}
    for index in range(leads):
        persona = rng.choices(PERSONAS, weights=weights)[0]
        lead = _demo_lead(rng, index, persona, account_rows)
        personas[lead.pk] = persona.name
        batch.extend(_lead_events(rng, lead, index, persona, catalogue, now))
        if len(batch) >= 2000 or index == leads - 1:
            stored += len(events_ingest(events=batch, now=now).stored)
            batch = []
        if index and index % 500 == 0:
            progress(f"{index} leads, {stored} events")
    accounts_rollup(as_of=now)
    from surveys.demo import load_demo_nps  # imported here: surveys builds on leads, not the reverse

    stored += load_demo_nps(now=now, seed=seed, progress=progress)  # its nps_response events
    from leads.background.daily import background_catch_up  # what the periodic jobs would have done by now

    background_catch_up(now=now, history_days=180)
    _demo_tags(personas)
    marketer = User.objects.get(username="marketer")
    imported = _demo_import(account_rows, by=marketer)
    progress(f"{imported} leads from the trade-show CSV")
    # After qualification: reps answer the leads handed to them, then learning and the review see it.
    from models_review.demo import load_demo_feedback, load_demo_review
    from models_review.learning.services import learning_train, likelihood_score_now

    feedback = load_demo_feedback(personas=personas, seed=seed)
    progress(f"{feedback} sales feedback answers")
    if feedback:
        run = learning_train()
        progress(f"learning run {run.pk}: {run.status}")
        progress(f"{likelihood_score_now(as_of=now)} leads scored for likelihood")
    load_demo_review(by=marketer)
    return {
        "leads": Lead.objects.count(),
        "events": stored,
        "accounts": len(account_rows),
        "assets": Asset.objects.count(),
        "feedback": feedback,
    }


# tag: which demo leads carry it (by persona, every n-th lead of those)
DEMO_TAGS = (
    ("target-account", ("hot", "warm"), 3),
    ("event-2026", ("hot", "warm", "cooling"), 5),
    ("partner-referral", ("warm", "cooling", "cold"), 9),
    ("careers-visitor", ("job_seeker",), 1),
    ("newsletter-only", ("cold", "student"), 4),
)


DEMO_IMPORT_FILE = "trade-show-2026.csv"


def _demo_import(accounts: list[Account], *, by) -> int:
    """Visitors met at a trade show, imported as a marketer would upload them (§1, CSV)."""
    if CsvImport.objects.filter(file_name=DEMO_IMPORT_FILE).exists():
        return 0
    lines = ["email,name,title,account_domain,tags"]
    for i, account in enumerate(accounts[:12]):
        first, last = FIRST[(i * 7) % len(FIRST)], LAST[(i * 5) % len(LAST)]
        lines.append(
            f"{first}.{last}.booth{i}@{account.domain},{first} {last},{TITLES[i % len(TITLES)]},"
            f"{account.domain},event-2026"
        )
    upload, _ = csv_upload_create(
        kind=CsvImport.Kind.LEADS, file_name=DEMO_IMPORT_FILE, data="\n".join(lines).encode(), by=by
    )
    return csv_upload_import(upload=upload).imported


def _demo_tags(personas: dict[int, str]) -> None:
    for name, wanted, every in DEMO_TAGS:
        ids = [pk for pk, persona in sorted(personas.items()) if persona in wanted][::every]
        leads_tag_add(lead_ids=ids, name=name)


def _demo_lead(rng: random.Random, index: int, persona: Persona, accounts: list[Account]) -> Lead:
    first, last = FIRST[index % len(FIRST)], LAST[(index // len(FIRST)) % len(LAST)]
    account = (
        accounts[rng.randrange(len(accounts))] if persona.name not in ("job_seeker", "student") else None
    )
    domain = account.domain if account else rng.choice(("gmail.example", "mail.example", "uni.example"))
    title = "Student" if persona.name == "student" else rng.choice(TITLES)
    lead, _ = Lead.objects.get_or_create(
        email=f"{first}.{last}.{index}@{domain}".lower(),
        defaults={
            "name": f"{first} {last}",
            "title": title,
            "account": account,
            "owner": account.owner if account and persona.name in ("hot", "warm") else None,
        },
    )
    return lead
