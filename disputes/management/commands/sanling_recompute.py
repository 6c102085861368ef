from django.core.management.base import BaseCommand, CommandError

from disputes.services import sanling_recompute


class Command(BaseCommand):
    help = "按记录重新计算某年度全部村(社区)和企事业单位的三零状态（人工认定不受影响）。"

    def add_arguments(self, parser):
        parser.add_argument("years", nargs="+", type=int, help="年度，例如 2023")

    def handle(self, *args, years, **options):
        for year in years:
            if not 2000 <= year <= 2100:
                raise CommandError(f"年度 {year} 无效。")
            result = sanling_recompute(year=year)
            self.stdout.write(
                f"{year} 年度：新建 {result['created']} 条，变化 {result['changed']} 条。"
            )
