import json

from django.core.management.base import BaseCommand, CommandError

from dashboards.indicators import SPECS
from dashboards.selectors import city_figures
from dashboards.services import compute_snapshots
from villages.selectors import year_is_closed


class Command(BaseCommand):
    help = "计算某一年度的全部指标快照（与夜间任务相同），并输出全市数值。"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="年度，例如 2023")
        parser.add_argument("--json", action="store_true", help="以 JSON 输出（键为指标代码）")

    def handle(self, *args, year, json: bool = False, **options):
        if not 2000 <= year <= 2100:
            raise CommandError("--year 不是有效的年度。")
        result = compute_snapshots(year=year)
        settled = year_is_closed(year)
        if settled:
            # a closed year is never recomputed: its figures are the ones taken at closing
            result.city = city_figures(year=year)
            self.stderr.write(f"{year}年度已结账：以下为结账时的最终数据，未重新计算。")
        figures = {}
        for code, (num, den) in result.city.items():
            spec = SPECS[code]
            if spec.kind == "rate":
                figures[code] = round(num * 100 / den, spec.precision) if den else None
            else:
                figures[code] = num
        if json:
            self.stdout.write(_dumps(figures))
            return
        self.stdout.write(f"{year}年度全市指标（统计截至 {result.as_of:%Y-%m-%d}）：")
        for code, value in figures.items():
            spec = SPECS[code]
            num, den = result.city[code]
            unit = "%" if spec.kind == "rate" else spec.unit
            shown = "—" if value is None else f"{value}{unit}"
            self.stdout.write(f"  {spec.label:<16} {shown:>12}  （{num} / {den}）")
        if not settled:
            self.stdout.write(
                self.style.SUCCESS(
                    f"已写入 {result.snapshots} 条地区快照、{result.villages} 条村(社区)快照。"
                )
            )


def _dumps(figures: dict) -> str:
    return json.dumps(figures, ensure_ascii=False, indent=2)
