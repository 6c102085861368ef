"""What clean_old_history and clean_duplicate_history share: simple-history's
commands, which never delete the audit trail (settings.HISTORY_TIDY_MODELS)."""

from django.conf import settings
from django.core.management.base import CommandError

from core.history import history_protected


class AuditSafeTidy:
    """Mixin over a simple-history tidy-up command. Naming a protected model is refused
    before anything is deleted; with --auto the protected models are skipped (each named)
    and only the reference tables' history is tidied."""

    def handle(self, *args, **options):
        named = options.get("models") or args
        if named:
            refused = [
                f"{model._meta.label}（{model._meta.verbose_name}）"
                for model, _history in self._handle_model_list(*named)
                if history_protected(model)
            ]
            if refused:
                raise CommandError(
                    f"拒绝执行：{'、'.join(refused)} 的历史记录是审计记录，不能删除。"
                    f"可清理的只有：{'、'.join(sorted(settings.HISTORY_TIDY_MODELS))}。"
                )
        return super().handle(*args, **options)

    def _process(self, to_process, *args, **kwargs):
        tidy = set()
        for model, history in sorted(to_process, key=lambda pair: pair[0]._meta.label):
            if history_protected(model):
                self.stdout.write(
                    f"跳过 {model._meta.label}（{model._meta.verbose_name}）：审计记录，不删除。"
                )
            else:
                tidy.add((model, history))
        return super()._process(tidy, *args, **kwargs)
