"""The only layer that talks SQL: tables, migrations, transactions."""
