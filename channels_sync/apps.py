from django.apps import AppConfig


class ChannelsSyncConfig(AppConfig):
    name = "channels_sync"
    verbose_name = "Sales channels"

    def ready(self) -> None:
        from channels_sync import handlers

        handlers.register_all()
