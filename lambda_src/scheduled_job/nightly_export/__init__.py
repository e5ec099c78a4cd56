"""Nightly export of a DynamoDB table to S3 as gzip-compressed JSON Lines."""
