"""simple-history's clean_old_history, which keeps the audit trail (see _history_tidy)."""

from simple_history.management.commands import clean_old_history

from core.management.commands._history_tidy import AuditSafeTidy


class Command(AuditSafeTidy, clean_old_history.Command):
    help = (
        "删除超过 --days 天的历史记录，只限参考数据（地区、名册、派出单位、星级目录、三零单位）；"
        "审计记录（账号、干部、联系点、角色、走访、评星、台账、规则与目标）一律保留。"
    )
