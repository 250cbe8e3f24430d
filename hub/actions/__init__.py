"""Carrying out recognized intents: the step between understanding a command and replying.

The reply is spoken only after the actor has answered, so it can say what really happened.
"""
