"""twin_app: a desktop digital twin of a city.

Real city geometry (footprints, CityJSON, OpenStreetMap, road and pipe networks) in one fast
VTK scene, sensor layers on one clock, and interventions run through real domain engines.
"""

__version__ = "0.1.0"
