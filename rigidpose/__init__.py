"""rigidpose: 6-DoF pose estimation of rigid objects from CAD models.

The core (``geometry``, ``objects``, ``bop``, ``eval``) imports no torch, ROS or GL.
"""

__version__ = "0.1.0"
