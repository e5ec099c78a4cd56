"""API contracts from the synthesized templates: OpenAPI 3 for the items REST API and the web
app, AsyncAPI 3 for the chat's WebSocket frames (``python -m openapi``, ``make openapi``)."""
