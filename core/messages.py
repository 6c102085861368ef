"""Chinese answers that core gives on behalf of every app."""

# A database constraint refused a write (core.services.save_or_refuse gives the same text
# for the races the services foresee).
CONFLICT = "保存失败：数据与已有记录冲突（可能有人同时提交了相同内容），请刷新页面核对后再试。"
