from django.apps import AppConfig


class KernelConfig(AppConfig):
    name = "omnichannel"
    label = "kernel"
    verbose_name = "Platform kernel"

    def ready(self) -> None:
        # Bind @shared_task to our Celery app in every process (web, worker, shell).
        from omnichannel.celery import app  # noqa: F401
