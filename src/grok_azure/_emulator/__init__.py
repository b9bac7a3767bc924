"""The local Foundry emulator's implementation (the ``emulator`` extra: starlette and uvicorn).

Its public face is :mod:`grok_azure.testing`, which re-exports :class:`FoundryEmulator`, :class:`Fault` and the
recorded-request types. It lives in the product because the ``grok-azure emulator`` command runs it, and the
product never imports its test package. It shares no client code with the SDK: it plays the service, and sharing
request or response code would hide exactly the bugs it exists to catch. It does share the model catalog.
"""
