"""VTK's rendering back ends, registered once for every render module.

The render modules import their VTK classes from the ``vtkmodules`` they live in, not through
``import vtk`` (which loads all 150 VTK modules: half a second at start-up and 550 MB in the
bundle). A bare ``vtkmodules.vtkRenderingCore`` class is only an abstract front: the object
factories that make ``vtkPolyDataMapper()``, ``vtkRenderWindow()`` or ``vtkTextActor`` work
are registered when these modules are imported. Import this module (for its side effect)
before creating VTK rendering objects; pyvista and pyvistaqt import what they need themselves.
"""

from __future__ import annotations

# the default interactor style of vtkRenderWindowInteractor
import vtkmodules.vtkInteractionStyle

# text rendering for vtkTextActor (legends, captions, labels)
import vtkmodules.vtkRenderingFreeType

# OpenGL mappers, textures, render windows (X, EGL, OSMesa): vtkOpenGL* overrides
import vtkmodules.vtkRenderingOpenGL2

# the platform render window interactors (vtkXRenderWindowInteractor)
import vtkmodules.vtkRenderingUI  # noqa: F401
