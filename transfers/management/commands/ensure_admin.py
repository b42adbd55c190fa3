import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from transfers.roles import ADMINISTRATOR


class Command(BaseCommand):
    help = (
        "Create the local administrator account if missing and print its login. The password "
        "is generated once and kept in var/admin-password.txt (never for production use)."
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
        elif password_file.exists():
            password = password_file.read_text().strip()
        else:
            password = f"(set earlier; change it with: manage.py changepassword {username})"
        self.stdout.write(self.style.SUCCESS(f"Admin login: {username} / {password}"))
