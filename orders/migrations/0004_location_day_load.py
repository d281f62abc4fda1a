import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone


def count_existing(apps, schema_editor):
    """Start the counters from the fulfillments already there, per location and local day."""
    Fulfillment = apps.get_model("orders", "Fulfillment")
    LocationDayLoad = apps.get_model("orders", "LocationDayLoad")
    rows = (Fulfillment.objects.exclude(status__in=["rejected", "cancelled"])
            .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
            .values("location_id", "day").annotate(n=Count("id")).order_by())
    LocationDayLoad.objects.bulk_create(
        [LocationDayLoad(location_id=r["location_id"], day=r["day"], shard=0, fulfillments=r["n"]) for r in rows],
        batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0006_stock_level_indexes_fillfactor'),
        ('orders', '0003_history_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='LocationDayLoad',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('shard', models.PositiveSmallIntegerField()),
                ('fulfillments', models.IntegerField(default=0)),
                ('location', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='inventory.location')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('location', 'day', 'shard'), name='location_day_load_unique')],
            },
        ),
        migrations.RunPython(count_existing, migrations.RunPython.noop),
    ]
