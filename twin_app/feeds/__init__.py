"""Sensor feeds: time conversion, cleaning, the column store, replay files, live MQTT, recording.

``times`` (every outside time form -> UTC int64 ns, and back), ``cleaning`` (long tables ->
counted, sorted, de-duplicated samples), ``store`` (:class:`SensorStore`), ``tracks``
(:class:`MoverTracks`), ``longformat`` (replay/recording files), ``sensorthings`` (MQTT message
parsing and the datastream mapping), ``mqtt`` (the live client), ``recorder`` and ``publish``.
"""
