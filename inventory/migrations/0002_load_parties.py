from django.db import migrations


def forwards(apps, schema_editor):
    from inventory.models import normalize_alias
    from inventory.parties import load_parties

    load_parties(apps.get_model("inventory", "Country"), apps.get_model("inventory", "CountryAlias"), normalize_alias)


class Migration(migrations.Migration):
    dependencies = [("inventory", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
