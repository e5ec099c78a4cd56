"""Thumbnails for images uploaded to S3: a Lambda container-image handler built on Pillow."""
