import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from campaigns.models import Campaign, SequenceStep, TargetProfile
from leads.dedupe import name_key
from leads.models import Company, Lead
from outreach.models import OutreachMessage, SendingAccount
from outreach.services import lead_priority
from salesdept.roles import REP


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.LazyAttribute(lambda o: o.username)
    first_name = "Test"
    password = factory.PostGenerationMethodCall("set_password", "pass-for-tests-1")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
        self.save()


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TargetProfile

    name = "Finance leaders"
    titles = ["Chief Financial Officer", "VP Finance", "Head of Finance"]
    seniorities = ["c_suite", "vp", "director"]
    industries = ["Fintech", "Banking"]
    locations = ["London", "Berlin"]
    company_sizes = ["11-5000"]


class SendingAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SendingAccount

    name = factory.Sequence(lambda n: f"Account {n}")
    owner = factory.SubFactory(UserFactory, role=REP)
    channel = SendingAccount.Channel.SANDBOX
    # Open around the clock unless a test narrows it.
    work_start = dt.time(0, 0)
    work_end = dt.time(23, 59, 59)
    working_days = [0, 1, 2, 3, 4, 5, 6]
    min_gap_seconds = 0
    max_gap_seconds = 0
    timezone = "UTC"
    warmup_start = 40


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Campaign {n}")
    owner = factory.SubFactory(UserFactory)
    status = Campaign.Status.ACTIVE
    target = factory.SubFactory(TargetFactory)
    event = "the Summit"
    call_to_action = "Would a short call work?"
    min_score = 30
    daily_lead_quota = 10
    lead_sources = ["sandbox"]

    @factory.post_generation
    def steps(self, create, extracted, **kwargs):
        kinds = extracted if extracted is not None else [SequenceStep.Kind.CONNECTION_NOTE, SequenceStep.Kind.MESSAGE]
        for order, kind in enumerate(kinds, start=1):
            SequenceStep.objects.create(campaign=self, order=order, kind=kind, delay_days=0 if order == 1 else 3)

    @factory.post_generation
    def accounts(self, create, extracted, **kwargs):
        for account in extracted or []:
            self.sending_accounts.add(account)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")
    industry = "Fintech"
    employees = 120


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = factory.Sequence(lambda n: f"Lena{n}")
    last_name = "Park"
    position = "Chief Financial Officer"
    seniority = "c_suite"
    headline = "Chief Financial Officer at a fintech"
    company = factory.SubFactory(CompanyFactory)
    linkedin_url = factory.Sequence(lambda n: f"https://www.linkedin.com/in/lead-{n}")
    name_key = factory.LazyAttribute(lambda o: name_key(o.first_name, o.last_name, o.company.name if o.company else ""))
    provider_id = factory.Sequence(lambda n: f"prov-{n}")
    location = "London, United Kingdom"
    source = "sandbox"
    status = Lead.Status.QUALIFIED
    score = 70
    label = "Speaker"
    insight = "CFO at a fintech, posts about forecasting"


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutreachMessage

    lead = factory.SubFactory(LeadFactory)
    campaign = factory.LazyAttribute(lambda o: o.lead.campaign)
    account = None
    step = 1
    kind = OutreachMessage.Kind.CONNECTION_NOTE
    body = factory.LazyAttribute(lambda o: f"Hi {o.lead.first_name}, glad to connect about the Summit.")
    original_body = factory.LazyAttribute(lambda o: o.body)
    generated_by = "template"
    status = OutreachMessage.Status.PENDING_APPROVAL
    # As approval sets it: the lead's ranked score, the message's place in the send order.
    priority = factory.LazyAttribute(lambda o: lead_priority(o.lead))
