"""Start the whole of SD Studio on this machine: Redis (if none is configured), a worker and the web server."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import gettext

DEMO_USERS = [("admin", None), ("merch", "Merchandisers"), ("reviewer", "Reviewers")]


class Command(BaseCommand):
    help = gettext("Migrate, create demo logins and data, then run Redis (when REDIS_URL is unset), one worker and the "
                        "web server.")

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=1)
        parser.add_argument("--no-study", action="store_true", help=gettext("Do not queue the brief's study on the demo product."))

    def handle(self, *args, **options):
        base = Path(settings.BASE_DIR)
        call_command("migrate", interactive=False, verbosity=0)
        logins = self.demo_logins(base / "var" / "demo-logins.txt")
        env = dict(os.environ)
        children: list[subprocess.Popen] = []

        def stop(signum, frame):  # SIGTERM (e.g. from a process manager) stops everything like Ctrl-C.
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        if not os.environ.get("REDIS_URL"):
            from sdstudio.localredis import free_port, start_redis

            port = free_port()
            children.append(start_redis(port=port, directory=base / "var" / "redis"))
            env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
            settings.LOCAL_REDIS_URL_FILE.write_text(env["REDIS_URL"] + "\n")
            self.stdout.write(gettext("Started a private Redis on 127.0.0.1:%(port)s (set REDIS_URL to use your own); manage.py commands in"
                                      " other terminals use it while this runs.") % {"port": port})
        env.setdefault("SDSTUDIO_TORCH_THREADS", str(max(1, (os.cpu_count() or 2) - 1)))
        try:
            for _ in range(options["workers"]):
                children.append(subprocess.Popen([sys.executable, "manage.py", "rqworker", "generation"], cwd=base, env=env))
            # Shop imports (they fetch images) run on their own light worker, never on the GPU's.
            children.append(subprocess.Popen([sys.executable, "manage.py", "rqworker", "shop", "--worker-class",
                                              "catalog.worker.ShopWorker"], cwd=base, env=env))
            if not options["no_study"]:
                # In a child so it enqueues on the Redis chosen above.
                subprocess.run([sys.executable, "manage.py", "seed_tp_experiments"], cwd=base, env=env, check=True)
            children.append(subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", options["addr"]], cwd=base, env=env))
            self.stdout.write(self.style.SUCCESS(gettext("\nSD Studio is running on http://%(addr)s/  (Ctrl-C stops everything)")
                                                 % {"addr": options['addr']}))
            for username, password, role in logins:
                self.stdout.write(gettext("  login %(username)s password %(password)s   (%(role)s)")
                                  % {"username": format(username, '<9'), "password": password, "role": role})
            self.stdout.write(gettext("  The worker builds the embedded model on first start (a few seconds), then the brief's study runs.\n"))
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            failed = [child.args for child in children if child.poll() not in (None, 0)]
            if failed:
                self.stderr.write(f"A process stopped: {failed}")
        except KeyboardInterrupt:
            pass
        finally:
            if not os.environ.get("REDIS_URL"):
                settings.LOCAL_REDIS_URL_FILE.unlink(missing_ok=True)
            for child in reversed(children):
                if child.poll() is None:
                    child.terminate()  # workers finish their current job first (RQ warm shutdown)
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()

    def demo_logins(self, path: Path) -> list[tuple[str, str, str]]:
        """admin / merch / reviewer with random passwords, kept in var/demo-logins.txt so they survive restarts."""
        from catalog.demo_data import demo_product

        saved = {}
        if path.exists():
            saved = dict(line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)
        logins = []
        for username, group in DEMO_USERS:
            password = saved.get(username) or secrets.token_urlsafe(9)
            user, created = User.objects.get_or_create(username=username)
            if created or not user.check_password(password):
                user.set_password(password)
            user.is_staff = user.is_superuser = group is None
            user.save()
            if group:
                user.groups.add(Group.objects.get(name=group))
            logins.append((username, password, group or "admin"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{u} {p}\n" for u, p, _ in logins))
        path.chmod(0o600)
        demo_product()
        return logins
