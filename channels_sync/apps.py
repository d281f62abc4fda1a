from django.apps import AppConfig


class ChannelsSyncConfig(AppConfig):
    name = "channels_sync"
    verbose_name = "Sales channels"

    def ready(self) -> None:
        from channels_sync import handlers, schema  # noqa: F401 - schema registers the OpenAPI auth scheme
        from channels_sync.api.availability import feeding_location_ids
        from orders.services.selling import selling_locations_register

        handlers.register_all()
        selling_locations_register(feeding_location_ids)  # orders sell only from a channel's feeds
