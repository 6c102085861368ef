"""Chinese answers that core gives on behalf of every app."""

# A database constraint refused a write (the services give the same text for the races
# they foresee: villages.services.CONFLICT).
CONFLICT = "保存失败：数据与已有记录冲突（可能有人同时提交了相同内容），请刷新页面核对后再试。"
