"""The items service behind the ServerlessApi pattern (handler: ``items.app.lambda_handler``)."""
