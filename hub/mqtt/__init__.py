"""The hub on MQTT: its settings, the embedded broker, and the results it publishes itself."""
