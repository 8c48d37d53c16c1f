import re

from django import forms

from crm.base import CRMError
from crm.models import CRMConnection, FieldMapping
from crm.services import CONTACT_FIELDS
from deals.models import DealStage

LABELS = {"linkedin_url": "LinkedIn URL", "status": "Status (ours)"}
ACTIONS = [("test", "Test connection"), ("save", "Save")]
PROPERTY = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")  # HubSpot property names and stage ids; Salesforce API names
# A stage: HubSpot's ids, or Salesforce's StageName picklist values ("Proposal/Price Quote").
STAGE = re.compile(r"^[\w .\-/&()'+,]{1,100}$")
CONSUMER_KEY = re.compile(r"^[A-Za-z0-9_.]{1,255}$")


class ConnectForm(forms.Form):
    """The CRM's credentials: never shown again; blank keeps the stored ones.

    HubSpot: one private app token. Salesforce: the org's My Domain URL, the connected app's
    consumer key and secret (client credentials flow) and whether the org has multi-currency;
    `cleaned_data["credentials"]` is then the JSON the connection stores, the stored secret kept
    when the field is left blank.
    """

    credentials = forms.CharField(
        label="Private app token",
        required=False,
        max_length=4000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    action = forms.ChoiceField(choices=ACTIONS, error_messages={"required": "Choose Test connection or Save."})

    def __init__(self, *args, connection: CRMConnection | None, kind: str, **kwargs) -> None:
        kwargs.setdefault("auto_id", "crm-%s")
        super().__init__(*args, **kwargs)
        self.connection = connection
        self.kind = kind
        if kind == CRMConnection.Kind.SALESFORCE:
            self._salesforce_fields()
            return
        has_stored = bool(connection and connection.credentials)
        self.fields["credentials"].help_text = (
            "Set: leave blank to keep it, or paste a new one to replace it."
            if has_stored
            else "From HubSpot: Settings → Integrations → Private apps (scopes: crm.objects.contacts, companies,"
            " deals: read and write)."
        )

    def _salesforce_fields(self) -> None:
        del self.fields["credentials"]
        self.stored = self._stored_salesforce()
        stored = self.stored or {}
        self.fields["instance_url"] = forms.CharField(
            label="My Domain URL", max_length=200, initial=stored.get("instance_url", ""),
            help_text="Your org's address, e.g. https://acme.my.salesforce.com (Setup → My Domain).",
            error_messages={"required": "Enter the org's My Domain URL."},
            widget=forms.URLInput(attrs={"autocomplete": "off", "inputmode": "url"}),
        )  # fmt: skip
        self.fields["client_id"] = forms.CharField(
            label="Consumer key", max_length=255, initial=stored.get("client_id", ""),
            help_text="Setup → App Manager → your connected app → View → Manage Consumer Details.",
            error_messages={"required": "Enter the connected app's consumer key."},
            widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        )  # fmt: skip
        self.fields["client_secret"] = forms.CharField(
            label="Consumer secret", required=False, max_length=255, strip=False,
            help_text=(
                "Set: leave blank to keep it, or type a new one to replace it."
                if self.stored
                else "Shown next to the consumer key. The app needs “Enable Client Credentials Flow” and a"
                " Run As user (Manage → Edit Policies)."
            ),
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        )  # fmt: skip
        self.fields["multi_currency"] = forms.BooleanField(
            label="Multi-currency org", required=False, initial=stored.get("multi_currency", False),
            help_text="Tick if the org has multi-currency on: deals then carry their currency (CurrencyIsoCode).",
        )  # fmt: skip

    def _stored_salesforce(self) -> dict | None:
        from crm.salesforce import credentials_read

        if not (self.connection and self.connection.credentials):
            return None
        try:
            return credentials_read(self.connection.credentials)
        except CRMError:
            return None  # unreadable: asked again in full

    def clean(self):
        data = super().clean()
        if self.kind == CRMConnection.Kind.SALESFORCE:
            return self._clean_salesforce(data)
        data["credentials"] = (data.get("credentials") or "").strip()
        if not data["credentials"] and not (self.connection and self.connection.credentials):
            self.add_error("credentials", "Paste the token: nothing is stored yet.")
        return data

    def _clean_salesforce(self, data):
        from crm.salesforce import credentials_json, instance_url_problem

        url = (data.get("instance_url") or "").strip()
        problem = instance_url_problem(url) if url else None
        if problem:
            self.add_error("instance_url", f"Not a My Domain URL: {problem}.")
        client_id = (data.get("client_id") or "").strip()
        if client_id and not CONSUMER_KEY.match(client_id):
            self.add_error("client_id", "A consumer key has letters, digits and . _ only (no spaces).")
        secret = (data.get("client_secret") or "").strip() or (self.stored or {}).get("client_secret", "")
        if not secret:
            self.add_error("client_secret", "Enter the consumer secret: none is stored yet.")
        if not self.errors:
            data["credentials"] = credentials_json(
                instance_url=url, client_id=client_id, client_secret=secret,
                multi_currency=bool(data.get("multi_currency")),
            )  # fmt: skip
        return data

    def credential_fields(self):
        names = ["credentials"] if self.kind != CRMConnection.Kind.SALESFORCE else []
        names = names or ["instance_url", "client_id", "client_secret", "multi_currency"]
        return [self[name] for name in names]


class MappingForm(forms.Form):
    """One text field per contact field we may send and per deal stage; blank: not sent."""

    def __init__(self, *args, connection: CRMConnection, **kwargs) -> None:
        kwargs.setdefault("auto_id", "map-%s")
        super().__init__(*args, **kwargs)
        current = {(m.kind, m.ours): m.theirs for m in connection.mappings.all()}
        for name in CONTACT_FIELDS:
            self.fields[f"field_{name}"] = forms.CharField(
                label=LABELS.get(name, name.replace("_", " ").capitalize()), required=False, max_length=100,
                initial=current.get((FieldMapping.Kind.CONTACT, name), ""),
            )  # fmt: skip
        self.stages = list(DealStage.objects.all())
        for stage in self.stages:
            self.fields[f"stage_{stage.pk}"] = forms.CharField(
                label=stage.name, required=False, max_length=100,
                initial=current.get((FieldMapping.Kind.STAGE, str(stage.pk)), ""),
            )  # fmt: skip

    def clean(self):
        data = super().clean()
        for name, value in list(data.items()):
            value = (value or "").strip()
            if value and name.startswith("stage_") and not STAGE.match(value):
                self.add_error(name, "Letters, digits, spaces and _ . - / & ( ) ' + , only: the CRM's stage value.")
            elif value and not name.startswith("stage_") and not PROPERTY.match(value):
                self.add_error(name, "Letters, digits, _ . - only: the CRM's internal name, not its label.")
            data[name] = value
        if not any(data.get(name) for name in self.fields):
            raise forms.ValidationError("Map at least one field or stage: an empty mapping sends nothing.")
        return data

    def contact_fields(self):
        return [self[f"field_{name}"] for name in CONTACT_FIELDS]

    def stage_fields(self):
        return [self[f"stage_{stage.pk}"] for stage in self.stages]

    def values(self) -> tuple[dict[str, str], dict[str, str]]:
        data = self.cleaned_data
        contact = {name: data[f"field_{name}"] for name in CONTACT_FIELDS}
        stages = {str(stage.pk): data[f"stage_{stage.pk}"] for stage in self.stages}
        return contact, stages
