import os

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from core.importing.engine import KINDS, Issue
from core.models import ImportJob
from villages.services import import_job_run_now

STATUS = (("new", "新增"), ("changed", "修改"), ("moved", "迁移"), ("unchanged", "无变化"))


class Command(BaseCommand):
    help = "从 Excel(.xlsx) 或 CSV 导入名册（村(社区)、帮扶干部、干部账号等）；有错误时退出码为 1。"

    def add_arguments(self, parser):
        parser.add_argument("path", help="文件路径（.xlsx 或 .csv）")
        parser.add_argument(
            "--kind",
            required=True,
            choices=list(KINDS),
            help="名册类型：" + "，".join(f"{key} {kind.label}" for key, kind in KINDS.items()),
        )
        parser.add_argument("--dry-run", action="store_true", help="只校验并显示变化，不写入")
        parser.add_argument("--valid-only", action="store_true", help="只导入无误的行")
        parser.add_argument("--user", help="以该用户的身份和辖区导入（默认：系统，全市范围）")

    def handle(self, *args, path, kind, dry_run, valid_only, user, **options):
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"用户 {user} 不存在。")
        if not os.path.isfile(path):
            raise CommandError(f"找不到文件：{path}")
        try:
            with open(path, "rb") as fh:
                job = import_job_run_now(
                    actor=actor,
                    kind=kind,
                    upload=File(fh, name=os.path.basename(path)),
                    dry_run=dry_run,
                    valid_only=valid_only,
                )
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError("；".join(getattr(exc, "messages", [str(exc)]))) from exc

        counts = job.summary or {}
        summary = "，".join(f"{label} {counts.get(key, 0)} 行" for key, label in STATUS)
        self.stdout.write(
            f"导入记录 #{job.pk}（{job.get_state_display()}）：{summary}，错误 {counts.get('errors', 0)} 处。"
        )
        for note in job.preview.get("notes", []):
            names = "、".join(note["names"]) + (
                f" 等（另有 {note['more']} 个）" if note["more"] else ""
            )
            self.stdout.write(f"{note['text']}" + (f"：{names}" if note["names"] else ""))
        issues = [str(Issue(**issue)) for issue in job.preview.get("issues", [])]
        for line in issues:
            self.stderr.write(line)
        if job.state == ImportJob.State.FAILED and job.error and job.error not in issues:
            self.stderr.write(job.error)
        if dry_run:
            self.stdout.write("试运行：未写入任何数据。")
        elif job.state == ImportJob.State.DONE:
            self.stdout.write(self.style.SUCCESS("导入完成。"))
        if counts.get("errors") or job.state == ImportJob.State.FAILED:
            raise SystemExit(1)
