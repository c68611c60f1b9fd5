"""Readers: files -> plain tables in their source CRS, then -> the local-frame CityModel."""
