"""An order keeps the contact it was placed with (`Order.contact_*`), so that its channel
sees that and not what the unified customer record gathered from other channels. The
columns here; their values for the orders already there in 0006."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0004_location_day_load"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="contact_email",
            field=models.EmailField(blank=True, max_length=254),
        ),
        migrations.AddField(
            model_name="order",
            name="contact_phone",
            field=models.CharField(blank=True, help_text="E.164", max_length=20),
        ),
        migrations.AddField(
            model_name="order",
            name="contact_name",
            field=models.CharField(blank=True, max_length=200),
        ),
    ]
