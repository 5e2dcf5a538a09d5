"""Passwords, JWT tokens, roles and permissions, token revocation and failed-login throttling.

The modules here are building blocks; front ends use them through ``logchat.services.auth`` and
``logchat.services.accounts``. Nothing heavy (pwdlib, PyJWT, redis) is imported at package import.
"""
