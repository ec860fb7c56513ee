"""Who may do what: principals (roles, community scopes, permissions), API tokens, the
people who sign in to the console, their passwords and their sessions.

Every change to a token or a person is written with its operations-log entry in one
transaction.
"""
