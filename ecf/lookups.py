"""`field__one_of=[...]`: membership in a list sent as ONE array parameter on PostgreSQL.

A page of 3000 people makes its follow-up queries filter on 3000 ids. As `IN (%s, %s, ...)` each
id is a placeholder that psycopg splits out of the query text and quotes one by one: measured at
0.1 s of a 3000-row page (docs/benchmarks.md). `= ANY(%s)` with a list is one placeholder. Other
databases get the ordinary IN.
"""

from django.db.models import Field, ForeignObject, Lookup
from django.db.models.lookups import In


class OneOf(Lookup):
    lookup_name = "one_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        return In(self.lhs, list(self.rhs)).as_sql(compiler, connection)

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        field = getattr(self.lhs.output_field, "target_field", self.lhs.output_field)
        values = [field.get_db_prep_value(value, connection, prepared=False) for value in self.rhs]
        return f"{lhs} = ANY(%s)", [*lhs_params, values]


Field.register_lookup(OneOf)
ForeignObject.register_lookup(OneOf)  # relations keep their own lookup registry
