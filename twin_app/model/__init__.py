"""Pure data models with events (numpy, pandas, psygnal). No Qt, no VTK."""
