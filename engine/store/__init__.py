"""The store: database, tables, migrations, and the SQL per concept; every function takes the
caller's connection.
"""
