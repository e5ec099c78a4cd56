"""The chat service behind the WebSocketApi pattern.

Handlers: ``chat.app.lambda_handler`` (every route) and ``chat.authorizer.lambda_handler``
(the ``$connect`` authorizer).
"""
