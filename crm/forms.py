import re

from django import forms

from crm.models import CRMConnection, FieldMapping
from crm.services import CONTACT_FIELDS
from deals.models import DealStage

LABELS = {"linkedin_url": "LinkedIn URL", "status": "Status (ours)"}
ACTIONS = [("test", "Test connection"), ("save", "Save")]
PROPERTY = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")  # HubSpot property names and stage ids; Salesforce API names


class ConnectForm(forms.Form):
    """The CRM's credentials: never shown again; blank keeps the stored ones."""

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
        has_stored = bool(connection and connection.credentials)
        if kind == CRMConnection.Kind.SALESFORCE:
            self.fields["credentials"].label = "Credentials (JSON)"
        self.fields["credentials"].help_text = (
            "Set: leave blank to keep it, or paste a new one to replace it."
            if has_stored
            else "From HubSpot: Settings → Integrations → Private apps (scopes: crm.objects.contacts, companies,"
            " deals: read and write)."
        )

    def clean(self):
        data = super().clean()
        data["credentials"] = (data.get("credentials") or "").strip()
        if not data["credentials"] and not (self.connection and self.connection.credentials):
            self.add_error("credentials", "Paste the token: nothing is stored yet.")
        return data


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
            if value and not PROPERTY.match(value):
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
