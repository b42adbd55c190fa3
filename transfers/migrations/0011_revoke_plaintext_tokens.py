"""API tokens move from DRF's plaintext `authtoken` to django-rest-knox's hashed, expiring
tokens (issue 14). A plaintext key cannot be turned into a knox token without keeping it
readable, so the old tokens are revoked: their table is dropped (the keys go with it), and
the `authtoken` app's migration records, content type and permissions are removed. Users
get new tokens as docs/api.md says (`manage.py api_token create <user>` or the admin)."""

from django.db import migrations

OLD_TABLE = "authtoken_token"


def revoke_plaintext_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {OLD_TABLE}")
        (count,) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {OLD_TABLE}")
        cursor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.filter(app_label="authtoken").delete()  # and its permissions
    if count:
        print(
            f"\n  Revoked {count} plaintext API token(s) (issue 14). Create new ones with "
            "`manage.py api_token create <username>` or in the admin (Knox > Auth tokens)."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("transfers", "0010_chains_policies_roles_facts"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [migrations.RunPython(revoke_plaintext_tokens, migrations.RunPython.noop)]
