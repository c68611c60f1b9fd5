"""Sensor feeds: column store, replay from files, live over MQTT."""
