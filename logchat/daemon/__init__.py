"""The daemon (`logchat serve`): the second thin front end over the services, for web clients.

``create_app(settings, services=None)`` builds the aiohttp application; every resource it needs (the
store, the sign-in service, the thread pool the synchronous services run in) is owned by a cleanup
context. Routes are declared once as Endpoints (daemon/endpoints.py), from which the router, the
permission checks and the OpenAPI document are all made.
"""
