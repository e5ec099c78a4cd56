"""The smoke checks of the integration tests: ``checks`` holds the behaviour (requests, frames,
uploads and what must come back) against plain endpoints; ``app`` is the checker Lambda that
runs the same checks inside the account once the integ stack is deployed."""
