"""Paid statements frozen before issue 13.4 kept full-precision amounts (93504.80275862068965517241380).
Round them to the penny, half-up, each on its own: exactly what their page has always shown, so
nothing a person saw changes. The rounding is copied here (not imported) so that this migration
keeps meaning what it meant when the app code moves on."""

from decimal import ROUND_HALF_UP, Decimal

from django.db import migrations

MONEY_FIELDS = frozenset(
    {
        "adjustments_total",
        "amount",
        "clawback",
        "clawbacks",
        "fee",
        "fees",
        "monthly_service_fee",
        "net",
        "output_clawbacks",
        "output_payment",
        "payment",
        "payment_per_participant",
        "per_participant",
        "service_fee",
        "set_up_fee",
        "total",
        "uplift_amount",
        "uplift_fees",
        "vat",
    }
)


def _rounded(key, value):
    if isinstance(value, dict):
        return {name: _rounded(name, item) for name, item in value.items()}
    if isinstance(value, list):
        return [_rounded(key, item) for item in value]
    if key in MONEY_FIELDS and isinstance(value, str):
        return str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) + 0)
    return value


def round_frozen_figures(apps, schema_editor):
    Statement = apps.get_model("statements", "Statement")
    for statement in Statement.objects.filter(paid_amounts__isnull=False).only("pk", "paid_amounts").iterator():
        rounded = _rounded(None, statement.paid_amounts)
        if rounded != statement.paid_amounts:
            Statement.objects.filter(pk=statement.pk).update(paid_amounts=rounded)


class Migration(migrations.Migration):
    dependencies = [("statements", "0001_initial")]

    operations = [migrations.RunPython(round_frozen_figures, migrations.RunPython.noop)]
