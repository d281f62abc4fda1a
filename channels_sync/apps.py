from django.apps import AppConfig


class ChannelsSyncConfig(AppConfig):
    name = "channels_sync"
    verbose_name = "Sales channels"

    def ready(self) -> None:
        from channels_sync import handlers, schema  # noqa: F401 - schema registers the OpenAPI auth scheme

        handlers.register_all()
