from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground floor: infrastructure that knows no domain and imports no other app of the
    project. The apps register with it what it shows for them (home panels, upload limits)."""

    name = "core"
    verbose_name = "基础设施"
