from django.db import migrations

# The path the issue names: meeting → needs assessed → proposal sent → negotiation → won / lost.
# Teams rename, add or retire stages in admin; deals keep the stage rows they point at.
STAGES = [
    ("Meeting", 10, "open", 20),
    ("Needs assessed", 20, "open", 40),
    ("Proposal sent", 30, "open", 60),
    ("Negotiation", 40, "open", 80),
    ("Won", 90, "won", 100),
    ("Lost", 100, "lost", 0),
]


def seed(apps, schema_editor):
    DealStage = apps.get_model("deals", "DealStage")
    for name, position, outcome, probability in STAGES:
        DealStage.objects.get_or_create(
            name=name, defaults={"position": position, "outcome": outcome, "probability": probability}
        )


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_deals")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
