"""The stock ledger is append-only in the database too: on Postgres a trigger refuses any
UPDATE or DELETE of a stock movement (TRUNCATE, used by test flushes, is not a row change).
Other databases rely on the application, which never updates or deletes a movement."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION inventory_stockmovement_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'stock movements are immutable: % of inventory_stockmovement % refused', TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation',
              HINT = 'Correct the ledger with a new movement (an adjustment), never by editing one.';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS inventory_stockmovement_immutable ON inventory_stockmovement;
CREATE TRIGGER inventory_stockmovement_immutable
    BEFORE UPDATE OR DELETE ON inventory_stockmovement
    FOR EACH ROW EXECUTE FUNCTION inventory_stockmovement_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS inventory_stockmovement_immutable ON inventory_stockmovement;
DROP FUNCTION IF EXISTS inventory_stockmovement_immutable();
"""


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0003_operations_transfers_holds_pos"),
    ]

    operations = [
        migrations.RunPython(_run(CREATE), _run(DROP), elidable=False),
    ]
