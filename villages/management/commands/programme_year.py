from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from villages.selectors import programme_year_get, programme_year_list
from villages.services import (
    programme_year_close,
    programme_year_close_preview,
    programme_year_open,
    programme_year_open_preview,
    programme_year_reopen,
)


class Command(BaseCommand):
    help = (
        "工作年度：open 开启新年度（冻结名册、延续联系点、复制年度目标），close 年度结账，"
        "reopen 重新开启已结账年度（须填写理由），status 查看各年度状态。"
        "open 与 close 先加 --preview 查看将要做的事；重复执行不会重复写入。"
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["open", "close", "reopen", "status"])
        parser.add_argument("--year", type=int, help="年度，例如 2027")
        parser.add_argument("--preview", action="store_true", help="只显示将要做的事，不写入")
        parser.add_argument("--reason", default="", help="重新开启的理由（reopen 必填）")
        parser.add_argument("--user", help="以该用户身份操作（默认：系统）")

    def handle(self, *args, action, year, preview, reason, user, **options):
        if action == "status":
            for py in programme_year_list():
                line = f"{py.year}年度  {py.get_status_display()}"
                if py.reason:
                    line += f"  （重新开启理由：{py.reason}）"
                self.stdout.write(line)
            return
        if year is None or not 2000 <= year <= 2100:
            raise CommandError("请用 --year 指定有效的年度。")
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"用户 {user} 不存在。")
        existing = programme_year_get(year)
        if action == "open" and existing is not None:
            self.stdout.write(
                f"{year}年度已开启（{existing.get_status_display()}），无需重复开启，未做改动。"
            )
            return
        try:
            if action == "open":
                plan = (
                    programme_year_open_preview(year=year)
                    if preview
                    else programme_year_open(actor=actor, year=year)
                )
            elif action == "close":
                plan = (
                    programme_year_close_preview(year=year)
                    if preview
                    else programme_year_close(actor=actor, year=year)
                )
            else:
                plan = programme_year_reopen(actor=actor, year=year, reason=reason)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(
                "未做任何改动：\n" + "\n".join(getattr(exc, "messages", [str(exc)]))
            ) from exc
        for line in plan.lines:
            self.stdout.write(f"  {line}")
        if preview:
            for line in plan.blockers:
                self.stderr.write(f"  不能执行：{line}")
            self.stdout.write("预览：未写入任何数据。")
            if plan.blockers:
                raise SystemExit(1)
        elif plan.changed:
            self.stdout.write(self.style.SUCCESS("完成。"))
        else:
            self.stdout.write("无需改动。")
