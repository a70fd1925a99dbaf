"""`field__any_of=[...]`: membership in a list sent as one parameter.

`field__in` with 500 values binds 500 parameters: Django prepares each one and the
driver quotes each one, which costs more CPU than the index lookups it asks for (the
ingest hot path asks for hundreds per batch). PostgreSQL takes the list as one array
(`= ANY(%s)`); other databases get the ordinary IN."""

from django.db.models import Field, ForeignObject
from django.db.models.lookups import In, Lookup


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        values = [self.lhs.output_field.get_db_prep_value(value, connection) for value in self.rhs]
        if connection.vendor != "postgresql":
            return In(self.lhs, values).as_sql(compiler, connection)
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, values]


# Relations take only their own lookups, not those of Field.
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
