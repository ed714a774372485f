from django.db import migrations


def load_reference_data(apps, schema_editor):
    from participants import reference_data

    reference_data.load(
        apps.get_model("participants", "Cohort"),
        apps.get_model("participants", "Schedule"),
        apps.get_model("participants", "Milestone"),
    )


class Migration(migrations.Migration):
    dependencies = [("participants", "0001_initial")]

    operations = [migrations.RunPython(load_reference_data, migrations.RunPython.noop)]
