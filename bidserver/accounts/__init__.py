"""Accounts: access and refresh tokens (JWT, HS256) and password hashing (argon2).

May import: `bidserver.errors`, `bidserver.timefmt`, pyjwt and argon2. Nothing of the
engine, the faces or storage: both faces and the CLI use it.
"""
