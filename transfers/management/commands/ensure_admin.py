import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from transfers.roles import ADMINISTRATOR


class Command(BaseCommand):
    help = (
        "Create the local administrator account if missing and print its login once. The "
        "password is generated on creation and kept in var/admin-password.txt (never for "
        "production use); later runs say where it is and how to reset it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        password_file = Path(settings.VAR_DIR) / "admin-password.txt"
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = user_model.objects.create_superuser(username, f"{username}@localhost", password)
            user.groups.add(Group.objects.get(name=ADMINISTRATOR))
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
            self.stdout.write(self.style.SUCCESS(f"Admin login: {username} / {password}"))
            self.stdout.write(f"(printed once; the password is kept in {password_file})")
            return
        where = (
            f"its password was printed at the first start and is kept in {password_file}"
            if password_file.exists()
            else "its password was set earlier"
        )
        self.stdout.write(
            f"Admin login: {username} ({where}; reset it with: "
            f".venv/bin/python manage.py changepassword {username})"
        )
