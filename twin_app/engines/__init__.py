"""Domain engine adapters (traffic, water, sun, air, radio, patrol): immutable inputs -> result tables."""
