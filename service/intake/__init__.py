"""The email intake: reads certificate requests from a mailbox, asks the API, replies."""
