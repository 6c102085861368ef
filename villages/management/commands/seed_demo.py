import importlib
import time

from django.apps import apps as django_apps
from django.core.management.base import BaseCommand, CommandError

from villages.demo import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "生成许昌市演示数据（真实区划 + 演示干部与账号）；可重复运行，结果不变。"

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2023, help="随机种子（默认 2023）")
        parser.add_argument(
            "--scale", type=int, default=1, help="村(社区)与干部数量的倍数（基准测试用）"
        )
        parser.add_argument(
            "--apps", nargs="*", help="只生成这些应用的演示数据（默认全部，例如 --apps villages）"
        )

    def handle(self, *args, seed, scale, apps=None, **options):
        if not 1 <= scale <= 20:
            raise CommandError("--scale 必须在 1 到 20 之间。")
        started = time.monotonic()
        # Each app may contribute demo data through `<app>.demo.seed_demo(seed=, scale=)`,
        # run in INSTALLED_APPS order (villages first).
        changed, notes = 0, []
        for config in django_apps.get_app_configs():
            if apps and config.label not in apps:
                continue
            try:
                module = importlib.import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            stats = module.seed_demo(seed=seed, scale=scale)
            for label, n in sorted(stats.created.items()):
                self.stdout.write(f"  新建 {label}: {n}")
            for label, n in sorted(stats.updated.items()):
                self.stdout.write(f"  更新 {label}: {n}")
            changed += stats.changed
            notes += getattr(stats, "notes", [])
        elapsed = time.monotonic() - started
        if changed == 0:
            self.stdout.write("演示数据已是最新，无需改动。")
        self.stdout.write(self.style.SUCCESS(f"演示数据就绪（{elapsed:.1f} 秒）。"))
        self.stdout.write(f"演示账号（密码均为 {DEMO_PASSWORD}，仅供演示）：")
        for username, label, *_ in DEMO_USERS:
            self.stdout.write(f"  {username:<20} {label}")
        for note in notes:
            self.stdout.write(note)
